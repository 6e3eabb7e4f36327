#include <warden/cronschedule.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QTimeZone>
#include <QtTest/QtTest>

using Warden::CronSchedule;

namespace {

QDateTime utc(const char *iso)
{
    QDateTime time = QDateTime::fromString(QString::fromLatin1(iso), Qt::ISODateWithMs);
    Q_ASSERT(time.isValid());
    return time.toUTC();
}

// Fire times as local wall-clock times with their offset: "2025-03-30T03:00:00+02:00", or
// "2025-01-01T00:01:00Z" in UTC.
QStringList localTimes(const QList<QDateTime> &times, const QTimeZone &zone)
{
    QStringList texts;
    for (const QDateTime &time : times) {
        texts.append(zone == QTimeZone::utc() ? time.toUTC().toString(Qt::ISODate)
                                              : time.toTimeZone(zone).toString(Qt::ISODate));
    }
    return texts;
}

QStringList list(std::initializer_list<const char *> items)
{
    QStringList texts;
    for (const char *item : items)
        texts.append(QString::fromLatin1(item));
    return texts;
}

} // namespace

class tst_Cron : public QObject
{
    Q_OBJECT

private slots:
    void syntax_data();
    void syntax();
    void daylightSaving_data();
    void daylightSaving();
    void allHoursFollowRealTime_data();
    void allHoursFollowRealTime();
    void fixedHourFiresOncePerDay_data();
    void fixedHourFiresOncePerDay();
    void errors_data();
    void errors();
    void neverFiresIsBounded();
    void accessors();
    void timeZones();
    void strictlyAfter();
    void endOfRange();
};

// Every syntax element, in UTC unless a zone is given.
void tst_Cron::syntax_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QDateTime>("after");
    QTest::addColumn<QStringList>("expected");

    const QString u = QStringLiteral("UTC");
    const QDateTime newYear = utc("2025-01-01T00:00:00Z"); // a Wednesday

    QTest::newRow("star") << QStringLiteral("* * * * *") << u << newYear
                          << list({"2025-01-01T00:01:00Z", "2025-01-01T00:02:00Z"});
    QTest::newRow("value") << QStringLiteral("7 * * * *") << u << newYear
                           << list({"2025-01-01T00:07:00Z", "2025-01-01T01:07:00Z"});
    QTest::newRow("leading zero") << QStringLiteral("07 05 * * *") << u << newYear
                                  << list({"2025-01-01T05:07:00Z", "2025-01-02T05:07:00Z"});
    QTest::newRow("list") << QStringLiteral("0 9,12,18 * * *") << u << newYear
                          << list({"2025-01-01T09:00:00Z", "2025-01-01T12:00:00Z",
                                   "2025-01-01T18:00:00Z", "2025-01-02T09:00:00Z"});
    QTest::newRow("range") << QStringLiteral("0 0 * * 1-5") << u << newYear
                           << list({"2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z",
                                    "2025-01-06T00:00:00Z"});
    QTest::newRow("step") << QStringLiteral("*/15 * * * *") << u << newYear
                          << list({"2025-01-01T00:15:00Z", "2025-01-01T00:30:00Z",
                                   "2025-01-01T00:45:00Z", "2025-01-01T01:00:00Z"});
    QTest::newRow("range step") << QStringLiteral("10-50/10 * * * *") << u << newYear
                                << list({"2025-01-01T00:10:00Z", "2025-01-01T00:20:00Z",
                                         "2025-01-01T00:30:00Z", "2025-01-01T00:40:00Z",
                                         "2025-01-01T00:50:00Z", "2025-01-01T01:10:00Z"});
    QTest::newRow("start step") << QStringLiteral("5/15 * * * *") << u << newYear
                                << list({"2025-01-01T00:05:00Z", "2025-01-01T00:20:00Z",
                                         "2025-01-01T00:35:00Z", "2025-01-01T00:50:00Z",
                                         "2025-01-01T01:05:00Z"});
    QTest::newRow("list of ranges")
        << QStringLiteral("0 1-2,22-23 * * *") << u << newYear
        << list({"2025-01-01T01:00:00Z", "2025-01-01T02:00:00Z", "2025-01-01T22:00:00Z",
                 "2025-01-01T23:00:00Z", "2025-01-02T01:00:00Z"});
    QTest::newRow("seconds") << QStringLiteral("*/20 * * * * *") << u << newYear
                             << list({"2025-01-01T00:00:20Z", "2025-01-01T00:00:40Z",
                                      "2025-01-01T00:01:00Z"});
    QTest::newRow("seconds value") << QStringLiteral("30 0 12 * * *") << u << newYear
                                   << list({"2025-01-01T12:00:30Z", "2025-01-02T12:00:30Z"});
    QTest::newRow("month names") << QStringLiteral("0 0 1 jan,Jul *") << u << newYear
                                 << list({"2025-07-01T00:00:00Z", "2026-01-01T00:00:00Z"});
    QTest::newRow("month name range") << QStringLiteral("0 0 1 OCT-dec *") << u << newYear
                                      << list({"2025-10-01T00:00:00Z", "2025-11-01T00:00:00Z",
                                               "2025-12-01T00:00:00Z", "2026-10-01T00:00:00Z"});
    QTest::newRow("day names") << QStringLiteral("0 0 * * sun,Wed") << u << newYear
                               << list({"2025-01-05T00:00:00Z", "2025-01-08T00:00:00Z",
                                        "2025-01-12T00:00:00Z"});
    QTest::newRow("day name range") << QStringLiteral("30 9 * * MON-FRI") << u << newYear
                                    << list({"2025-01-01T09:30:00Z", "2025-01-02T09:30:00Z",
                                             "2025-01-03T09:30:00Z", "2025-01-06T09:30:00Z"});
    QTest::newRow("range to SUN") << QStringLiteral("0 0 * * FRI-SUN") << u << newYear
                                  << list({"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z",
                                           "2025-01-05T00:00:00Z", "2025-01-10T00:00:00Z"});
    QTest::newRow("sunday 0") << QStringLiteral("0 0 * * 0") << u << newYear
                              << list({"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"});
    QTest::newRow("sunday 7") << QStringLiteral("0 0 * * 7") << u << newYear
                              << list({"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"});
    QTest::newRow("range 5-7") << QStringLiteral("0 0 * * 5-7") << u << newYear
                               << list({"2025-01-03T00:00:00Z", "2025-01-04T00:00:00Z",
                                        "2025-01-05T00:00:00Z", "2025-01-10T00:00:00Z"});
    QTest::newRow("question mark dom") << QStringLiteral("0 0 ? * MON") << u << newYear
                                       << list({"2025-01-06T00:00:00Z", "2025-01-13T00:00:00Z"});
    QTest::newRow("question mark dow") << QStringLiteral("0 0 15 * ?") << u << newYear
                                       << list({"2025-01-15T00:00:00Z", "2025-02-15T00:00:00Z"});
    QTest::newRow("L") << QStringLiteral("0 0 L * *") << u << newYear
                       << list({"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z",
                                "2025-03-31T00:00:00Z", "2025-04-30T00:00:00Z"});
    QTest::newRow("L leap year") << QStringLiteral("0 0 L 2 *") << u << newYear
                                 << list({"2025-02-28T00:00:00Z", "2026-02-28T00:00:00Z",
                                          "2027-02-28T00:00:00Z", "2028-02-29T00:00:00Z"});
    QTest::newRow("L in a list") << QStringLiteral("0 0 1,15,L * *") << u << newYear
                                 << list({"2025-01-15T00:00:00Z", "2025-01-31T00:00:00Z",
                                          "2025-02-01T00:00:00Z"});
    QTest::newRow("last friday") << QStringLiteral("0 0 * * 5L") << u << newYear
                                 << list({"2025-01-31T00:00:00Z", "2025-02-28T00:00:00Z",
                                          "2025-03-28T00:00:00Z"});
    QTest::newRow("last sunday by name")
        << QStringLiteral("0 0 * * sunL") << u << newYear
        << list({"2025-01-26T00:00:00Z", "2025-02-23T00:00:00Z", "2025-03-30T00:00:00Z"});
    QTest::newRow("second monday")
        << QStringLiteral("0 0 * * MON#2") << u << newYear
        << list({"2025-01-13T00:00:00Z", "2025-02-10T00:00:00Z", "2025-03-10T00:00:00Z"});
    QTest::newRow("fifth friday") << QStringLiteral("0 0 * * 5#5") << u << newYear
                                  << list({"2025-01-31T00:00:00Z", "2025-05-30T00:00:00Z",
                                           "2025-08-29T00:00:00Z", "2025-10-31T00:00:00Z"});
    QTest::newRow("first and third sunday 7")
        << QStringLiteral("0 0 * * 7#1,7#3") << u << newYear
        << list({"2025-01-05T00:00:00Z", "2025-01-19T00:00:00Z", "2025-02-02T00:00:00Z"});
    // Both day fields restricted: either may match.
    QTest::newRow("dom or dow") << QStringLiteral("0 0 13 * FRI") << u << newYear
                                << list({"2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z",
                                         "2025-01-13T00:00:00Z", "2025-01-17T00:00:00Z"});
    QTest::newRow("L or monday") << QStringLiteral("0 0 L * MON") << u
                                 << utc("2025-01-20T12:00:00Z")
                                 << list({"2025-01-27T00:00:00Z", "2025-01-31T00:00:00Z",
                                          "2025-02-03T00:00:00Z"});
    QTest::newRow("dom or nth") << QStringLiteral("0 0 1 * MON#2") << u << newYear
                                << list({"2025-01-13T00:00:00Z", "2025-02-01T00:00:00Z",
                                         "2025-02-10T00:00:00Z"});
    QTest::newRow("step dom counts as restricted")
        << QStringLiteral("0 0 */10 * SUN") << u << newYear
        << list({"2025-01-05T00:00:00Z", "2025-01-11T00:00:00Z", "2025-01-12T00:00:00Z",
                 "2025-01-19T00:00:00Z", "2025-01-21T00:00:00Z"});
    QTest::newRow("dom star and dow") << QStringLiteral("0 0 * * FRI") << u << newYear
                                      << list({"2025-01-03T00:00:00Z", "2025-01-10T00:00:00Z"});
    QTest::newRow("leap day") << QStringLiteral("0 0 29 FEB *") << u << newYear
                              << list({"2028-02-29T00:00:00Z", "2032-02-29T00:00:00Z",
                                       "2036-02-29T00:00:00Z"});
    QTest::newRow("leap day across 2100")
        << QStringLiteral("0 0 29 2 *") << u << utc("2096-03-01T00:00:00Z")
        << list({"2104-02-29T00:00:00Z", "2108-02-29T00:00:00Z"});
    QTest::newRow("leap day or monday")
        << QStringLiteral("0 0 29 FEB MON") << u << newYear
        << list({"2025-02-03T00:00:00Z", "2025-02-10T00:00:00Z", "2025-02-17T00:00:00Z",
                 "2025-02-24T00:00:00Z", "2026-02-02T00:00:00Z"});
    QTest::newRow("fifth monday of february")
        << QStringLiteral("0 0 * FEB MON#5") << u << newYear
        << list({"2044-02-29T00:00:00Z", "2072-02-29T00:00:00Z"});
    QTest::newRow("@yearly") << QStringLiteral("@yearly") << u << newYear
                             << list({"2026-01-01T00:00:00Z", "2027-01-01T00:00:00Z"});
    QTest::newRow("@annually") << QStringLiteral("@annually") << u << newYear
                               << list({"2026-01-01T00:00:00Z"});
    QTest::newRow("@monthly") << QStringLiteral("@monthly") << u << newYear
                              << list({"2025-02-01T00:00:00Z", "2025-03-01T00:00:00Z"});
    QTest::newRow("@weekly") << QStringLiteral("@weekly") << u << newYear
                             << list({"2025-01-05T00:00:00Z", "2025-01-12T00:00:00Z"});
    QTest::newRow("@daily") << QStringLiteral("@daily") << u << newYear
                            << list({"2025-01-02T00:00:00Z", "2025-01-03T00:00:00Z"});
    QTest::newRow("@midnight") << QStringLiteral("@MIDNIGHT") << u << newYear
                               << list({"2025-01-02T00:00:00Z"});
    QTest::newRow("@hourly") << QStringLiteral("@hourly") << u << newYear
                             << list({"2025-01-01T01:00:00Z", "2025-01-01T02:00:00Z"});
    QTest::newRow("white space") << QStringLiteral("  0\t3 *  * *  ") << u << newYear
                                 << list({"2025-01-01T03:00:00Z"});
    QTest::newRow("zone") << QStringLiteral("0 3 * * *") << QStringLiteral("Europe/Berlin")
                          << newYear
                          << list({"2025-01-01T03:00:00+01:00", "2025-01-02T03:00:00+01:00"});
    QTest::newRow("zone west") << QStringLiteral("0 20 31 12 *")
                               << QStringLiteral("America/New_York") << newYear
                               << list({"2024-12-31T20:00:00-05:00", "2025-12-31T20:00:00-05:00"});
    QTest::newRow("zone +05:30") << QStringLiteral("0 0 * * *") << QStringLiteral("Asia/Kolkata")
                                 << newYear
                                 << list(
                                        {"2025-01-02T00:00:00+05:30", "2025-01-03T00:00:00+05:30"});
}

void tst_Cron::syntax()
{
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    QFETCH(QDateTime, after);
    QFETCH(QStringList, expected);

    const auto schedule = CronSchedule::parse(expression, zone);
    QVERIFY2(schedule.isOk(), qPrintable(schedule.errorString()));
    const QList<QDateTime> times = schedule.value().nextFireTimes(after, int(expected.size()));
    QCOMPARE(localTimes(times, schedule.value().timeZone()), expected);
}

// The daylight-saving rules of the header, on both transitions of four zones.
void tst_Cron::daylightSaving_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QDateTime>("after");
    QTest::addColumn<QStringList>("expected");

    const QString berlin = QStringLiteral("Europe/Berlin");
    const QString newYork = QStringLiteral("America/New_York");
    const QString lordHowe = QStringLiteral("Australia/Lord_Howe");
    const QString sydney = QStringLiteral("Australia/Sydney");

    // Europe/Berlin, 2025-03-30: 02:00 CET -> 03:00 CEST.
    QTest::newRow("berlin spring fixed in gap")
        << QStringLiteral("30 2 * * *") << berlin << utc("2025-03-29T12:00:00Z")
        << list({"2025-03-30T03:00:00+02:00", "2025-03-31T02:30:00+02:00"});
    QTest::newRow("berlin spring several in gap fire once")
        << QStringLiteral("0,15,45 2 * * *") << berlin << utc("2025-03-29T12:00:00Z")
        << list({"2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"});
    QTest::newRow("berlin spring gap and its end fire once")
        << QStringLiteral("0 2,3 * * *") << berlin << utc("2025-03-29T12:00:00Z")
        << list({"2025-03-30T03:00:00+02:00", "2025-03-31T02:00:00+02:00"});
    QTest::newRow("berlin spring fixed step hours")
        << QStringLiteral("0 */2 * * *") << berlin << utc("2025-03-29T23:30:00Z")
        << list({"2025-03-30T03:00:00+02:00", "2025-03-30T04:00:00+02:00"});
    QTest::newRow("berlin spring every 15 minutes")
        << QStringLiteral("*/15 * * * *") << berlin << utc("2025-03-30T00:30:00Z")
        << list({"2025-03-30T01:45:00+01:00", "2025-03-30T03:00:00+02:00",
                 "2025-03-30T03:15:00+02:00"});
    QTest::newRow("berlin spring hourly skips the gap")
        << QStringLiteral("0 * * * *") << berlin << utc("2025-03-29T23:30:00Z")
        << list({"2025-03-30T01:00:00+01:00", "2025-03-30T03:00:00+02:00"});
    // Europe/Berlin, 2025-10-26: 03:00 CEST -> 02:00 CET.
    QTest::newRow("berlin fall fixed first occurrence")
        << QStringLiteral("30 2 * * *") << berlin << utc("2025-10-25T12:00:00Z")
        << list({"2025-10-26T02:30:00+02:00", "2025-10-27T02:30:00+01:00"});
    QTest::newRow("berlin fall fixed from second pass")
        << QStringLiteral("30 2 * * *") << berlin << utc("2025-10-26T01:10:00Z")
        << list({"2025-10-27T02:30:00+01:00"});
    QTest::newRow("berlin fall fixed minutes once")
        << QStringLiteral("*/30 2 * * *") << berlin << utc("2025-10-25T23:00:00Z")
        << list({"2025-10-26T02:00:00+02:00", "2025-10-26T02:30:00+02:00",
                 "2025-10-27T02:00:00+01:00"});
    QTest::newRow("berlin fall every 15 minutes")
        << QStringLiteral("*/15 * * * *") << berlin << utc("2025-10-26T00:30:00Z")
        << list({"2025-10-26T02:45:00+02:00", "2025-10-26T02:00:00+01:00",
                 "2025-10-26T02:15:00+01:00", "2025-10-26T02:30:00+01:00",
                 "2025-10-26T02:45:00+01:00", "2025-10-26T03:00:00+01:00"});
    QTest::newRow("berlin fall hourly twice")
        << QStringLiteral("0 * * * *") << berlin << utc("2025-10-25T23:30:00Z")
        << list({"2025-10-26T02:00:00+02:00", "2025-10-26T02:00:00+01:00",
                 "2025-10-26T03:00:00+01:00"});

    // America/New_York, 2025-03-09: 02:00 EST -> 03:00 EDT.
    QTest::newRow("new york spring fixed in gap")
        << QStringLiteral("30 2 * * *") << newYork << utc("2025-03-08T12:00:00Z")
        << list({"2025-03-09T03:00:00-04:00", "2025-03-10T02:30:00-04:00"});
    QTest::newRow("new york spring every 20 minutes")
        << QStringLiteral("*/20 * * * *") << newYork << utc("2025-03-09T06:30:00Z")
        << list({"2025-03-09T01:40:00-05:00", "2025-03-09T03:00:00-04:00",
                 "2025-03-09T03:20:00-04:00"});
    // America/New_York, 2025-11-02: 02:00 EDT -> 01:00 EST.
    QTest::newRow("new york fall fixed first occurrence")
        << QStringLiteral("30 1 * * *") << newYork << utc("2025-11-01T12:00:00Z")
        << list({"2025-11-02T01:30:00-04:00", "2025-11-03T01:30:00-05:00"});
    QTest::newRow("new york fall every 30 minutes")
        << QStringLiteral("*/30 * * * *") << newYork << utc("2025-11-02T04:50:00Z")
        << list({"2025-11-02T01:00:00-04:00", "2025-11-02T01:30:00-04:00",
                 "2025-11-02T01:00:00-05:00", "2025-11-02T01:30:00-05:00",
                 "2025-11-02T02:00:00-05:00"});

    // Australia/Lord_Howe, 2025-10-05: 02:00 +10:30 -> 02:30 +11:00 (half an hour).
    QTest::newRow("lord howe spring 02:00 in gap")
        << QStringLiteral("0 2 * * *") << lordHowe << utc("2025-10-04T00:00:00Z")
        << list({"2025-10-05T02:30:00+11:00", "2025-10-06T02:00:00+11:00"});
    QTest::newRow("lord howe spring 02:15 in gap")
        << QStringLiteral("15 2 * * *") << lordHowe << utc("2025-10-04T00:00:00Z")
        << list({"2025-10-05T02:30:00+11:00", "2025-10-06T02:15:00+11:00"});
    QTest::newRow("lord howe spring 02:45 after gap")
        << QStringLiteral("45 2 * * *") << lordHowe << utc("2025-10-04T00:00:00Z")
        << list({"2025-10-05T02:45:00+11:00", "2025-10-06T02:45:00+11:00"});
    QTest::newRow("lord howe spring fixed minutes")
        << QStringLiteral("*/15 2 * * *") << lordHowe << utc("2025-10-04T12:00:00Z")
        << list({"2025-10-05T02:30:00+11:00", "2025-10-05T02:45:00+11:00",
                 "2025-10-06T02:00:00+11:00"});
    QTest::newRow("lord howe spring every 15 minutes")
        << QStringLiteral("*/15 * * * *") << lordHowe << utc("2025-10-04T15:00:00Z")
        << list({"2025-10-05T01:45:00+10:30", "2025-10-05T02:30:00+11:00",
                 "2025-10-05T02:45:00+11:00"});
    QTest::newRow("lord howe spring hourly skips 02:00")
        << QStringLiteral("0 * * * *") << lordHowe << utc("2025-10-04T14:00:00Z")
        << list({"2025-10-05T01:00:00+10:30", "2025-10-05T03:00:00+11:00"});
    QTest::newRow("lord howe spring half past")
        << QStringLiteral("30 * * * *") << lordHowe << utc("2025-10-04T14:40:00Z")
        << list({"2025-10-05T01:30:00+10:30", "2025-10-05T02:30:00+11:00",
                 "2025-10-05T03:30:00+11:00"});
    // Australia/Lord_Howe, 2025-04-06: 02:00 +11:00 -> 01:30 +10:30.
    QTest::newRow("lord howe fall fixed first occurrence")
        << QStringLiteral("45 1 * * *") << lordHowe << utc("2025-04-05T00:00:00Z")
        << list({"2025-04-06T01:45:00+11:00", "2025-04-07T01:45:00+10:30"});
    QTest::newRow("lord howe fall fixed outside the repeat")
        << QStringLiteral("15 1 * * *") << lordHowe << utc("2025-04-05T00:00:00Z")
        << list({"2025-04-06T01:15:00+11:00", "2025-04-07T01:15:00+10:30"});
    QTest::newRow("lord howe fall every 15 minutes")
        << QStringLiteral("*/15 * * * *") << lordHowe << utc("2025-04-05T14:00:00Z")
        << list({"2025-04-06T01:15:00+11:00", "2025-04-06T01:30:00+11:00",
                 "2025-04-06T01:45:00+11:00", "2025-04-06T01:30:00+10:30",
                 "2025-04-06T01:45:00+10:30", "2025-04-06T02:00:00+10:30"});
    QTest::newRow("lord howe fall hourly")
        << QStringLiteral("0 * * * *") << lordHowe << utc("2025-04-05T13:30:00Z")
        << list({"2025-04-06T01:00:00+11:00", "2025-04-06T02:00:00+10:30"});

    // Australia/Sydney, 2025-04-06: 03:00 AEDT -> 02:00 AEST (southern autumn).
    QTest::newRow("sydney fall fixed first occurrence")
        << QStringLiteral("30 2 * * *") << sydney << utc("2025-04-05T00:00:00Z")
        << list({"2025-04-06T02:30:00+11:00", "2025-04-07T02:30:00+10:00"});
    QTest::newRow("sydney fall hourly twice")
        << QStringLiteral("0 * * * *") << sydney << utc("2025-04-05T14:30:00Z")
        << list({"2025-04-06T02:00:00+11:00", "2025-04-06T02:00:00+10:00",
                 "2025-04-06T03:00:00+10:00"});
    // Australia/Sydney, 2025-10-05: 02:00 AEST -> 03:00 AEDT (southern spring).
    QTest::newRow("sydney spring fixed in gap")
        << QStringLiteral("30 2 * * *") << sydney << utc("2025-10-04T00:00:00Z")
        << list({"2025-10-05T03:00:00+11:00", "2025-10-06T02:30:00+11:00"});
    QTest::newRow("sydney spring every 30 minutes")
        << QStringLiteral("*/30 * * * *") << sydney << utc("2025-10-04T15:10:00Z")
        << list({"2025-10-05T01:30:00+10:00", "2025-10-05T03:00:00+11:00",
                 "2025-10-05T03:30:00+11:00"});

    // America/Santiago, 2025-09-07: the gap is at midnight (00:00 -04 -> 01:00 -03).
    QTest::newRow("santiago midnight gap")
        << QStringLiteral("@daily") << QStringLiteral("America/Santiago")
        << utc("2025-09-06T12:00:00Z")
        << list({"2025-09-07T01:00:00-03:00", "2025-09-08T00:00:00-03:00"});
}

void tst_Cron::daylightSaving()
{
    syntax();
}

// An all-hours schedule fires every N real minutes through a whole year of transitions.
// The years around 1970 and 2100 cross the edges of the cached transition table.
void tst_Cron::allHoursFollowRealTime_data()
{
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QDateTime>("start");
    const char *zones[] = {"Europe/Berlin", "America/New_York", "Australia/Lord_Howe",
                           "Australia/Sydney"};
    for (const char *zone : zones) {
        for (const char *start :
             {"2025-01-01T00:00:00Z", "2099-07-01T00:00:00Z", "1969-07-01T00:00:00Z"})
            QTest::addRow("%s %.4s", zone, start) << QString::fromLatin1(zone) << utc(start);
    }
}

void tst_Cron::allHoursFollowRealTime()
{
    QFETCH(QString, zone);
    QFETCH(QDateTime, start);
    const auto schedule = CronSchedule::parse(QStringLiteral("*/15 * * * *"), zone);
    QVERIFY(schedule.isOk());
    QVERIFY(!schedule.value().isFixedHour());
    const QList<QDateTime> times = schedule.value().nextFireTimes(start, 365 * 96);
    QCOMPARE(times.size(), 365 * 96);
    for (qsizetype i = 1; i < times.size(); ++i) {
        if (times.at(i - 1).secsTo(times.at(i)) != 15 * 60)
            QFAIL(qPrintable(times.at(i - 1).toString(Qt::ISODate) + QLatin1Char(' ') +
                             times.at(i).toString(Qt::ISODate)));
    }
}

// A fixed-hour schedule fires exactly once on every local day, also on transition days.
void tst_Cron::fixedHourFiresOncePerDay_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QDate>("first");
    const QStringList zones = {QStringLiteral("Europe/Berlin"), QStringLiteral("America/New_York"),
                               QStringLiteral("Australia/Lord_Howe"),
                               QStringLiteral("Australia/Sydney")};
    for (const QString &zone : zones) {
        for (const char *expression : {"30 2 * * *", "0 2 * * *", "45 1 * * *", "59 59 2 * * *"}) {
            for (const QDate &first : {QDate(2025, 1, 1), QDate(2099, 7, 1)})
                QTest::addRow("%s %s %d", expression, qPrintable(zone), first.year())
                    << QString::fromLatin1(expression) << zone << first;
        }
    }
}

void tst_Cron::fixedHourFiresOncePerDay()
{
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    const auto schedule = CronSchedule::parse(expression, zone);
    QVERIFY(schedule.isOk());
    QVERIFY(schedule.value().isFixedHour());
    const QTimeZone tz = schedule.value().timeZone();
    const QList<QDateTime> times =
        schedule.value().nextFireTimes(QDateTime(QDate(2025, 1, 1), QTime(0, 0), tz), 365);
    QCOMPARE(times.size(), 365);
    for (qsizetype i = 0; i < times.size(); ++i)
        QCOMPARE(times.at(i).toTimeZone(tz).date(), QDate(2025, 1, 1).addDays(i));
}

void tst_Cron::errors_data()
{
    QTest::addColumn<QString>("expression");
    QTest::addColumn<QString>("zone");
    QTest::addColumn<QString>("error");

    const auto row = [](const char *expression, const char *error, const char *zone = "UTC") {
        QTest::newRow(expression) << QString::fromUtf8(expression) << QString::fromLatin1(zone)
                                  << QString::fromUtf8(error);
    };
    // Field count and macros
    row("", "expected 5 or 6 fields, got 0");
    row("* * *", "expected 5 or 6 fields, got 3");
    row("* * * * * * *", "expected 5 or 6 fields, got 7");
    row("@reboot", "unknown macro \"@reboot\", expected @yearly, @annually, @monthly, @weekly, "
                   "@daily, @midnight or @hourly");
    row("@daily 0", "unknown macro \"@daily 0\", expected @yearly, @annually, @monthly, @weekly, "
                    "@daily, @midnight or @hourly");
    // Values outside their field
    row("60 * * * * *", "second: 60 is outside 0-59");
    row("60 * * * *", "minute: 60 is outside 0-59");
    row("* 24 * * *", "hour: 24 is outside 0-23");
    row("0 0 32 * *", "day of month: 32 is outside 1-31");
    row("0 0 0 * *", "day of month: 0 is outside 1-31");
    row("0 0 * 13 *", "month: 13 is outside 1-12");
    row("0 0 * 0 *", "month: 0 is outside 1-12");
    row("0 0 * * 8", "day of week: 8 is outside 0-7");
    row("0 0-99999999999999999999 * * *", "hour: 99999999999999999999 is outside 0-23");
    row("0 1-24 * * *", "hour: 24 is outside 0-23");
    // Not a number
    row("abc * * * *", "minute: \"abc\" is not a number or name, expected 0-59");
    row("0 0 * FOO *", "month: \"FOO\" is not a number or name, expected 1-12 or JAN-DEC");
    row("0 0 * MON *", "month: \"MON\" is not a number or name, expected 1-12 or JAN-DEC");
    row("0 0 * * MON-FOO", "day of week: \"FOO\" is not a number or name, expected 0-7 or SUN-SAT");
    row("0 0 * * JAN", "day of week: \"JAN\" is not a number or name, expected 0-7 or SUN-SAT");
    row("0 JAN * * *", "hour: \"JAN\" is not a number or name, expected 0-23");
    row("-1 * * * *", "minute: \"-1\" is not a number or name, expected 0-59");
    row("1-2-3 * * * *", "minute: \"2-3\" is not a number or name, expected 0-59");
    row("0 0 1.5 * *", "day of month: \"1.5\" is not a number or name, expected 1-31 or L");
    row("\xd9\xa3 * * * *", "minute: \"\xd9\xa3\" is not a number or name, expected 0-59");
    row("0 0 LW * *", "day of month: \"LW\" is not a number or name, expected 1-31 or L");
    // Lists, ranges and steps
    row("1,,2 * * * *", "minute: empty entry in \"1,,2\"");
    row("1, * * * *", "minute: empty entry in \"1,\"");
    row("*/0 * * * *", "minute: step 0 in \"*/0\" is outside 1-60");
    row("*/61 * * * *", "minute: step 61 in \"*/61\" is outside 1-60");
    row("0 */25 * * *", "hour: step 25 in \"*/25\" is outside 1-24");
    row("*/x * * * *", "minute: step \"x\" in \"*/x\" is not a number, expected 1-60");
    row("*/ * * * *", "minute: step \"\" in \"*/\" is not a number, expected 1-60");
    row("/5 * * * *", "minute: \"/5\" has no range before the step");
    row("*/5/2 * * * *", "minute: step \"5/2\" in \"*/5/2\" is not a number, expected 1-60");
    row("30-10 * * * *", "minute: range \"30-10\" runs backwards; ranges do not wrap, write two "
                         "ranges within 0-59");
    row("0 0 * * FRI-MON", "day of week: range \"FRI-MON\" runs backwards; ranges do not wrap, "
                           "write two ranges within 0-7");
    // Specials in the wrong place
    row("? * * * *", "minute: \"?\" is only allowed in day of month and day of week");
    row("0 ?/2 * * *", "hour: \"?\" is only allowed in day of month and day of week");
    row("0 L * * *", "hour: \"L\" is only allowed in day of month and day of week");
    row("0 0 * L *", "month: \"L\" is only allowed in day of month and day of week");
    row("0 0 * * L", "day of week: \"L\" needs a weekday before it, e.g. 5L for the last Friday");
    row("0 0 5L * *",
        "day of month: \"5L\" is not supported, L alone is the last day of the month");
    row("0 0 15W * *", "day of month: \"15W\": W (nearest weekday) is not supported");
    row("0 0 * * 9L", "day of week: 9 is outside 0-7");
    row("0 0 * * MON#6", "day of week: occurrence 6 in \"MON#6\" is outside 1-5");
    row("0 0 * * MON#0", "day of week: occurrence 0 in \"MON#0\" is outside 1-5");
    row("0 0 * * MON#x",
        "day of week: occurrence \"x\" in \"MON#x\" is not a number, expected 1-5");
    row("0 0 * * #2", "day of week: \"#2\" is not a number or name, expected 0-7 or SUN-SAT");
    row("0 0 1#2 * *", "day of month: \"1#2\": # is only allowed in day of week");
    // Never fires
    row("0 0 30 FEB *", "never fires: day of month 30 does not occur in February");
    row("0 0 30,31 2 *", "never fires: day of month 30,31 does not occur in February");
    row("0 0 31 4,6,9,11 *", "never fires: day of month 31 does not occur in April, June, "
                             "September or November");
    row("0 0 31 APR ?", "never fires: day of month 31 does not occur in April");
    // Time zones
    row("0 0 * * *", "unknown time zone \"Mars/Olympus\"", "Mars/Olympus");
    row("0 0 * * *", "unknown time zone \"../../etc/passwd\"", "../../etc/passwd");
}

void tst_Cron::errors()
{
    QFETCH(QString, expression);
    QFETCH(QString, zone);
    QFETCH(QString, error);
    const auto schedule = CronSchedule::parse(expression, zone);
    QVERIFY(!schedule.isOk());
    QCOMPARE(schedule.errorString(), error);
}

// Finding out that an expression never fires takes one bounded search (400 years).
void tst_Cron::neverFiresIsBounded()
{
    QElapsedTimer timer;
    timer.start();
    for (int i = 0; i < 20; ++i) {
        QVERIFY(!CronSchedule::parse(QStringLiteral("* * * 30 2 *"), QStringLiteral("UTC")));
        QVERIFY(!CronSchedule::parse(QStringLiteral("*/5 * * 31 4,6,9,11 *"),
                                     QStringLiteral("Europe/Berlin")));
    }
    QVERIFY2(timer.elapsed() < 2000, qPrintable(QString::number(timer.elapsed())));

    // The rarest schedules still fire: the leap day, the fifth Monday of February.
    QVERIFY(CronSchedule::parse(QStringLiteral("0 0 29 FEB *")));
    QVERIFY(CronSchedule::parse(QStringLiteral("0 0 30 FEB MON#5")));
}

void tst_Cron::accessors()
{
    const auto parsed =
        CronSchedule::parse(QStringLiteral(" 0  3 * * * "), QStringLiteral("Europe/Berlin"));
    QVERIFY(parsed.isOk());
    const CronSchedule &schedule = parsed.value();
    QCOMPARE(schedule.expression(), QStringLiteral("0 3 * * *"));
    QCOMPARE(schedule.timeZone().id(), QByteArray("Europe/Berlin"));
    QVERIFY(!schedule.hasSeconds());
    QVERIFY(schedule.isFixedHour());
    QCOMPARE(schedule.toString(), QStringLiteral("cron \"0 3 * * *\" Europe/Berlin"));

    const auto withSeconds = CronSchedule::parse(QStringLiteral("0 */5 * * * *"));
    QVERIFY(withSeconds.isOk());
    QVERIFY(withSeconds.value().hasSeconds());
    QVERIFY(!withSeconds.value().isFixedHour());
    QVERIFY(!CronSchedule::parse(QStringLiteral("0 0 0-23 * * *")).value().isFixedHour());
    QVERIFY(!CronSchedule::parse(QStringLiteral("0 */1 * * *")).value().isFixedHour());
    QVERIFY(CronSchedule::parse(QStringLiteral("0 */2 * * *")).value().isFixedHour());
    QVERIFY(CronSchedule::parse(QStringLiteral("@daily")).value().isFixedHour());
    QVERIFY(!CronSchedule::parse(QStringLiteral("@hourly")).value().isFixedHour());

    // clone() and copies answer the same.
    const std::unique_ptr<Warden::Schedule> clone = schedule.clone();
    const CronSchedule copy = schedule;
    const QDateTime after = utc("2025-06-01T12:00:00Z");
    QCOMPARE(clone->nextFireTime(after), schedule.nextFireTime(after));
    QCOMPARE(copy.nextFireTime(after), schedule.nextFireTime(after));
    QCOMPARE(clone->toString(), schedule.toString());
    QCOMPARE(schedule.nextFireTime(after), utc("2025-06-02T01:00:00Z"));
    QCOMPARE(schedule.nextFireTime(after).timeSpec(), Qt::UTC);
}

void tst_Cron::timeZones()
{
    const auto utcSchedule =
        CronSchedule::parse(QStringLiteral("0 0 * * *"), QStringLiteral("UTC"));
    QVERIFY(utcSchedule.isOk());
    QCOMPARE(utcSchedule.value().timeZone(), QTimeZone::utc());
    QCOMPARE(utcSchedule.value().toString(), QStringLiteral("cron \"0 0 * * *\" UTC"));

    const auto system = CronSchedule::parse(QStringLiteral("0 0 * * *"));
    QVERIFY(system.isOk());
    const QTimeZone expected =
        QTimeZone::systemTimeZone().isValid() ? QTimeZone::systemTimeZone() : QTimeZone::utc();
    QCOMPARE(system.value().timeZone(), expected);

    const auto byObject = CronSchedule::parse(QStringLiteral("0 0 * * *"),
                                              QTimeZone(QByteArrayLiteral("Asia/Tokyo")));
    QVERIFY(byObject.isOk());
    QCOMPARE(byObject.value().nextFireTime(utc("2025-01-01T00:00:00Z")),
             utc("2025-01-01T15:00:00Z"));
    QVERIFY(!CronSchedule::parse(QStringLiteral("0 0 * * *"), QTimeZone()));
}

// nextFireTime() answers strictly after its argument, at millisecond precision.
void tst_Cron::strictlyAfter()
{
    const auto parsed = CronSchedule::parse(QStringLiteral("* * * * * *"), QStringLiteral("UTC"));
    QVERIFY(parsed.isOk());
    const CronSchedule &everySecond = parsed.value();
    QCOMPARE(everySecond.nextFireTime(utc("2025-01-01T00:00:00.000Z")),
             utc("2025-01-01T00:00:01.000Z"));
    QCOMPARE(everySecond.nextFireTime(utc("2025-01-01T00:00:00.001Z")),
             utc("2025-01-01T00:00:01.000Z"));
    QCOMPARE(everySecond.nextFireTime(utc("2025-01-01T00:00:00.999Z")),
             utc("2025-01-01T00:00:01.000Z"));
    QCOMPARE(everySecond.nextFireTime(utc("1969-12-31T23:59:59.500Z")),
             utc("1970-01-01T00:00:00.000Z"));
    // A local-time argument is the same instant.
    const QDateTime berlin(QDate(2025, 1, 1), QTime(1, 0),
                           QTimeZone(QByteArrayLiteral("Europe/Berlin")));
    QCOMPARE(everySecond.nextFireTime(berlin), utc("2025-01-01T00:00:01Z"));
    QVERIFY(!everySecond.nextFireTime(QDateTime()).isValid());

    // Far from today the answers stay sane (the tz database has no data there).
    const auto berlinParsed =
        CronSchedule::parse(QStringLiteral("*/15 2 * * *"), QStringLiteral("Europe/Berlin"));
    QVERIFY(berlinParsed.isOk());
    for (const QDate &date : {QDate(1, 1, 1), QDate(1583, 1, 1), QDate(1899, 12, 31),
                              QDate(-4000, 6, 1), QDate(9999, 12, 31)}) {
        const QDateTime after(date, QTime(12, 0), Qt::UTC);
        const QDateTime next = berlinParsed.value().nextFireTime(after);
        if (date.year() == 9999) {
            QVERIFY(!next.isValid());
            continue;
        }
        QVERIFY2(next > after, qPrintable(after.toString(Qt::ISODate)));
        QVERIFY2(after.daysTo(next) <= 1, qPrintable(next.toString(Qt::ISODate)));
    }
}

// The search ends with the year 9999.
void tst_Cron::endOfRange()
{
    const auto parsed = CronSchedule::parse(QStringLiteral("0 0 1 1 *"), QStringLiteral("UTC"));
    QVERIFY(parsed.isOk());
    QCOMPARE(parsed.value().nextFireTime(utc("9998-06-01T00:00:00Z")), utc("9999-01-01T00:00:00Z"));
    QVERIFY(!parsed.value().nextFireTime(utc("9999-06-01T00:00:00Z")).isValid());
    QVERIFY(!parsed.value()
                 .nextFireTime(QDateTime(QDate(12000, 6, 1), QTime(0, 0), Qt::UTC))
                 .isValid());
    QCOMPARE(parsed.value().nextFireTimes(utc("9997-06-01T00:00:00Z"), 5).size(), 2);
}

QTEST_GUILESS_MAIN(tst_Cron)
#include "tst_cron.moc"
