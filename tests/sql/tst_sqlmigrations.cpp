#include "sqltestsupport.h"

#include <warden/sql/database.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqllockmanager.h>

#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <thread>

class tst_SqlMigrations : public QObject
{
    Q_OBJECT

private slots:
    void concurrentStart_data() { SqlTest::addBackendRows(); }
    void concurrentStart();
    void newerSchemaIsRefused_data() { SqlTest::addBackendRows(); }
    void newerSchemaIsRefused();
    void olderSchemaIsUpgraded_data() { SqlTest::addBackendRows(); }
    void olderSchemaIsUpgraded();
    void withoutMigrationsNeedsCurrentSchema_data() { SqlTest::addBackendRows(); }
    void withoutMigrationsNeedsCurrentSchema();

private:
    QTemporaryDir m_dir;
};

static int versionOf(const QString &url)
{
    QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
    if (!q.exec(QStringLiteral("SELECT MAX(version) FROM warden_schema_version")) || !q.next())
        return -1;
    return q.value(0).toInt();
}

static bool run(const QString &url, const QString &sql)
{
    QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
    if (q.exec(sql))
        return true;
    qWarning("%s: %s", qPrintable(sql), qPrintable(q.lastError().text()));
    return false;
}

void tst_SqlMigrations::concurrentStart()
{
    WARDEN_FRESH_URL(url, m_dir);
    // Six nodes start at once on an empty database: every one comes up.
    std::vector<std::thread> threads;
    std::vector<QString> errors(6);
    for (int i = 0; i < 6; ++i) {
        threads.emplace_back([&, i] {
            auto db = Warden::Database::open(url);
            if (!db)
                errors[size_t(i)] = db.errorString();
        });
    }
    for (auto &t : threads)
        t.join();
    for (const QString &e : errors)
        QVERIFY2(e.isEmpty(), qPrintable(e));
    QCOMPARE(versionOf(url), Warden::Database::schemaVersion());
    QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
    QVERIFY(q.exec(QStringLiteral("SELECT count(*) FROM warden_schema_version")) && q.next());
    QCOMPARE(q.value(0).toInt(), Warden::Database::schemaVersion()); // each step once
    Warden::SqlConnections::releaseForCurrentThread(url);
}

void tst_SqlMigrations::newerSchemaIsRefused()
{
    WARDEN_FRESH_URL(url, m_dir);
    QVERIFY(Warden::Database::open(url).isOk());
    const bool pg = backend == QLatin1String("postgresql");
    QVERIFY(run(url, QStringLiteral("INSERT INTO warden_schema_version (version, applied_at, "
                                    "applied_by) VALUES (%1, %2, 'warden 99.0.0')")
                         .arg(Warden::Database::schemaVersion() + 1)
                         .arg(pg ? QStringLiteral("now()") : QStringLiteral("0"))));
    Warden::SqlConnections::releaseForCurrentThread(url);
    const auto db = Warden::Database::open(url);
    QVERIFY(!db.isOk());
    qInfo("%s", qPrintable(db.errorString()));
    QVERIFY2(db.errorString().contains(QLatin1String("newer Warden")),
             qPrintable(db.errorString()));
    QVERIFY(db.errorString().contains(QString::number(Warden::Database::schemaVersion() + 1)));
}

void tst_SqlMigrations::olderSchemaIsUpgraded()
{
    WARDEN_FRESH_URL(url, m_dir);
    QVERIFY(Warden::Database::open(url).isOk());
    // Turn the database back into a version 1 one, with data in it.
    const bool pg = backend == QLatin1String("postgresql");
    QVERIFY(run(
        url,
        QStringLiteral("INSERT INTO warden_leases (name, holder, token) VALUES ('kept', '', 41)")));
    for (const char *index : {"warden_runs_worker", "warden_runs_finished", "warden_log_worker",
                              "warden_log_time", "warden_audit_time", "warden_runs_run_id",
                              "warden_runs_running", "warden_log_run", "warden_runs_schedule"})
        QVERIFY(run(url, QStringLiteral("DROP INDEX %1").arg(QLatin1String(index))));
    if (pg) {
        QVERIFY(run(url, QStringLiteral("DROP TRIGGER warden_leases_released ON warden_leases")));
        QVERIFY(run(
            url, QStringLiteral("DROP TRIGGER warden_settings_changed ON warden_worker_settings")));
    }
    // Version 1 allowed one run id twice; version 3 keeps one row of it.
    for (int i = 0; i < 2; ++i)
        QVERIFY(run(url, QStringLiteral("INSERT INTO warden_runs (run_id, worker, node, outcome) "
                                        "VALUES ('twice', 'w', 'n', 'succeeded')")));
    // Version 4 names what started a run; version 1 knew only "manual".
    QVERIFY(run(url, QStringLiteral("ALTER TABLE warden_runs DROP COLUMN run_trigger")));
    QVERIFY(run(url, QStringLiteral("ALTER TABLE warden_nodes DROP COLUMN dead_after_ms")));
    QVERIFY(run(url, QStringLiteral("INSERT INTO warden_runs (run_id, worker, node, outcome, "
                                    "manual) VALUES ('by-hand', 'w', 'n', 'succeeded', %1)")
                         .arg(pg ? QStringLiteral("true") : QStringLiteral("1"))));
    QVERIFY(run(url, QStringLiteral("DELETE FROM warden_schema_version WHERE version > 1")));
    QCOMPARE(versionOf(url), 1);
    Warden::SqlConnections::releaseForCurrentThread(url);

    auto db = Warden::Database::open(url);
    QVERIFY2(db.isOk(), qPrintable(db.errorString()));
    QCOMPARE(versionOf(url), Warden::Database::schemaVersion());
    QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
    QVERIFY(
        q.exec(pg ? QStringLiteral(
                        "SELECT count(*) FROM pg_indexes WHERE indexname = 'warden_runs_worker' "
                        "AND schemaname = current_schema()")
                  : QStringLiteral(
                        "SELECT count(*) FROM sqlite_master WHERE name = 'warden_runs_worker'")));
    QVERIFY(q.next());
    QCOMPARE(q.value(0).toInt(), 1);
    QVERIFY(q.exec(QStringLiteral("SELECT count(*) FROM warden_runs WHERE run_id = 'twice'")));
    QVERIFY(q.next());
    QCOMPARE(q.value(0).toInt(), 1);
    QVERIFY(q.exec(QStringLiteral("SELECT run_id, run_trigger FROM warden_runs ORDER BY run_id")));
    QVERIFY(q.next());
    QCOMPARE(q.value(1).toString(), QStringLiteral("run-now"));
    QVERIFY(q.next());
    QCOMPARE(q.value(1).toString(), QStringLiteral("schedule"));
    q = QSqlQuery();
    // The data survived, and tokens go on from where they were.
    const auto attempt = db.value().lockManager()->tryAcquire(
        QStringLiteral("kept"), QStringLiteral("a"), std::chrono::seconds(5));
    QCOMPARE(attempt.lease.fencingToken, 42);
    Warden::SqlConnections::releaseForCurrentThread(url);
}

void tst_SqlMigrations::withoutMigrationsNeedsCurrentSchema()
{
    WARDEN_FRESH_URL(url, m_dir);
    Warden::DatabaseOptions options;
    options.isMigrating = false;
    const auto refused = Warden::Database::open(url, options);
    QVERIFY(!refused.isOk());
    QVERIFY2(refused.errorString().contains(QLatin1String("migrations are turned off")),
             qPrintable(refused.errorString()));
    QVERIFY(Warden::Database::open(url).isOk());
    QVERIFY(Warden::Database::open(url, options).isOk());
}

QTEST_GUILESS_MAIN(tst_SqlMigrations)
#include "tst_sqlmigrations.moc"
