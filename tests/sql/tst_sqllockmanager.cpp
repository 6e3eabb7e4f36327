#include "sqltestsupport.h"

#include <warden/sql/database.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QProcess>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QSignalSpy>
#include <QtTest/QTest>

using namespace std::chrono;
using Warden::LockManager;
using Status = Warden::LockManager::Status;

class tst_SqlLockManager : public QObject
{
    Q_OBJECT

private slots:
    void acquireBusyRelease_data() { SqlTest::addBackendRows(); }
    void acquireBusyRelease();
    void renewAndExpiry_data() { SqlTest::addBackendRows(); }
    void renewAndExpiry();
    void tokensGrowOnEveryTakeover_data() { SqlTest::addBackendRows(); }
    void tokensGrowOnEveryTakeover();
    void forceRelease_data() { SqlTest::addBackendRows(); }
    void forceRelease();
    void hostileNames_data() { SqlTest::addBackendRows(); }
    void hostileNames();
    void releaseWakesOtherNodes_data() { SqlTest::addBackendRows(); }
    void releaseWakesOtherNodes();
    void concurrentAcquireHasOneWinner_data() { SqlTest::addBackendRows(); }
    void concurrentAcquireHasOneWinner();
    void skewedNodeClock_data() { SqlTest::addBackendRows(); }
    void skewedNodeClock();
    void startRowWithTheLease_data() { SqlTest::addBackendRows(); }
    void startRowWithTheLease();

private:
    QTemporaryDir m_dir;
};

#define OPEN_LOCKS(var, url)                                                                       \
    auto var##Db = Warden::Database::open(url);                                                    \
    QVERIFY2(var##Db.isOk(), qPrintable(var##Db.errorString()));                                   \
    std::shared_ptr<Warden::SqlLockManager> var = var##Db.value().lockManager()

void tst_SqlLockManager::acquireBusyRelease()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    const QString name = QStringLiteral("report");
    const auto a = locks->tryAcquire(name, QStringLiteral("node-a"), seconds(30));
    QCOMPARE(a.status, Status::Acquired);
    QCOMPARE(a.lease.fencingToken, 1);
    QCOMPARE(a.lease.holder, QStringLiteral("node-a"));
    QVERIFY(a.lease.expiresAt > a.lease.acquiredAt);
    // Not re-entrant: the holder asking again is refused.
    const auto again = locks->tryAcquire(name, QStringLiteral("node-a"), seconds(30));
    QCOMPARE(again.status, Status::Busy);
    const auto b = locks->tryAcquire(name, QStringLiteral("node-b"), seconds(30));
    QCOMPARE(b.status, Status::Busy);
    QCOMPARE(b.lease.holder, QStringLiteral("node-a"));
    QCOMPARE(b.lease.fencingToken, 1);

    // Releasing someone else's lease (wrong token) changes nothing.
    Warden::Lease forged = a.lease;
    forged.fencingToken = 7;
    QVERIFY(locks->release(forged));
    QCOMPARE(locks->tryAcquire(name, QStringLiteral("node-b"), seconds(30)).status, Status::Busy);

    QString error;
    QVERIFY2(locks->release(a.lease, &error), qPrintable(error));
    const auto taken = locks->tryAcquire(name, QStringLiteral("node-b"), seconds(30));
    QCOMPARE(taken.status, Status::Acquired);
    QCOMPARE(taken.lease.fencingToken, 2);
    // The old holder's renew is refused.
    QCOMPARE(locks->renew(a.lease, seconds(30)).status, Status::Lost);

    const auto all = locks->leases();
    QVERIFY2(all.isOk(), qPrintable(all.errorString()));
    QCOMPARE(all.value().size(), 1);
    QCOMPARE(all.value().first().holder, QStringLiteral("node-b"));
    QCOMPARE(all.value().first().fencingToken, 2);
}

void tst_SqlLockManager::renewAndExpiry()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    const QString name = QStringLiteral("short");
    const auto a = locks->tryAcquire(name, QStringLiteral("a"), milliseconds(400));
    QCOMPARE(a.status, Status::Acquired);
    const auto renewed = locks->renew(a.lease, milliseconds(400));
    QCOMPARE(renewed.status, Status::Acquired);
    QVERIFY(renewed.lease.expiresAt >= a.lease.expiresAt);
    QCOMPARE(renewed.lease.fencingToken, a.lease.fencingToken);
    // Once expired, another node takes it over...
    bool taken = false;
    QTRY_VERIFY_WITH_TIMEOUT(
        taken = taken || locks->tryAcquire(name, QStringLiteral("b"), seconds(30)).status ==
                             Status::Acquired,
        3000);
    // ... and the expired holder cannot renew.
    QCOMPARE(locks->renew(renewed.lease, milliseconds(400)).status, Status::Lost);

    // An expired lease is lost even if nobody took it over.
    const auto c =
        locks->tryAcquire(QStringLiteral("other"), QStringLiteral("c"), milliseconds(150));
    QCOMPARE(c.status, Status::Acquired);
    QTest::qWait(300);
    QCOMPARE(locks->renew(c.lease, seconds(1)).status, Status::Lost);
}

void tst_SqlLockManager::tokensGrowOnEveryTakeover()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    qint64 last = 0;
    for (int i = 0; i < 10; ++i) {
        const auto a =
            locks->tryAcquire(QStringLiteral("t"), QStringLiteral("h%1").arg(i % 3), seconds(30));
        QCOMPARE(a.status, Status::Acquired);
        QCOMPARE(a.lease.fencingToken, last + 1);
        last = a.lease.fencingToken;
        QVERIFY(locks->release(a.lease));
    }
}

void tst_SqlLockManager::forceRelease()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    const auto a = locks->tryAcquire(QStringLiteral("stuck"), QStringLiteral("a"), seconds(60));
    QCOMPARE(a.status, Status::Acquired);
    QString error;
    QVERIFY2(locks->forceRelease(QStringLiteral("stuck"), &error), qPrintable(error));
    QCOMPARE(locks->renew(a.lease, seconds(60)).status, Status::Lost);
    const auto b = locks->tryAcquire(QStringLiteral("stuck"), QStringLiteral("b"), seconds(60));
    QCOMPARE(b.status, Status::Acquired);
    QCOMPARE(b.lease.fencingToken, 2);
    QVERIFY(!locks->forceRelease(QStringLiteral("no-such-lock"), &error));
    QVERIFY(error.contains(QLatin1String("no lock")));
}

void tst_SqlLockManager::hostileNames()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    const QStringList names = {
        QStringLiteral("x'; DROP TABLE warden_leases; --"),
        QStringLiteral("Robert'); DELETE FROM warden_leases WHERE ('1'='1"),
        QStringLiteral("\"quoted\" name"),
        QStringLiteral("back\\slash and $1 and :name and ?"),
        QStringLiteral("émoji 🔒 ünïcode"),
    };
    for (const QString &name : names) {
        const auto a = locks->tryAcquire(name, name, seconds(30));
        QVERIFY2(a.status == Status::Acquired, qPrintable(a.error));
        QCOMPARE(a.lease.name, name);
        QCOMPARE(a.lease.holder, name);
    }
    const auto all = locks->leases();
    QVERIFY(all.isOk());
    QCOMPARE(all.value().size(), names.size());
    QStringList stored;
    for (const auto &lease : all.value())
        stored << lease.name;
    for (const QString &name : names)
        QVERIFY2(stored.contains(name), qPrintable(name));
    // Invalid names are refused before any SQL.
    for (const QString &bad :
         {QString(), QStringLiteral("tab\there"), QString(300, QLatin1Char('x'))}) {
        const auto attempt = locks->tryAcquire(bad, QStringLiteral("h"), seconds(1));
        QCOMPARE(attempt.status, Status::Error);
        QVERIFY(!attempt.error.isEmpty());
    }
}

void tst_SqlLockManager::releaseWakesOtherNodes()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(a, url);
    OPEN_LOCKS(b, url); // a second node: its own Database, connections and listener
    const bool notified = backend == QLatin1String("postgresql");
    QCOMPARE(a->isReleaseNotified(), notified);
    QSignalSpy spyA(a.get(), &LockManager::released);
    QSignalSpy spyB(b.get(), &LockManager::released);
    QTest::qWait(300); // the listeners subscribe
    const auto lease = a->tryAcquire(QStringLiteral("wake"), QStringLiteral("a"), seconds(30));
    QCOMPARE(lease.status, Status::Acquired);
    QVERIFY(a->release(lease.lease));
    QTRY_VERIFY_WITH_TIMEOUT(!spyA.isEmpty(), 1000);
    QCOMPARE(spyA.first().first().toString(), QStringLiteral("wake"));
    if (notified) {
        QTRY_VERIFY_WITH_TIMEOUT(!spyB.isEmpty(), 1000);
        QCOMPARE(spyB.first().first().toString(), QStringLiteral("wake"));
    }
}

void tst_SqlLockManager::concurrentAcquireHasOneWinner()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    // 8 threads, each with its own connection, race 30 times for one lease.
    for (int round = 0; round < 30; ++round) {
        std::atomic<int> winners{0};
        std::atomic<int> errors{0};
        std::vector<std::thread> threads;
        for (int t = 0; t < 8; ++t) {
            threads.emplace_back([&, t] {
                const auto attempt = locks->tryAcquire(QStringLiteral("race%1").arg(round),
                                                       QStringLiteral("t%1").arg(t), seconds(30));
                if (attempt.status == Status::Acquired)
                    ++winners;
                else if (attempt.status == Status::Error) {
                    ++errors;
                    qWarning("%s", qPrintable(attempt.error));
                }
            });
        }
        for (auto &thread : threads)
            thread.join();
        QCOMPARE(errors.load(), 0);
        QCOMPARE(winners.load(), 1);
    }
}

void tst_SqlLockManager::skewedNodeClock()
{
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    // A node whose wall clock is off by an hour runs the probe (LD_PRELOAD shifts what Qt
    // reads; the database's clock, SQLite's included, is untouched).
    auto probe = [&](int offsetSeconds, const QStringList &args) {
        QProcess p;
        QProcessEnvironment env = QProcessEnvironment::systemEnvironment();
        env.insert(QStringLiteral("LD_PRELOAD"), QStringLiteral(WARDEN_CLOCKSHIFT_PATH));
        env.insert(QStringLiteral("WARDEN_TEST_CLOCK_OFFSET_S"), QString::number(offsetSeconds));
        // Under AddressSanitizer the preloaded shim comes before the ASan runtime.
        env.insert(QStringLiteral("ASAN_OPTIONS"), env.value(QStringLiteral("ASAN_OPTIONS")) +
                                                       QStringLiteral(":verify_asan_link_order=0"));
        p.setProcessEnvironment(env);
        p.start(QStringLiteral(WARDEN_TESTNODE_PATH),
                QStringList{QStringLiteral("probe"), QStringLiteral("--url"), url} + args);
        p.waitForFinished(30000);
        return QString::fromUtf8(p.readAllStandardOutput());
    };
    const auto held =
        locks->tryAcquire(QStringLiteral("skew"), QStringLiteral("honest"), seconds(20));
    QCOMPARE(held.status, Status::Acquired);

    // An hour ahead: it cannot steal the valid lease.
    const QString ahead = probe(3600, {QStringLiteral("acquire"), QStringLiteral("skew"),
                                       QStringLiteral("fast"), QStringLiteral("1000")});
    QVERIFY2(ahead.contains(QLatin1String("acquire Busy")), qPrintable(ahead));
    // The probe really ran with its clock an hour ahead.
    const qint64 local =
        ahead.section(QStringLiteral("local_ms "), 1).section(QLatin1Char('\n'), 0, 0).toLongLong();
    QVERIFY2(local - QDateTime::currentMSecsSinceEpoch() > 3500 * 1000, qPrintable(ahead));

    // An hour behind: it cannot keep a lease that expired on the database's clock.
    const QString behind =
        probe(-3600, {QStringLiteral("acquire-wait-renew"), QStringLiteral("skew2"),
                      QStringLiteral("slow"), QStringLiteral("300"), QStringLiteral("700")});
    QVERIFY2(behind.contains(QLatin1String("acquire Acquired")), qPrintable(behind));
    QVERIFY2(behind.contains(QLatin1String("renew Lost")), qPrintable(behind));
    // The lease times it got are the database's, not its own.
    const qint64 acquired = behind.section(QStringLiteral("acquired_ms "), 1)
                                .section(QLatin1Char(' '), 0, 0)
                                .toLongLong();
    QVERIFY2(qAbs(acquired - QDateTime::currentMSecsSinceEpoch()) < 60 * 1000, qPrintable(behind));
    // And the honest holder still has its lease.
    QCOMPARE(locks->renew(held.lease, seconds(20)).status, Status::Acquired);
}

void tst_SqlLockManager::startRowWithTheLease()
{
    // A per-run lease and its run's row are written together or not at all, and a tick that
    // ran takes nothing.
    WARDEN_FRESH_URL(url, m_dir);
    OPEN_LOCKS(locks, url);
    using Tick = LockManager::Tick;
    auto store = locksDb.value().store();
    QVERIFY(locks->recordsRunsOf(store.get()));
    auto other = Warden::Database::open(url);
    QVERIFY(other.isOk());
    QVERIFY2(!locks->recordsRunsOf(other.value().store().get()), "another Database's store");

    auto rowsOf = [&](const QString &runId) {
        Warden::RunQuery query;
        query.runId = runId;
        const auto runs = store->runs(query);
        return runs.isOk() ? runs.value() : QList<Warden::RunRecord>();
    };
    int serial = 0;
    const QDateTime tick = QDateTime::currentDateTimeUtc();
    auto runOf = [&](const char *node, const QDateTime &scheduledAt) {
        Warden::RunRecord run;
        run.runId =
            QStringLiteral("0b7c7c8e-6d8c-4c5e-9a51-%1").arg(++serial, 12, 10, QLatin1Char('0'));
        run.worker = QStringLiteral("report");
        run.node = QLatin1String(node);
        run.scheduledAt = scheduledAt;
        run.startedAt = QDateTime::currentDateTimeUtc();
        return run;
    };
    const QString name = QStringLiteral("report");
    Warden::RunRecord run = runOf("node-a", tick);
    run.trigger = Warden::RunTrigger::CatchUp;
    const auto a =
        locks->tryAcquireForRun(name, QStringLiteral("node-a"), seconds(30), run, Tick::once());
    QCOMPARE(a.status, Status::Acquired);
    QVERIFY(a.runRecorded);
    auto rows = rowsOf(run.runId);
    QCOMPARE(rows.size(), 1);
    QCOMPARE(rows.first().outcome, Warden::RunOutcome::Running);
    QCOMPARE(rows.first().fencingToken, a.lease.fencingToken);
    QCOMPARE(rows.first().trigger, Warden::RunTrigger::CatchUp);
    QCOMPARE(rows.first().node, QStringLiteral("node-a"));
    qint64 token = a.lease.fencingToken;

    // Busy: no lease, no row.
    const Warden::RunRecord loser = runOf("node-b", tick);
    const auto b =
        locks->tryAcquireForRun(name, QStringLiteral("node-b"), seconds(30), loser, Tick::once());
    QCOMPARE(b.status, Status::Busy);
    QVERIFY(!b.runRecorded);
    QVERIFY(rowsOf(loser.runId).isEmpty());

    // The next tick on the same lease: renewed with its row.
    const Warden::RunRecord next = runOf("node-a", tick.addSecs(60));
    const auto renewed = locks->renewForRun(a.lease, seconds(30), next, Tick::once());
    QCOMPARE(renewed.status, Status::Acquired);
    QVERIFY(renewed.runRecorded);
    QCOMPARE(rowsOf(next.runId).size(), 1);
    QVERIFY(locks->release(renewed.lease));

    // A node whose tick comes late finds it run: nothing taken, and it says who ran it.
    const Warden::RunRecord late = runOf("node-b", tick.addSecs(60));
    const auto refusedTick =
        locks->tryAcquireForRun(name, QStringLiteral("node-b"), seconds(30), late, Tick::once());
    QCOMPARE(refusedTick.status, Status::Busy);
    QVERIFY(refusedTick.tickRanElsewhere);
    QCOMPARE(refusedTick.lease.holder, QStringLiteral("node-a"));
    QVERIFY2(refusedTick.error.contains(next.runId), qPrintable(refusedTick.error));
    QVERIFY(rowsOf(late.runId).isEmpty());
    // ... and so does an older tick (a clock behind); run now and continuous runs do not ask.
    const Warden::RunRecord older = runOf("node-b", tick.addSecs(-60));
    QVERIFY(
        locks->tryAcquireForRun(name, QStringLiteral("node-b"), seconds(30), older, Tick::once())
            .tickRanElsewhere);
    Warden::RunRecord byHand = runOf("node-b", tick.addSecs(60));
    byHand.trigger = Warden::RunTrigger::RunNow;
    const auto manual =
        locks->tryAcquireForRun(name, QStringLiteral("node-b"), seconds(30), byHand, Tick::once());
    QCOMPARE(manual.status, Status::Acquired);
    QCOMPARE(manual.lease.fencingToken, ++token);
    const Warden::RunRecord loop = runOf("node-b", tick);
    const auto continuous = locks->renewForRun(manual.lease, seconds(30), loop, Tick::any());
    QCOMPARE(continuous.status, Status::Acquired);
    QVERIFY(continuous.runRecorded);
    QVERIFY(locks->release(continuous.lease));

    // The row cannot be written: the lease is not taken either (its token does not move).
    {
        QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
        QVERIFY2(q.exec(QStringLiteral("ALTER TABLE warden_runs RENAME TO warden_runs_away")),
                 qPrintable(q.lastError().text()));
    }
    const Warden::RunRecord failing = runOf("node-b", tick.addSecs(120));
    const auto refused =
        locks->tryAcquireForRun(name, QStringLiteral("node-b"), seconds(30), failing, Tick::any());
    QCOMPARE(refused.status, Status::Error);
    QVERIFY2(refused.error.contains(QLatin1String("cannot record the run's start")),
             qPrintable(refused.error));
    {
        QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
        QVERIFY(q.exec(QStringLiteral("ALTER TABLE warden_runs_away RENAME TO warden_runs")));
    }
    const auto leases = locks->leases();
    QVERIFY(leases.isOk());
    QCOMPARE(leases.value().size(), 1);
    QVERIFY(leases.value().first().holder.isEmpty());
    QCOMPARE(leases.value().first().fencingToken, token);
    QVERIFY(rowsOf(failing.runId).isEmpty());
    // And the connection is usable afterwards (no transaction left open).
    const auto after =
        locks->tryAcquireForRun(name, QStringLiteral("node-b"), seconds(30), failing, Tick::once());
    QCOMPARE(after.status, Status::Acquired);
    QCOMPARE(after.lease.fencingToken, token + 1);
    QCOMPARE(rowsOf(failing.runId).size(), 1);
    Warden::SqlConnections::releaseForCurrentThread(url);
}

QTEST_GUILESS_MAIN(tst_SqlLockManager)
#include "tst_sqllockmanager.moc"
