#include <warden/schedule.h>

#include <QtTest/QtTest>

using namespace Warden;
using namespace std::chrono;
using namespace std::chrono_literals;

class tst_Schedule : public QObject
{
    Q_OBJECT
private slots:
    void parseDuration_data();
    void parseDuration();
    void badDurations_data();
    void badDurations();
    void formatDuration();
    void intervalGrid();
    void nextFireTimes();
};

void tst_Schedule::parseDuration_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<qint64>("ms");
    QTest::newRow("ms") << QStringLiteral("250ms") << qint64(250);
    QTest::newRow("s") << QStringLiteral("90s") << qint64(90000);
    QTest::newRow("m") << QStringLiteral("10m") << qint64(600000);
    QTest::newRow("h+m") << QStringLiteral("1h30m") << qint64(5400000);
    QTest::newRow("d") << QStringLiteral("2d") << qint64(172800000);
    QTest::newRow("spaces") << QStringLiteral(" 1m30s ") << qint64(90000);
    QTest::newRow("s+ms") << QStringLiteral("1s500ms") << qint64(1500);
}

void tst_Schedule::parseDuration()
{
    QFETCH(QString, text);
    QFETCH(qint64, ms);
    milliseconds value{};
    QString error;
    QVERIFY2(IntervalSchedule::parseDuration(text, &value, &error), qPrintable(error));
    QCOMPARE(value.count(), ms);
}

void tst_Schedule::badDurations_data()
{
    QTest::addColumn<QString>("text");
    QTest::addColumn<QString>("expected");
    QTest::newRow("empty") << QString() << QStringLiteral("empty duration");
    QTest::newRow("no unit") << QStringLiteral("90") << QStringLiteral("is not a duration");
    QTest::newRow("unknown unit") << QStringLiteral("3w") << QStringLiteral("is not a duration");
    QTest::newRow("zero") << QStringLiteral("0s") << QStringLiteral("greater than zero");
    QTest::newRow("negative") << QStringLiteral("-5s") << QStringLiteral("is not a duration");
    QTest::newRow("huge") << QStringLiteral("99999999999999999d") << QStringLiteral("too long");
}

void tst_Schedule::badDurations()
{
    QFETCH(QString, text);
    QFETCH(QString, expected);
    milliseconds value{7};
    QString error;
    QVERIFY(!IntervalSchedule::parseDuration(text, &value, &error));
    QVERIFY2(error.contains(expected), qPrintable(error));
    QCOMPARE(value.count(), 7); // unchanged
}

void tst_Schedule::formatDuration()
{
    QCOMPARE(IntervalSchedule::formatDuration(5400000ms), QStringLiteral("1h30m"));
    QCOMPARE(IntervalSchedule::formatDuration(250ms), QStringLiteral("250ms"));
    QCOMPARE(IntervalSchedule::formatDuration(0ms), QStringLiteral("0s"));
    QCOMPARE(IntervalSchedule(10min).toString(), QStringLiteral("every 10m"));
}

void tst_Schedule::intervalGrid()
{
    IntervalSchedule s(100ms);
    const QDateTime anchor = QDateTime::fromMSecsSinceEpoch(1000000, Qt::UTC);
    s.setAnchor(anchor);
    QCOMPARE(s.nextFireTime(anchor.addMSecs(-5)), anchor);
    QCOMPARE(s.nextFireTime(anchor), anchor.addMSecs(100));
    QCOMPARE(s.nextFireTime(anchor.addMSecs(250)), anchor.addMSecs(300));
}

void tst_Schedule::nextFireTimes()
{
    IntervalSchedule s(1min);
    s.setAnchor(QDateTime::fromMSecsSinceEpoch(0, Qt::UTC));
    const auto times = s.nextFireTimes(QDateTime::fromMSecsSinceEpoch(30000, Qt::UTC), 3);
    QCOMPARE(times.size(), 3);
    QCOMPARE(times.at(0).toMSecsSinceEpoch(), qint64(60000));
    QCOMPARE(times.at(2).toMSecsSinceEpoch(), qint64(180000));
}

QTEST_GUILESS_MAIN(tst_Schedule)
#include "tst_schedule.moc"
