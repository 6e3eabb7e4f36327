#include <warden/sql/databaseurl.h>

#include <QtTest/QTest>

using Warden::DatabaseUrl;

class tst_SqlUrl : public QObject
{
    Q_OBJECT

private slots:
    void sqlite_data();
    void sqlite();
    void postgres();
    void errors_data();
    void errors();
    void passwordIsMasked();
};

void tst_SqlUrl::sqlite_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("path");
    QTest::newRow("absolute, three slashes") << QStringLiteral("sqlite:///var/lib/warden/warden.db")
                                             << QStringLiteral("/var/lib/warden/warden.db");
    QTest::newRow("absolute, one slash")
        << QStringLiteral("sqlite:/tmp/w.db") << QStringLiteral("/tmp/w.db");
    QTest::newRow("relative, dot")
        << QStringLiteral("sqlite://./var/warden.db") << QStringLiteral("./var/warden.db");
    QTest::newRow("relative, parent")
        << QStringLiteral("sqlite://../w.db") << QStringLiteral("../w.db");
    QTest::newRow("relative, bare")
        << QStringLiteral("sqlite:warden.db") << QStringLiteral("warden.db");
    QTest::newRow("percent-encoded")
        << QStringLiteral("sqlite:///tmp/my%20db.db") << QStringLiteral("/tmp/my db.db");
}

void tst_SqlUrl::sqlite()
{
    QFETCH(QString, url);
    QFETCH(QString, path);
    const auto parsed = DatabaseUrl::parse(url);
    QVERIFY2(parsed.isOk(), qPrintable(parsed.errorString()));
    QVERIFY(parsed.value().isSqlite());
    QCOMPARE(parsed.value().filePath(), path);
}

void tst_SqlUrl::postgres()
{
    const auto parsed = DatabaseUrl::parse(QStringLiteral(
        "postgresql://warden@db.example.com:6543/prod?connect_timeout=5&sslmode=prefer&schema=ops"
        "&statement_timeout=2500"));
    QVERIFY2(parsed.isOk(), qPrintable(parsed.errorString()));
    const DatabaseUrl &url = parsed.value();
    QVERIFY(url.isPostgreSql());
    QCOMPARE(url.hostName(), QStringLiteral("db.example.com"));
    QCOMPARE(url.port(), 6543);
    QCOMPARE(url.databaseName(), QStringLiteral("prod"));
    QCOMPARE(url.userName(), QStringLiteral("warden"));
    QCOMPARE(url.schema(), QStringLiteral("ops"));
    QCOMPARE(url.statementTimeoutMs(), 2500);
    QCOMPARE(url.parameters().value(QStringLiteral("sslmode")), QStringLiteral("prefer"));
    const auto defaults = DatabaseUrl::parse(QStringLiteral("postgres://u@[::1]/w"));
    QVERIFY2(defaults.isOk(), qPrintable(defaults.errorString()));
    QCOMPARE(defaults.value().port(), 5432);
    QCOMPARE(defaults.value().hostName(), QStringLiteral("::1"));
    QCOMPARE(defaults.value().schema(), QStringLiteral("public"));
}

void tst_SqlUrl::errors_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QString>("expected"); // a part of the message
    QTest::newRow("empty") << QString() << QStringLiteral("empty");
    QTest::newRow("scheme") << QStringLiteral("mysql://h/db")
                            << QStringLiteral("sqlite: or postgresql://");
    QTest::newRow("sqlite host") << QStringLiteral("sqlite://host/x.db") << QStringLiteral("host");
    QTest::newRow("sqlite memory")
        << QStringLiteral("sqlite::memory:") << QStringLiteral("in-memory");
    QTest::newRow("sqlite no path")
        << QStringLiteral("sqlite:") << QStringLiteral("path is missing");
    QTest::newRow("sqlite parameter")
        << QStringLiteral("sqlite:w.db?mode=x") << QStringLiteral("unknown parameter");
    QTest::newRow("pg no host") << QStringLiteral("postgresql:///db") << QStringLiteral("host");
    QTest::newRow("pg no db") << QStringLiteral("postgresql://u@h:5432/")
                              << QStringLiteral("database name");
    QTest::newRow("pg parameter") << QStringLiteral("postgresql://u@h/db?options=-c")
                                  << QStringLiteral("unknown parameter");
    QTest::newRow("pg injection") << QStringLiteral("postgresql://u@h/db?sslmode=x%20host%3Devil")
                                  << QStringLiteral("invalid value");
    QTest::newRow("pg sslmode") << QStringLiteral("postgresql://u@h/db?sslmode=bogus")
                                << QStringLiteral("sslmode \"bogus\" is not one of");
    QTest::newRow("pg schema") << QStringLiteral("postgresql://u@h/db?schema=a%22b")
                               << QStringLiteral("schema");
    QTest::newRow("pg timeout") << QStringLiteral("postgresql://u@h/db?statement_timeout=soon")
                                << QStringLiteral("milliseconds");
}

void tst_SqlUrl::errors()
{
    QFETCH(QString, url);
    QFETCH(QString, expected);
    const auto parsed = DatabaseUrl::parse(url);
    QVERIFY(!parsed.isOk());
    QVERIFY2(parsed.errorString().contains(expected, Qt::CaseInsensitive),
             qPrintable(parsed.errorString()));
}

void tst_SqlUrl::passwordIsMasked()
{
    const auto parsed =
        DatabaseUrl::parse(QStringLiteral("postgresql://u:s3cret@h/db?sslmode=require"));
    QVERIFY(parsed.isOk());
    QCOMPARE(parsed.value().password(), QStringLiteral("s3cret"));
    const QString shown = parsed.value().toDisplayString();
    QVERIFY2(!shown.contains(QLatin1String("s3cret")), qPrintable(shown));
    QVERIFY2(shown.contains(QLatin1String("****")), qPrintable(shown));
    // Errors never echo a PostgreSQL URL's password either.
    const auto bad = DatabaseUrl::parse(QStringLiteral("postgresql://u:s3cret@h/"));
    QVERIFY(!bad.isOk());
    QVERIFY(!bad.errorString().contains(QLatin1String("s3cret")));
}

QTEST_GUILESS_MAIN(tst_SqlUrl)
#include "tst_sqlurl.moc"
