#include "sqltestsupport.h"

#include <warden/sql/database.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqlstore.h>

#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

#include <thread>

using namespace std::chrono;

class tst_SqlStore : public QObject
{
    Q_OBJECT

private slots:
    void nodesAndStatuses_data() { SqlTest::addBackendRows(); }
    void nodesAndStatuses();
    void runs_data() { SqlTest::addBackendRows(); }
    void runs();
    void logLines_data() { SqlTest::addBackendRows(); }
    void logLines();
    void settingsAndTriggers_data() { SqlTest::addBackendRows(); }
    void settingsAndTriggers();
    void settingsReachOtherNodes_data() { SqlTest::addBackendRows(); }
    void settingsReachOtherNodes();
    void audit_data() { SqlTest::addBackendRows(); }
    void audit();
    void retention_data() { SqlTest::addBackendRows(); }
    void retention();
    void unreachableDatabaseQueuesBounded_data() { SqlTest::addBackendRows(); }
    void unreachableDatabaseQueuesBounded();
    void writesNeverBlock_data() { SqlTest::addBackendRows(); }
    void writesNeverBlock();
    void perThreadConnections_data() { SqlTest::addBackendRows(); }
    void perThreadConnections();

private:
    QTemporaryDir m_dir;
};

#define OPEN_STORE(var, url, options)                                                              \
    auto var##Db = Warden::Database::open(url, options);                                           \
    QVERIFY2(var##Db.isOk(), qPrintable(var##Db.errorString()));                                   \
    std::shared_ptr<Warden::SqlStore> var = var##Db.value().store()

static const QString hostile = QStringLiteral("it's \"odd\"; DROP TABLE warden_runs; --");

static Warden::RunRecord makeRun(const QString &worker, int i, const QDateTime &at)
{
    Warden::RunRecord run;
    run.runId = QStringLiteral("run-%1-%2").arg(worker).arg(i);
    run.worker = worker;
    run.node = QStringLiteral("node-a");
    run.scheduledAt = at;
    run.startedAt = at.addMSecs(5);
    run.finishedAt = at.addMSecs(25);
    run.outcome = Warden::RunOutcome::Succeeded;
    run.fencingToken = i;
    return run;
}

void tst_SqlStore::nodesAndStatuses()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    Warden::NodeInfo node;
    node.id = QStringLiteral("node-a");
    node.hostName = QStringLiteral("host-a");
    node.pid = 4242;
    node.version = QStringLiteral("0.1.0");
    node.startedAt = QDateTime::fromMSecsSinceEpoch(1700000000123, Qt::UTC);
    node.heartbeatIntervalMs = 1000;
    store->publishNode(node);
    // Statuses coalesce per (worker, node): only the latest is written.
    for (int i = 1; i <= 50; ++i) {
        Warden::WorkerStatus status;
        status.worker = hostile;
        status.node = node.id;
        status.kind = QStringLiteral("periodic");
        status.state = Warden::WorkerState::Running;
        status.lockMode = Warden::LockMode::Leader;
        status.runCount = i;
        status.lastDurationMs = 10 * i;
        status.nextRunAt = QDateTime::fromMSecsSinceEpoch(1700000000000 + i, Qt::UTC);
        store->publishWorkerStatus(status);
    }
    Warden::WorkerStatus other;
    other.worker = QStringLiteral("other");
    other.node = node.id;
    store->publishWorkerStatus(other);
    QVERIFY(store->flush(seconds(10)));

    const auto nodes = store->nodes();
    QVERIFY2(nodes.isOk(), qPrintable(nodes.errorString()));
    QCOMPARE(nodes.value().size(), 1);
    const Warden::NodeInfo &n = nodes.value().first();
    QCOMPARE(n.hostName, node.hostName);
    QCOMPARE(n.pid, node.pid);
    QCOMPARE(n.startedAt, node.startedAt);
    QVERIFY(qAbs(n.heartbeatAt.msecsTo(QDateTime::currentDateTimeUtc())) < 60000);
    QVERIFY(qAbs(n.clockOffsetMs) < 5000);

    const auto statuses = store->workerStatuses();
    QVERIFY2(statuses.isOk(), qPrintable(statuses.errorString()));
    QCOMPARE(statuses.value().size(), 2);
    const auto &w = statuses.value().at(statuses.value().at(0).worker == hostile ? 0 : 1);
    QCOMPARE(w.worker, hostile);
    QCOMPARE(w.runCount, 50);
    QCOMPARE(w.lastDurationMs, 500);
    QCOMPARE(w.state, Warden::WorkerState::Running);
    QCOMPARE(w.lockMode, Warden::LockMode::Leader);
    QCOMPARE(w.nextRunAt, QDateTime::fromMSecsSinceEpoch(1700000000050, Qt::UTC));
    QVERIFY(store->statistics().written < 50); // coalesced

    store->removeWorkerStatus(node.id, hostile);
    store->removeNode(node.id);
    QVERIFY(store->flush(seconds(10)));
    QCOMPARE(store->workerStatuses().value().size(), 1);
    QCOMPARE(store->nodes().value().size(), 0);
}

void tst_SqlStore::runs()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    const QDateTime base = QDateTime::fromMSecsSinceEpoch(1700000000000, Qt::UTC);
    for (int i = 1; i <= 10; ++i)
        store->recordRun(makeRun(hostile, i, base.addSecs(i)));
    Warden::RunRecord manual = makeRun(hostile, 11, base.addSecs(11));
    manual.trigger = Warden::RunTrigger::RunNow;
    store->recordRun(manual);
    Warden::RunRecord skipped = makeRun(hostile, 12, base.addSecs(12));
    skipped.outcome = Warden::RunOutcome::Skipped;
    skipped.error = QStringLiteral("lock held");
    store->recordRun(skipped);
    store->recordRun(makeRun(QStringLiteral("other"), 1, base));
    QVERIFY(store->flush(seconds(10)));

    Warden::RunQuery query;
    query.worker = hostile;
    query.limit = 5;
    const auto runs = store->runs(query);
    QVERIFY2(runs.isOk(), qPrintable(runs.errorString()));
    QCOMPARE(runs.value().size(), 5);
    QCOMPARE(runs.value().first().runId, skipped.runId); // newest first
    QCOMPARE(runs.value().first().outcome, Warden::RunOutcome::Skipped);
    QCOMPARE(runs.value().first().error, skipped.error);
    QCOMPARE(runs.value().at(1).trigger, Warden::RunTrigger::RunNow);
    QCOMPARE(runs.value().at(2).startedAt, base.addSecs(10).addMSecs(5));
    QCOMPARE(runs.value().at(2).fencingToken, 10);

    query.limit = 100;
    query.since = base.addSecs(9);
    QCOMPARE(store->runs(query).value().size(), 4);
    query = Warden::RunQuery();
    QCOMPARE(store->runs(query).value().size(), 13);

    const auto last = store->lastScheduledRun(hostile);
    QVERIFY(last.isOk());
    QVERIFY(last.value().has_value());
    QCOMPARE(last.value()->runId, makeRun(hostile, 10, base).runId);
    QVERIFY(!store->lastScheduledRun(QStringLiteral("never")).value().has_value());
}

void tst_SqlStore::logLines()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    const QtMsgType levels[] = {QtDebugMsg, QtInfoMsg, QtWarningMsg, QtCriticalMsg};
    for (int i = 0; i < 40; ++i) {
        Warden::LogLine line;
        line.time = QDateTime::currentDateTimeUtc();
        line.node = QStringLiteral("n%1").arg(i % 2);
        line.worker = i % 4 == 0 ? hostile : QStringLiteral("w");
        line.level = levels[i % 4];
        line.category = QStringLiteral("warden.worker");
        line.message = QStringLiteral("line %1 %2")
                           .arg(i)
                           .arg(i % 5 == 0 ? QStringLiteral("NEEDLE 100%_") : QString());
        store->appendLog(line);
    }
    QVERIFY(store->flush(seconds(10)));
    Warden::LogQuery query;
    query.limit = 10;
    auto lines = store->logLines(query);
    QVERIFY2(lines.isOk(), qPrintable(lines.errorString()));
    QCOMPARE(lines.value().size(), 10);
    QVERIFY(lines.value().first().id < lines.value().last().id); // oldest first
    QVERIFY(lines.value().last().line.message.startsWith(QLatin1String("line 39")));

    query = Warden::LogQuery();
    query.text = QStringLiteral("needle 100%_");
    QCOMPARE(store->logLines(query).value().size(), 8);
    query = Warden::LogQuery();
    query.minimumLevel = QtWarningMsg;
    QCOMPARE(store->logLines(query).value().size(), 20);
    query = Warden::LogQuery();
    query.worker = hostile;
    lines = store->logLines(query);
    QCOMPARE(lines.value().size(), 10);
    QCOMPARE(lines.value().first().line.level, QtDebugMsg);
    query = Warden::LogQuery();
    query.afterId = lines.value().at(5).id;
    query.node = QStringLiteral("n1");
    const auto following = store->logLines(query);
    for (const auto &stored : following.value()) {
        QVERIFY(stored.id > query.afterId);
        QCOMPARE(stored.line.node, QStringLiteral("n1"));
    }
}

void tst_SqlStore::settingsAndTriggers()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    QCOMPARE(store->workerSettings().value().size(), 0);
    const auto first = store->requestTrigger(hostile, QStringLiteral("alice"));
    QVERIFY2(first.isOk(), qPrintable(first.errorString()));
    QCOMPARE(first.value(), 1);
    QCOMPARE(store->requestTrigger(hostile, QStringLiteral("alice")).value(), 2);

    Warden::WorkerSettings settings;
    settings.worker = hostile;
    settings.enabled = false;
    settings.pausedUntil = QDateTime::fromMSecsSinceEpoch(1900000000000, Qt::UTC);
    settings.reason = QStringLiteral("maintenance'; --");
    settings.changedBy = QStringLiteral("bob");
    QString error;
    QVERIFY2(store->setWorkerSettings(settings, &error), qPrintable(error));
    const auto all = store->workerSettings();
    QVERIFY(all.isOk());
    QCOMPARE(all.value().size(), 1);
    const auto &s = all.value().first();
    QCOMPARE(s.worker, hostile);
    QCOMPARE(s.enabled, false);
    QCOMPARE(s.pausedUntil, settings.pausedUntil);
    QCOMPARE(s.reason, settings.reason);
    QCOMPARE(s.changedBy, QStringLiteral("bob"));
    QCOMPARE(s.triggerSequence, 2); // kept
    QVERIFY(qAbs(s.changedAt.msecsTo(QDateTime::currentDateTimeUtc())) < 60000);
    settings.enabled = true;
    settings.pausedUntil = QDateTime();
    QVERIFY(store->setWorkerSettings(settings));
    QCOMPARE(store->workerSettings().value().first().pausedUntil, QDateTime());
    QCOMPARE(store->requestTrigger(hostile, QStringLiteral("carol")).value(), 3);
}

void tst_SqlStore::settingsReachOtherNodes()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(admin, url, Warden::DatabaseOptions());
    OPEN_STORE(node, url, Warden::DatabaseOptions()); // another node, with its own connections
    QSignalSpy changed(node.get(), &Warden::Store::workerSettingsChanged);
    QTest::qWait(300); // the listener subscribes
    Warden::WorkerSettings settings;
    settings.worker = QStringLiteral("job");
    settings.enabled = false;
    QElapsedTimer timer;
    timer.start();
    QVERIFY(admin->setWorkerSettings(settings));
    if (backend == QLatin1String("postgresql")) {
        // NOTIFY: at once.
        QTRY_VERIFY_WITH_TIMEOUT(!changed.isEmpty(), 1000);
    }
    // Every backend: a poll (what hosts do every second) sees it.
    QTRY_VERIFY_WITH_TIMEOUT(node->workerSettings().value().size() == 1 &&
                                 !node->workerSettings().value().first().enabled,
                             1000);
    qInfo("%s: the change reached the other node after %lld ms", qPrintable(backend),
          timer.elapsed());
    // The poll is cheap: one small table.
    QElapsedTimer pollTimer;
    pollTimer.start();
    for (int i = 0; i < 100; ++i)
        QVERIFY(node->workerSettings().isOk());
    qInfo("%s: workerSettings() takes %.3f ms", qPrintable(backend),
          pollTimer.nsecsElapsed() / 1e8);
}

void tst_SqlStore::audit()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    for (int i = 0; i < 5; ++i) {
        Warden::AuditEntry entry;
        entry.user = QStringLiteral("alice");
        entry.origin = QStringLiteral("warden-console");
        entry.action = QStringLiteral("disable");
        entry.target = hostile;
        entry.reason = QStringLiteral("reason %1").arg(i);
        QString error;
        QVERIFY2(store->recordAudit(entry, &error), qPrintable(error));
    }
    const auto trail = store->auditTrail(3);
    QVERIFY2(trail.isOk(), qPrintable(trail.errorString()));
    QCOMPARE(trail.value().size(), 3);
    QCOMPARE(trail.value().first().reason, QStringLiteral("reason 4")); // newest first
    QCOMPARE(trail.value().first().target, hostile);
    QVERIFY(trail.value().first().time.isValid());
}

void tst_SqlStore::retention()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (int i = 0; i < 30; ++i)
        store->recordRun(makeRun(QStringLiteral("old"), i, now.addDays(-3)));
    for (int i = 0; i < 40; ++i)
        store->recordRun(makeRun(QStringLiteral("new"), i, now.addSecs(-i)));
    for (int i = 0; i < 30; ++i) {
        Warden::LogLine line;
        line.time = i < 10 ? now.addDays(-10) : now;
        line.message = QStringLiteral("l%1").arg(i);
        store->appendLog(line);
    }
    QVERIFY(store->flush(seconds(10)));
    Warden::RetentionPolicy policy;
    policy.maximumRunAge = hours(24);
    policy.maximumRuns = 25;
    policy.maximumLogAge = hours(24 * 7);
    policy.maximumLogLines = 0; // no count limit
    policy.interval = milliseconds(200);
    store->setRetention(policy);
    // Enforced in the background.
    Warden::RunQuery query;
    query.limit = 1000;
    QTRY_COMPARE_WITH_TIMEOUT(store->runs(query).value().size(), 25, 5000);
    const auto kept = store->runs(query);
    for (const auto &run : kept.value())
        QCOMPARE(run.worker, QStringLiteral("new"));
    Warden::LogQuery logs;
    logs.limit = 1000;
    QTRY_COMPARE_WITH_TIMEOUT(store->logLines(logs).value().size(), 20, 5000);
    policy.maximumLogLines = 5;
    store->setRetention(policy);
    const auto removed = store->enforceRetention();
    QVERIFY2(removed.isOk(), qPrintable(removed.errorString()));
    QCOMPARE(store->logLines(logs).value().size(), 5);
    QCOMPARE(store->logLines(logs).value().last().line.message, QStringLiteral("l29"));

    // A backlog larger than one batch (1,000 rows) is trimmed in batches, in the background;
    // a run still going is never trimmed.
    Warden::RunRecord going = makeRun(QStringLiteral("going"), 0, now.addSecs(-60));
    going.outcome = Warden::RunOutcome::Running;
    going.finishedAt = QDateTime();
    store->recordRun(going);
    for (int i = 0; i < 2500; ++i)
        store->recordRun(makeRun(QStringLiteral("many"), i, now));
    QVERIFY(store->flush(seconds(30)));
    policy.maximumRuns = 100;
    policy.interval = milliseconds(100);
    store->setRetention(policy);
    query.limit = 5000;
    QTRY_COMPARE_WITH_TIMEOUT(store->runs(query).value().size(), 101, 20000);
    bool keptGoing = false;
    const auto trimmed = store->runs(query);
    for (const auto &run : trimmed.value())
        keptGoing = keptGoing || run.worker == QStringLiteral("going");
    QVERIFY(keptGoing);
}

void tst_SqlStore::unreachableDatabaseQueuesBounded()
{
    WARDEN_FRESH_URL(url, m_dir);
    // Short timeouts, so that a locked table looks like an unreachable database at once.
    const QString shortUrl =
        url + (url.contains(QLatin1Char('?')) ? QLatin1Char('&') : QLatin1Char('?')) +
        (backend == QLatin1String("sqlite") ? QStringLiteral("busy_timeout=100")
                                            : QStringLiteral("statement_timeout=200"));
    Warden::DatabaseOptions options;
    options.maximumQueuedRuns = 50;
    options.maximumQueuedLogLines = 30;
    OPEN_STORE(store, shortUrl, options);

    // Block every writer: an exclusive lock held by another connection of this thread.
    QString error;
    QSqlDatabase blocker = Warden::SqlConnections::forCurrentThread(url, &error);
    QVERIFY2(blocker.isOpen(), qPrintable(error));
    {
        QSqlQuery q(blocker);
        if (backend == QLatin1String("sqlite")) {
            QVERIFY2(q.exec(QStringLiteral("BEGIN EXCLUSIVE")), qPrintable(q.lastError().text()));
        } else {
            QVERIFY(q.exec(QStringLiteral("BEGIN")));
            QVERIFY2(q.exec(QStringLiteral(
                         "LOCK TABLE warden_runs, warden_log IN ACCESS EXCLUSIVE MODE")),
                     qPrintable(q.lastError().text()));
        }
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (int i = 0; i < 80; ++i)
        store->recordRun(makeRun(QStringLiteral("w"), i, now));
    for (int i = 0; i < 50; ++i) {
        Warden::LogLine line;
        line.message = QStringLiteral("l%1").arg(i);
        store->appendLog(line);
    }
    QVERIFY(!store->flush(milliseconds(1500)));
    const Warden::StoreStatistics stats = store->statistics();
    QVERIFY(!stats.isConnected);
    QVERIFY(!stats.lastError.isEmpty());
    QCOMPARE(stats.droppedRuns, 30);
    QCOMPARE(stats.droppedLogLines, 20);
    QCOMPARE(stats.queued, 80);

    {
        QSqlQuery q(blocker);
        QVERIFY(q.exec(backend == QLatin1String("sqlite") ? QStringLiteral("ROLLBACK")
                                                          : QStringLiteral("COMMIT")));
    }
    blocker = QSqlDatabase();
    Warden::SqlConnections::releaseForCurrentThread(url);
    QVERIFY(store->flush(seconds(10)));
    QVERIFY(store->statistics().isConnected);
    QCOMPARE(store->statistics().queued, 0);
    Warden::RunQuery query;
    query.limit = 1000;
    QCOMPARE(store->runs(query).value().size(), 50);
}

void tst_SqlStore::writesNeverBlock()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_STORE(store, url, Warden::DatabaseOptions());
    // 20,000 run records from two threads: the calls only queue.
    QElapsedTimer timer;
    timer.start();
    qint64 slowest = 0;
    std::atomic<qint64> slowestOther{0};
    std::thread other([&] {
        for (int i = 0; i < 10000; ++i) {
            QElapsedTimer t;
            t.start();
            store->recordRun(makeRun(QStringLiteral("b"), i, QDateTime::currentDateTimeUtc()));
            slowestOther = std::max(slowestOther.load(), t.nsecsElapsed());
        }
    });
    for (int i = 0; i < 10000; ++i) {
        QElapsedTimer t;
        t.start();
        store->recordRun(makeRun(QStringLiteral("a"), i, QDateTime::currentDateTimeUtc()));
        slowest = std::max(slowest, t.nsecsElapsed());
    }
    other.join();
    const qint64 queuedMs = timer.elapsed();
    QVERIFY(store->flush(seconds(60)));
    qInfo("%s: 20,000 runs queued in %lld ms (slowest call %.3f ms), written after %lld ms",
          qPrintable(backend), queuedMs, std::max(slowest, slowestOther.load()) / 1e6,
          timer.elapsed());
    QVERIFY(std::max(slowest, slowestOther.load()) < 50 * 1000 * 1000);
    Warden::RunQuery query;
    query.limit = 100000;
    QCOMPARE(store->runs(query).value().size(), 20000);
}

void tst_SqlStore::perThreadConnections()
{
    WARDEN_FRESH_URL(url, m_dir);
    QVERIFY(Warden::Database::open(url).isOk());
    QString error;
    QSqlDatabase mine = Warden::SqlConnections::forCurrentThread(url, &error);
    QVERIFY2(mine.isOpen(), qPrintable(error));
    QString otherName;
    std::thread([&] {
        QSqlDatabase theirs = Warden::SqlConnections::forCurrentThread(url, &error);
        otherName = theirs.connectionName();
        QSqlQuery q(theirs);
        QVERIFY(q.exec(QStringLiteral("SELECT count(*) FROM warden_leases")));
    }).join();
    QVERIFY(!otherName.isEmpty());
    QVERIFY(otherName != mine.connectionName());
    // The thread ended: its connection was removed.
    QVERIFY(!QSqlDatabase::contains(otherName));
    QCOMPARE(Warden::SqlConnections::forCurrentThread(url).connectionName(), mine.connectionName());
    const QString name = mine.connectionName();
    mine = QSqlDatabase();
    Warden::SqlConnections::releaseForCurrentThread(url);
    QVERIFY(!QSqlDatabase::contains(name));
}

QTEST_GUILESS_MAIN(tst_SqlStore)
#include "tst_sqlstore.moc"
