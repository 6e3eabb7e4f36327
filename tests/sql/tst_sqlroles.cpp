// The least-privilege roles of sql/roles.sql on PostgreSQL: the read-only role can see
// everything and change nothing; the service and admin roles can do their part only.

#include "sqltestsupport.h"

#include <warden/sql/database.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QFile>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

using namespace std::chrono;

class tst_SqlRoles : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void readOnlyRoleChangesNothing();
    void serviceRole();
    void adminRole();
    void cleanupTestCase();

private:
    Warden::Database login(const QString &role);
    QTemporaryDir m_dir;
    QString m_url;
    QStringList m_logins;
};

static bool exec(const QString &url, const QString &sql, QString *error = nullptr)
{
    QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
    if (q.exec(sql))
        return true;
    if (error)
        *error = q.lastError().text();
    return false;
}

void tst_SqlRoles::initTestCase()
{
    m_url = SqlTest::freshUrl(QStringLiteral("postgresql"), m_dir);
    if (m_url.isEmpty()) {
        if (SqlTest::isCi())
            QFAIL(WARDEN_PG_MISSING_TEXT);
        QSKIP("roles are PostgreSQL's (SQLite has none); " WARDEN_PG_MISSING_TEXT);
    }
    auto db = Warden::Database::open(m_url);
    QVERIFY2(db.isOk(), qPrintable(db.errorString()));
    // Some data to read.
    auto locks = db.value().lockManager();
    QCOMPARE(locks->tryAcquire(QStringLiteral("l"), QStringLiteral("owner"), seconds(60)).status,
             Warden::LockManager::Status::Acquired);
    QVERIFY(
        db.value().store()->requestTrigger(QStringLiteral("w"), QStringLiteral("owner")).isOk());
    QFile file(QStringLiteral(WARDEN_ROLES_SQL));
    QVERIFY(file.open(QIODevice::ReadOnly));
    QString error;
    QVERIFY2(exec(m_url, QString::fromUtf8(file.readAll()), &error), qPrintable(error));
}

Warden::Database tst_SqlRoles::login(const QString &group)
{
    const QString role = QStringLiteral("%1_%2").arg(group, SqlTest::uniqueSuffix());
    const QString password = QStringLiteral("pw%1").arg(SqlTest::uniqueSuffix());
    QString error;
    // Identifiers are ours; the password goes in as a literal of letters and digits only.
    if (!exec(m_url,
              QStringLiteral("CREATE ROLE %1 LOGIN PASSWORD '%2' IN ROLE %3")
                  .arg(role, password, group),
              &error))
        qFatal("%s", qPrintable(error));
    m_logins << role;
    qputenv("WARDEN_TEST_ROLE_PASSWORD", password.toUtf8());
    QString url = m_url;
    url.replace(QStringLiteral("//warden_test@"), QStringLiteral("//%1@").arg(role));
    Warden::DatabaseOptions options;
    options.isMigrating = false; // only the owner changes the schema
    options.passwordEnvironmentVariable = QStringLiteral("WARDEN_TEST_ROLE_PASSWORD");
    auto db = Warden::Database::open(url, options);
    if (!db)
        qFatal("%s", qPrintable(db.errorString()));
    return db.value();
}

void tst_SqlRoles::readOnlyRoleChangesNothing()
{
    const Warden::Database db = login(QStringLiteral("warden_readonly"));
    auto locks = db.lockManager();
    auto store = db.store();
    // It sees everything...
    const auto leases = locks->leases();
    QVERIFY2(leases.isOk(), qPrintable(leases.errorString()));
    QCOMPARE(leases.value().size(), 1);
    QVERIFY(store->workerSettings().isOk());
    QVERIFY(store->runs(Warden::RunQuery()).isOk());
    QVERIFY(store->logLines(Warden::LogQuery()).isOk());
    QVERIFY(store->auditTrail(10).isOk());
    QVERIFY(store->nodes().isOk());
    // ... and changes nothing.
    const auto attempt = locks->tryAcquire(QStringLiteral("l2"), QStringLiteral("ro"), seconds(5));
    QCOMPARE(attempt.status, Warden::LockManager::Status::Error);
    QVERIFY2(attempt.error.contains(QLatin1String("permission denied")), qPrintable(attempt.error));
    QString error;
    QVERIFY(!locks->forceRelease(QStringLiteral("l"), &error));
    QVERIFY2(error.contains(QLatin1String("permission denied")), qPrintable(error));
    Warden::WorkerSettings settings;
    settings.worker = QStringLiteral("w");
    settings.enabled = false;
    QVERIFY(!store->setWorkerSettings(settings, &error));
    QVERIFY2(error.contains(QLatin1String("permission denied")), qPrintable(error));
    QVERIFY(!store->requestTrigger(QStringLiteral("w"), QStringLiteral("ro")).isOk());
    Warden::AuditEntry entry;
    entry.action = QStringLiteral("disable");
    QVERIFY(!store->recordAudit(entry, &error));
    // Queued writes are refused by the database too: nothing reaches the tables.
    Warden::RunRecord run;
    run.runId = QStringLiteral("r");
    run.worker = QStringLiteral("w");
    run.node = QStringLiteral("n");
    store->recordRun(run);
    QVERIFY(!store->flush(milliseconds(1000)));
    QVERIFY2(store->statistics().lastError.contains(QLatin1String("permission denied")),
             qPrintable(store->statistics().lastError));
    // The owner still sees the lease held by its holder, and no run.
    const auto after = Warden::Database::open(m_url);
    QVERIFY(after.isOk());
    QCOMPARE(after.value().lockManager()->leases().value().first().holder, QStringLiteral("owner"));
    QCOMPARE(after.value().store()->runs(Warden::RunQuery()).value().size(), 0);
}

void tst_SqlRoles::serviceRole()
{
    const Warden::Database db = login(QStringLiteral("warden_service"));
    auto locks = db.lockManager();
    auto store = db.store();
    const auto attempt =
        locks->tryAcquire(QStringLiteral("svc"), QStringLiteral("node"), seconds(5));
    QVERIFY2(attempt.status == Warden::LockManager::Status::Acquired, qPrintable(attempt.error));
    QCOMPARE(locks->renew(attempt.lease, seconds(5)).status, Warden::LockManager::Status::Acquired);
    QVERIFY(locks->release(attempt.lease));
    Warden::RunRecord run;
    run.runId = QStringLiteral("svc-run");
    run.worker = QStringLiteral("w");
    run.node = QStringLiteral("node");
    store->recordRun(run);
    Warden::NodeInfo node;
    node.id = QStringLiteral("node");
    store->publishNode(node);
    QVERIFY2(store->flush(seconds(10)), qPrintable(store->statistics().lastError));
    QVERIFY(store->enforceRetention().isOk());
    // It cannot change what admins decide.
    Warden::WorkerSettings settings;
    settings.worker = QStringLiteral("w");
    QString error;
    QVERIFY(!store->setWorkerSettings(settings, &error));
    QVERIFY2(error.contains(QLatin1String("permission denied")), qPrintable(error));
}

void tst_SqlRoles::adminRole()
{
    const Warden::Database db = login(QStringLiteral("warden_admin"));
    auto store = db.store();
    Warden::WorkerSettings settings;
    settings.worker = QStringLiteral("w");
    settings.enabled = false;
    QString error;
    QVERIFY2(store->setWorkerSettings(settings, &error), qPrintable(error));
    QVERIFY(store->requestTrigger(QStringLiteral("w"), QStringLiteral("admin")).isOk());
    Warden::AuditEntry entry;
    entry.action = QStringLiteral("disable");
    entry.target = QStringLiteral("w");
    QVERIFY2(store->recordAudit(entry, &error), qPrintable(error));
    QVERIFY2(db.lockManager()->forceRelease(QStringLiteral("l"), &error), qPrintable(error));
}

void tst_SqlRoles::cleanupTestCase()
{
    Warden::SqlConnections::releaseForCurrentThread(m_url);
    for (const QString &role : std::as_const(m_logins))
        exec(m_url, QStringLiteral("DROP ROLE IF EXISTS %1").arg(role));
}

QTEST_GUILESS_MAIN(tst_SqlRoles)
#include "tst_sqlroles.moc"
