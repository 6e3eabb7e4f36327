// Multi-process tests: real Warden hosts in separate processes contend for leases in one
// database, while this test kills and restarts them.

#include "intervalcheck.h"
#include "sqltestsupport.h"

#include <warden/sql/database.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QProcess>
#include <QtCore/QRandomGenerator>
#include <QtTest/QTest>

#include <csignal>
#include <ctime>
#include <functional>
#include <memory>

using namespace std::chrono;

namespace {

qint64 monotonicMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

struct Line
{
    char kind = 0;
    QString lock;
    qint64 token = 0;
    QString node;
    qint64 time = 0;
};

QList<Line> readLines(const QString &path)
{
    QList<Line> out;
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return out;
    for (const QByteArray &raw : file.readAll().split('\n')) {
        const QList<QByteArray> f = raw.trimmed().split(' ');
        if (f.size() < 5)
            continue;
        out.append(Line{f[0].at(0), QString::fromUtf8(f[1]), f[2].toLongLong(),
                        QString::fromUtf8(f[3]), f[4].toLongLong()});
    }
    return out;
}

//! The first line of \a kind for \a lock after \a after (by another node than \a notNode).
std::optional<Line> findLine(const QString &path, char kind, const QString &lock, qint64 after,
                             const QString &notNode = QString(), const QString &node = QString())
{
    for (const Line &line : readLines(path)) {
        if (line.kind == kind && line.lock == lock && line.time > after &&
            (notNode.isEmpty() || line.node != notNode) && (node.isEmpty() || line.node == node))
            return line;
    }
    return std::nullopt;
}

class Cluster
{
public:
    Cluster(QString url, QString log, QStringList extra)
        : m_url(std::move(url))
        , m_log(std::move(log))
        , m_extra(std::move(extra))
    {}
    ~Cluster()
    {
        for (auto &[node, p] : m_processes) {
            if (p && p->state() != QProcess::NotRunning) {
                p->kill();
                p->waitForFinished(5000);
            }
        }
    }

    bool start(const QString &node)
    {
        auto &p = m_processes[node];
        p = std::make_unique<QProcess>();
        p->setProcessChannelMode(QProcess::ForwardedErrorChannel);
        QStringList args{QStringLiteral("node"),
                         QStringLiteral("--url"),
                         m_url,
                         QStringLiteral("--node"),
                         node,
                         QStringLiteral("--log"),
                         m_log};
        p->start(QStringLiteral(WARDEN_TESTNODE_PATH), args + m_extra);
        if (!p->waitForStarted(5000))
            return false;
        // "started <node>" once the host runs.
        const auto deadline = steady_clock::now() + seconds(20);
        while (!p->canReadLine() && steady_clock::now() < deadline &&
               p->state() == QProcess::Running)
            p->waitForReadyRead(100);
        return p->canReadLine();
    }
    bool isRunning(const QString &node) const
    {
        const auto it = m_processes.find(node);
        return it != m_processes.end() && it->second && it->second->state() == QProcess::Running;
    }
    //! SIGKILL; returns when the process is seen dead, and remembers that moment.
    void kill(const QString &node)
    {
        auto &p = m_processes[node];
        p->kill();
        p->waitForFinished(10000);
        m_kills[node].append(monotonicMicros());
    }
    //! SIGTERM; returns whether it stopped cleanly within \a timeout.
    bool terminate(const QString &node, milliseconds timeout = seconds(15))
    {
        auto &p = m_processes[node];
        ::kill(pid_t(p->processId()), SIGTERM);
        const bool done = p->waitForFinished(int(timeout.count()));
        if (!done) {
            kill(node);
            qWarning("node %s did not stop within %lld ms of SIGTERM", qPrintable(node),
                     static_cast<long long>(timeout.count()));
            ++m_hung;
            return false;
        }
        if (p->exitStatus() != QProcess::NormalExit) {
            qWarning("node %s crashed while stopping", qPrintable(node));
            ++m_crashed;
            return false;
        }
        if (p->exitCode() != 0)
            qWarning("node %s exited with %d", qPrintable(node), p->exitCode());
        return p->exitCode() == 0;
    }
    const QHash<QString, QList<qint64>> &kills() const { return m_kills; }
    int crashed() const { return m_crashed; }
    int hung() const { return m_hung; }
    QStringList running() const
    {
        QStringList out;
        for (const auto &[node, p] : m_processes) {
            if (p && p->state() == QProcess::Running)
                out << node;
        }
        return out;
    }

private:
    QString m_url;
    QString m_log;
    QStringList m_extra;
    std::map<QString, std::unique_ptr<QProcess>> m_processes;
    QHash<QString, QList<qint64>> m_kills;
    int m_crashed = 0;
    int m_hung = 0;
};

QString leaderOf(const QString &path, const QString &lock)
{
    QString leader;
    QHash<QString, bool> open;
    for (const Line &line : readLines(path)) {
        if (line.lock != lock)
            continue;
        if (line.kind == 'S')
            leader = line.node;
        else if (line.node == leader)
            leader.clear();
    }
    return leader;
}

} // namespace

class tst_SqlCluster : public QObject
{
    Q_OBJECT

private slots:
    void mutualExclusion_data() { SqlTest::addBackendRows(); }
    void mutualExclusion();
    void failover_data() { SqlTest::addBackendRows(); }
    void failover();
    void outage();

private:
    QTemporaryDir m_dir;
};

void tst_SqlCluster::mutualExclusion()
{
    WARDEN_FRESH_URL(url, m_dir);
    QVERIFY(Warden::Database::open(url).isOk());
    const QString log = m_dir.filePath(QStringLiteral("mutex-%1.log").arg(backend));
    const int seconds = qEnvironmentVariableIntValue("WARDEN_TEST_MUTEX_SECONDS") > 0
                            ? qEnvironmentVariableIntValue("WARDEN_TEST_MUTEX_SECONDS")
                            : 60;
    // 6 processes, 3 per-run locks (periodic workers) and 3 leader locks (continuous workers).
    Cluster cluster(url, log,
                    {QStringLiteral("--per-run"), QStringLiteral("3"), QStringLiteral("--leaders"),
                     QStringLiteral("3"), QStringLiteral("--ttl"), QStringLiteral("1500"),
                     QStringLiteral("--interval"), QStringLiteral("100"),
                     QStringLiteral("--work-ms"), QStringLiteral("60"),
                     QStringLiteral("--standby-poll"), QStringLiteral("100")});
    QStringList nodes;
    for (int i = 0; i < 6; ++i) {
        nodes << QStringLiteral("n%1").arg(i);
        QVERIFY2(cluster.start(nodes.last()), "a node did not start");
    }
    auto *random = QRandomGenerator::global();
    int kills = 0;
    int terminations = 0;
    int cleanTerminations = 0;
    const auto end = steady_clock::now() + std::chrono::seconds(seconds);
    QHash<QString, steady_clock::time_point> restartAt;
    while (steady_clock::now() < end) {
        QTest::qWait(int(random->bounded(500, 1200)));
        for (const QString &node : nodes) {
            if (!cluster.isRunning(node) && steady_clock::now() >= restartAt.value(node))
                QVERIFY(cluster.start(node));
        }
        const QString victim = nodes.at(int(random->bounded(qsizetype(nodes.size()))));
        if (!cluster.isRunning(victim))
            continue;
        if (random->bounded(10) < 7) {
            cluster.kill(victim);
            ++kills;
        } else {
            ++terminations;
            cleanTerminations += cluster.terminate(victim) ? 1 : 0;
        }
        restartAt.insert(victim, steady_clock::now() + milliseconds(random->bounded(200, 1500)));
    }
    // Every node that is down starts once more (it closes its own leftover runs as lost at
    // once), then all stop gracefully: the ledger is then complete.
    for (const QString &node : nodes) {
        if (!cluster.isRunning(node))
            QVERIFY(cluster.start(node));
    }
    QTest::qWait(1000);
    for (const QString &node : cluster.running())
        cleanTerminations += cluster.terminate(node) ? 1 : 0, ++terminations;

    const IntervalCheck::Report report = IntervalCheck::check(log, cluster.kills());
    qInfo("%s: %d intervals (%d ended by SIGKILL) on %d locks, %d kills, %d graceful stops "
          "(%d clean), %d overlaps, %d token violations",
          qPrintable(backend), report.intervals, report.killedIntervals, int(report.byLock.size()),
          kills, terminations, cleanTerminations, report.overlaps, report.tokenViolations);
    for (const QString &problem : report.problems.mid(0, 20))
        qWarning("%s", qPrintable(problem));
    QCOMPARE(report.overlaps, 0);
    QCOMPARE(report.tokenViolations, 0);
    QCOMPARE(report.byLock.size(), 6);
    // Every lock changed hands: per-run locks on every tick, leader locks when a leader died.
    for (auto it = report.byLock.cbegin(); it != report.byLock.cend(); ++it)
        QVERIFY2(it.value().size() >= (it.key().startsWith(QLatin1String("pr")) ? 20 : 2),
                 qPrintable(it.key() + QStringLiteral(" barely ran")));
    QVERIFY(kills > 0);
    // Graceful stops end cleanly; a crash is a failure. (A stop that hangs past 15 s is
    // reported above and ended with SIGKILL, which the interval check already covers.)
    QCOMPARE(cluster.crashed(), 0);
    QVERIFY(cleanTerminations + cluster.hung() >= terminations);

    // The run ledger: every critical section is one row with a terminal outcome, those cut
    // by SIGKILL lost; and no tick of a per-run (cluster-wide) worker ran twice.
    auto db = Warden::Database::open(url);
    QVERIFY2(db.isOk(), qPrintable(db.errorString()));
    QHash<QString, Warden::RunRecord> ledger;
    for (auto it = report.byLock.cbegin(); it != report.byLock.cend(); ++it) {
        Warden::RunQuery query;
        query.worker = it.key();
        query.limit = 100000;
        const auto rows = db.value().store()->runs(query);
        QVERIFY2(rows.isOk(), qPrintable(rows.errorString()));
        for (const Warden::RunRecord &row : rows.value())
            ledger.insert(row.runId, row);
    }
    int unrecorded = 0, unfinished = 0, killedNotLost = 0, lost = 0, twice = 0;
    QStringList problems;
    QHash<QString, QString> tickRunBy; // lock + scheduled time -> run id
    for (auto it = report.byLock.cbegin(); it != report.byLock.cend(); ++it) {
        for (const IntervalCheck::Interval &interval : it.value()) {
            const auto row = ledger.constFind(interval.runId);
            if (row == ledger.cend()) {
                ++unrecorded;
                problems << QStringLiteral("no row for run %1 of %2 on %3 (token %4)")
                                .arg(interval.runId, interval.lock, interval.node)
                                .arg(interval.token);
                continue;
            }
            if (row->outcome == Warden::RunOutcome::Running) {
                ++unfinished;
                problems
                    << QStringLiteral("run %1 of %2 is still running").arg(row->runId, row->worker);
            }
            if (row->outcome == Warden::RunOutcome::Lost)
                ++lost;
            if (interval.killed && row->outcome != Warden::RunOutcome::Lost) {
                ++killedNotLost;
                problems << QStringLiteral("run %1 of %2 was killed but is %3")
                                .arg(row->runId, row->worker, Warden::toKeyword(row->outcome));
            }
            if (interval.lock.startsWith(QLatin1String("pr")) && !row->isManual()) {
                const QString tick =
                    interval.lock + QLatin1Char('@') + row->scheduledAt.toString(Qt::ISODateWithMs);
                if (tickRunBy.contains(tick)) {
                    ++twice;
                    problems << QStringLiteral("tick %1 ran twice: %2 and %3")
                                    .arg(tick, tickRunBy.value(tick), row->runId);
                }
                tickRunBy.insert(tick, row->runId);
            }
        }
    }
    int stillRunning = 0;
    for (const Warden::RunRecord &row : std::as_const(ledger))
        stillRunning += row.outcome == Warden::RunOutcome::Running ? 1 : 0;
    qInfo("%s: ledger: %d rows for %d critical sections, %d lost, %d without a row, %d "
          "unfinished, %d killed but not lost, %d ticks run twice, %d rows still running",
          qPrintable(backend), int(ledger.size()), report.intervals, lost, unrecorded, unfinished,
          killedNotLost, twice, stillRunning);
    for (const QString &problem : problems.mid(0, 20))
        qWarning("%s", qPrintable(problem));
    QCOMPARE(unrecorded, 0);
    QCOMPARE(unfinished, 0);
    QCOMPARE(killedNotLost, 0);
    QCOMPARE(twice, 0);
    QCOMPARE(stillRunning, 0);
}

void tst_SqlCluster::failover()
{
    WARDEN_FRESH_URL(url, m_dir);
    QVERIFY(Warden::Database::open(url).isOk());
    const QString log = m_dir.filePath(QStringLiteral("failover-%1.log").arg(backend));
    const milliseconds ttl(2000);
    const QString lock = QStringLiteral("fold0");
    Cluster cluster(url, log,
                    {QStringLiteral("--leaders"), QStringLiteral("1"), QStringLiteral("--prefix"),
                     QStringLiteral("fo"), QStringLiteral("--ttl"), QString::number(ttl.count()),
                     QStringLiteral("--standby-poll"), QStringLiteral("200")});
    QVERIFY(cluster.start(QStringLiteral("a")));
    QVERIFY(cluster.start(QStringLiteral("b")));
    QTRY_VERIFY_WITH_TIMEOUT(!leaderOf(log, lock).isEmpty(), 10000);
    const QString first = leaderOf(log, lock);
    const QString second = first == QLatin1String("a") ? QStringLiteral("b") : QStringLiteral("a");

    // SIGKILL: the standby takes over once the lease expired, within ttl + 1 s.
    cluster.kill(first);
    const qint64 killedAt = cluster.kills().value(first).last();
    QTRY_VERIFY_WITH_TIMEOUT(findLine(log, 'S', lock, killedAt, first).has_value(), 10000);
    const qint64 afterKillMs = (findLine(log, 'S', lock, killedAt, first)->time - killedAt) / 1000;
    qInfo("%s: standby ran %lld ms after the leader was killed (ttl %lld ms)", qPrintable(backend),
          afterKillMs, static_cast<long long>(ttl.count()));
    QVERIFY(afterKillMs <= ttl.count() + 1000);

    // Graceful stop: the lease is released, the standby runs within 1 s (PostgreSQL: 200 ms).
    QVERIFY(cluster.start(first));
    QTest::qWait(500); // the restarted node is standing by
    const qint64 before = monotonicMicros();
    QVERIFY(cluster.terminate(second));
    const auto ended = findLine(log, 'E', lock, before, QString(), second);
    QVERIFY(ended.has_value());
    QTRY_VERIFY_WITH_TIMEOUT(findLine(log, 'S', lock, ended->time, second).has_value(), 5000);
    const qint64 afterStopMs =
        (findLine(log, 'S', lock, ended->time, second)->time - ended->time) / 1000;
    qInfo("%s: standby ran %lld ms after the leader stopped gracefully", qPrintable(backend),
          afterStopMs);
    QVERIFY(afterStopMs <= (backend == QLatin1String("postgresql") ? 200 : 1000));

    QVERIFY(cluster.terminate(first));
    const IntervalCheck::Report report = IntervalCheck::check(log, cluster.kills());
    for (const QString &problem : report.problems)
        qWarning("%s", qPrintable(problem));
    QCOMPARE(report.overlaps, 0);
    QCOMPARE(report.tokenViolations, 0);
}

void tst_SqlCluster::outage()
{
    const QString url = SqlTest::freshUrl(QStringLiteral("postgresql"), m_dir);
    const QString pgDir = qEnvironmentVariable("WARDEN_TEST_PG_DIR");
    if (url.isEmpty() || pgDir.isEmpty()) {
        if (SqlTest::isCi())
            QFAIL(WARDEN_PG_MISSING_TEXT);
        QSKIP(WARDEN_PG_MISSING_TEXT);
    }
    auto db = Warden::Database::open(url);
    QVERIFY2(db.isOk(), qPrintable(db.errorString()));
    const QString log = m_dir.filePath(QStringLiteral("outage.log"));
    const milliseconds ttl(3000);
    const QString lock = QStringLiteral("outld0");
    Cluster cluster(url, log,
                    {QStringLiteral("--leaders"), QStringLiteral("1"), QStringLiteral("--prefix"),
                     QStringLiteral("out"), QStringLiteral("--ttl"), QString::number(ttl.count()),
                     QStringLiteral("--standby-poll"), QStringLiteral("200")});
    QVERIFY(cluster.start(QStringLiteral("a")));
    QVERIFY(cluster.start(QStringLiteral("b")));
    QTRY_VERIFY_WITH_TIMEOUT(!leaderOf(log, lock).isEmpty(), 10000);
    const QString leader = leaderOf(log, lock);

    auto server = [&](const char *what) {
        QProcess p;
        p.setProcessChannelMode(QProcess::ForwardedChannels);
        p.start(QStringLiteral(WARDEN_PG_SERVER_SCRIPT), {QString::fromLatin1(what), pgDir});
        return p.waitForFinished(60000) && p.exitCode() == 0;
    };
    QVERIFY(server("pause"));
    const qint64 stoppedAt = monotonicMicros();
    // Whatever happens below, the server comes back for the tests that follow.
    struct Resume
    {
        std::function<bool(const char *)> server;
        bool done = false;
        ~Resume()
        {
            if (!done)
                server("resume");
        }
    } resume{server};
    // The leader cannot renew: it must stop its work before the lease could expire.
    QTRY_VERIFY_WITH_TIMEOUT(findLine(log, 'E', lock, 0, QString(), leader).has_value(), 10000);
    const qint64 fencedMs =
        (findLine(log, 'E', lock, 0, QString(), leader)->time - stoppedAt) / 1000;
    qInfo("leader fenced itself %lld ms after the server stopped (ttl %lld ms)", fencedMs,
          static_cast<long long>(ttl.count()));
    QVERIFY(fencedMs < ttl.count());
    QTest::qWait(10000 - int(fencedMs));
    QVERIFY(cluster.isRunning(QStringLiteral("a")));
    QVERIFY(cluster.isRunning(QStringLiteral("b")));
    resume.done = true;
    // Taken before the server starts: a node may take the lease over before the script that
    // starts the server returns.
    const qint64 resumedAt = monotonicMicros();
    QVERIFY(server("resume"));
    // Work resumes.
    QTRY_VERIFY_WITH_TIMEOUT(findLine(log, 'S', lock, resumedAt).has_value(), 20000);
    qInfo("work resumed %lld ms after the server came back",
          (findLine(log, 'S', lock, resumedAt)->time - resumedAt) / 1000);
    // The run that the outage cancelled reaches the database.
    auto store = db.value().store();
    Warden::RunQuery query;
    query.worker = lock;
    query.node = leader;
    QTRY_VERIFY_WITH_TIMEOUT(
        [&] {
            const auto runs = store->runs(query);
            if (!runs)
                return false;
            for (const auto &run : runs.value()) {
                if (run.outcome == Warden::RunOutcome::Cancelled &&
                    run.error.contains(QLatin1String("lost")))
                    return true;
            }
            return false;
        }(),
        20000);
    QVERIFY(cluster.terminate(QStringLiteral("a")));
    QVERIFY(cluster.terminate(QStringLiteral("b")));
    const IntervalCheck::Report report = IntervalCheck::check(log, cluster.kills());
    for (const QString &problem : report.problems)
        qWarning("%s", qPrintable(problem));
    QCOMPARE(report.overlaps, 0);
    QCOMPARE(report.tokenViolations, 0);
}

QTEST_GUILESS_MAIN(tst_SqlCluster)
#include "tst_sqlcluster.moc"
