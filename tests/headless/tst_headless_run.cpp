// `warden run` as a process: stop, reload, two nodes on one SQLite file, command timeouts,
// children that must not outlive warden, the sql and plugin worker types, and /metrics.
#include "wardentest.h"

#include <warden/sql/sqlconnections.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QSet>
#include <QtCore/QTemporaryDir>
#include <QtNetwork/QTcpSocket>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>
#include <QtTest/QTest>

#include <cstring>
#include <poll.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

using namespace WardenTest;

namespace {

//! A service manager's side of sd_notify: a datagram socket at a path.
class NotifySocket
{
public:
    explicit NotifySocket(const QString &path)
    {
        m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
        sockaddr_un address = {};
        address.sun_family = AF_UNIX;
        const QByteArray encoded = QFile::encodeName(path);
        if (m_fd < 0 || size_t(encoded.size()) >= sizeof address.sun_path)
            return;
        std::memcpy(address.sun_path, encoded.constData(), size_t(encoded.size()));
        m_bound = ::bind(m_fd, reinterpret_cast<sockaddr *>(&address), sizeof address) == 0;
    }
    ~NotifySocket()
    {
        if (m_fd >= 0)
            ::close(m_fd);
    }
    bool isBound() const { return m_bound; }
    //! Reads messages until one contains \a wanted or \a timeoutMs pass.
    bool receive(const QString &wanted, int timeoutMs)
    {
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < timeoutMs) {
            pollfd p = {m_fd, POLLIN, 0};
            if (::poll(&p, 1, 100) == 1) {
                char buffer[4096];
                const ssize_t got = ::recv(m_fd, buffer, sizeof buffer, 0);
                if (got > 0) {
                    const QString message = QString::fromUtf8(buffer, int(got));
                    messages.append(message);
                    if (message.contains(wanted))
                        return true;
                }
            }
        }
        return false;
    }
    //! Drops what has arrived so far.
    void discard()
    {
        char buffer[4096];
        while (::recv(m_fd, buffer, sizeof buffer, MSG_DONTWAIT) > 0) {
        }
    }
    QStringList messages;

private:
    int m_fd = -1;
    bool m_bound = false;
};

} // namespace

class tst_HeadlessRun : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void sigtermDuringLongRun();
    void reload();
    void twoNodesOneSqliteFile();
    void commandTimeoutTerminatesThenKills();
    void runOfKilledNodeIsClosedAsLost();
    void clusterGridSurvivesRestarts_data();
    void clusterGridSurvivesRestarts();
    void commandTreeDiesWithWarden();
    void runLeavesNothingBehind();
    void commandEnvironment();
    void sqlWorker_data();
    void sqlWorker();
    void pluginWorker();
    void metrics();
    void systemdNotifyAndJournal();
    void watchdogStopsWhileStoreWriterHangs();
    void nodeIdInUseIsRefused();
    void deadNodeRetention();
    void killedNodeLeavesNoLeaseBehind();
    void frozenNodeRecordsTheCommandsTrueEnd();

private:
    QString writeConfig(const QString &name, const QByteArray &body,
                        const QByteArray &host = QByteArray());
    /*!
        node-a.toml and node-b.toml: two nodes on \a database (a PostgreSQL URL, or the name
        of an SQLite file in the test's folder) with \a workers.
    */
    void writeNodeConfigs(const QByteArray &database, const QByteArray &workers,
                          const QByteArray &host = QByteArray())
    {
        const QByteArray url = database.startsWith("postgresql:") ? database : "sqlite:" + database;
        for (const char *name : {"node-a", "node-b"})
            writeFile(m_dir.filePath(QLatin1String(name) + QStringLiteral(".toml")),
                      QByteArray("[host]\nnode_id = \"") + name + "\"\ndatabase = \"" + url +
                          "\"\nshutdown_timeout = \"5s\"\n" + host + workers);
    }
    QString dbUrl(const QString &name) const
    {
        return QStringLiteral("sqlite://") + m_dir.filePath(name);
    }
    QTemporaryDir m_dir;
};

void tst_HeadlessRun::initTestCase()
{
    QVERIFY(m_dir.isValid());
}

QString tst_HeadlessRun::writeConfig(const QString &name, const QByteArray &body,
                                     const QByteArray &host)
{
    const QString path = m_dir.filePath(name + QStringLiteral(".toml"));
    writeFile(path, "[host]\nnode_id = \"" + name.toUtf8() + "\"\ndatabase = \"sqlite:" +
                        name.toUtf8() + ".db\"\nshutdown_timeout = \"10s\"\n" + host + "\n" + body);
    return path;
}

void tst_HeadlessRun::sigtermDuringLongRun()
{
    const QString config = writeConfig(QStringLiteral("stop"), R"(
[workers.long]
type = "command"
every = "1h"
lock = true
shell = true
command = "echo started; sleep 60"
)");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("[long] started"), node.log().constData());
    QElapsedTimer timer;
    timer.start();
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
    QVERIFY2(timer.elapsed() < 5000, qPrintable(QString::number(timer.elapsed())));
    QCOMPARE(node.process().exitStatus(), QProcess::NormalExit);
    QCOMPARE(node.process().exitCode(), 0);
    QVERIFY(node.log().contains("SIGTERM: stopping"));

    auto db = openDatabase(dbUrl(QStringLiteral("stop.db")));
    QVERIFY(db);
    const auto list = runs(*db, QStringLiteral("long"));
    QCOMPARE(list.size(), 1);
    QCOMPARE(list.first().outcome, Warden::RunOutcome::Cancelled);
    const auto leases = db->lockManager()->leases();
    QVERIFY(leases.isOk());
    QCOMPARE(leases.value().size(), 1);
    QVERIFY2(leases.value().first().holder.isEmpty(), "the lease was not released");
}

void tst_HeadlessRun::reload()
{
    const QByteArray keep = R"(
[workers.keep]
type = "command"
continuous = true
shell = true
command = "echo $WARDEN_RUN_ID >> keep.txt; exec sleep 600"
)";
    const QString config = writeConfig(QStringLiteral("reload"), keep + R"(
[workers.gone]
type = "command"
every = "1h"
command = ["true"]

[workers.changed]
type = "command"
every = "1h"
command = ["echo", "v1"]
)");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("running 3 workers"), node.log().constData());
    QVERIFY(node.waitForLog("[changed] v1"));
    const QString keepFile = m_dir.filePath(QStringLiteral("keep.txt"));
    QTRY_COMPARE(readFile(keepFile).count('\n'), 1);

    // Good: one removed, one added, one changed, one untouched.
    writeConfig(QStringLiteral("reload"), keep + R"(
[workers.added]
type = "command"
every = "1h"
command = ["echo", "new"]

[workers.changed]
type = "command"
every = "1h"
command = ["echo", "v2"]
)");
    node.signal(SIGHUP);
    QVERIFY2(node.waitForLog("reloaded: added added; removed gone; changed changed; 1 unchanged"),
             node.log().constData());
    QVERIFY2(node.waitForLog("[changed] v2"), node.log().constData());
    QVERIFY(node.waitForLog("[added] new"));
    // By database: the config file is about to be broken on purpose.
    const QStringList arguments{QStringLiteral("workers"), QStringLiteral("--database"),
                                dbUrl(QStringLiteral("reload.db")), QStringLiteral("--json")};
    auto names = [&] {
        QStringList list;
        for (const QJsonValue &w : run(arguments).json().array())
            list.append(w.toObject().value(QStringLiteral("worker")).toString());
        list.sort();
        return list;
    };
    QTRY_COMPARE_WITH_TIMEOUT(
        names(),
        (QStringList{QStringLiteral("added"), QStringLiteral("changed"), QStringLiteral("keep")}),
        10000);
    // The untouched continuous worker kept its run: no second line.
    QCOMPARE(readFile(keepFile).count('\n'), 1);

    // Broken: refused with the position, the previous config keeps running.
    writeConfig(QStringLiteral("reload"), keep + R"(
[workers.added]
type = "command"
every = "often"
command = ["echo", "new"]
)");
    node.signal(SIGHUP);
    QVERIFY2(node.waitForLog("reload refused"), node.log().constData());
    QVERIFY(node.log().contains(config.toUtf8() +
                                ":15:9: error: worker \"added\": every: bad duration"));
    QCOMPARE(node.process().state(), QProcess::Running);
    QCOMPARE(names(), (QStringList{QStringLiteral("added"), QStringLiteral("changed"),
                                   QStringLiteral("keep")}));
    QCOMPARE(readFile(keepFile).count('\n'), 1);

    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
    QCOMPARE(node.process().exitCode(), 0);
}

void tst_HeadlessRun::twoNodesOneSqliteFile()
{
    const QByteArray workers = R"(
[locks]
ttl = "2s"

[workers.tick]
type = "command"
cron = "* * * * * *"
timezone = "UTC"
lock = true
misfire = "skip"
shell = true
command = "echo \"$WARDEN_SCHEDULED_AT $WARDEN_NODE\" >> ticks.txt; sleep 0.5"

[workers.leader]
type = "command"
continuous = true
lock = "the-leader"
shell = true
command = "echo \"$WARDEN_NODE $WARDEN_FENCING_TOKEN\" >> leader.txt; exec sleep 600"
)";
    writeNodeConfigs(QByteArrayLiteral("cluster.db"), workers);
    // The first creates the schema; then the second joins.
    auto a = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-a.toml"))});
    QVERIFY2(a->waitForLog("running 2 workers"), a->log().constData());
    auto b = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-b.toml"))});
    QVERIFY2(b->waitForLog("running 2 workers"), b->log().constData());

    const QString ticks = m_dir.filePath(QStringLiteral("ticks.txt"));
    QTRY_VERIFY_WITH_TIMEOUT(readFile(ticks).count('\n') >= 5, 15000);
    // Exactly one node ran each tick.
    const QList<QByteArray> lines = readFile(ticks).trimmed().split('\n');
    QSet<QByteArray> scheduled;
    for (const QByteArray &line : lines)
        scheduled.insert(line.split(' ').first());
    QCOMPARE(scheduled.size(), lines.size());
    auto db = openDatabase(dbUrl(QStringLiteral("cluster.db")));
    QVERIFY(db);
    // Only real runs are runs: a tick that the other node ran leaves no record on the loser,
    // so the records are exactly the ticks that ran.
    int recorded = 0;
    for (const Warden::RunRecord &r : runs(*db, QStringLiteral("tick"))) {
        QVERIFY2(r.outcome != Warden::RunOutcome::Skipped, qPrintable(r.error));
        ++recorded;
    }
    QVERIFY(recorded >= lines.size() - 2); // the newest may not be flushed yet

    // The leader fails over when its node dies.
    const QString leaderFile = m_dir.filePath(QStringLiteral("leader.txt"));
    QTRY_COMPARE_WITH_TIMEOUT(readFile(leaderFile).count('\n'), 1, 10000);
    const QList<QByteArray> first = readFile(leaderFile).trimmed().split(' ');
    const bool aLeads = first.first() == "node-a";
    (aLeads ? a : b)->signal(SIGKILL);
    QTRY_COMPARE_WITH_TIMEOUT(readFile(leaderFile).count('\n'), 2, 15000);
    const QList<QByteArray> second = readFile(leaderFile).trimmed().split('\n').last().split(' ');
    QCOMPARE(second.first(), QByteArray(aLeads ? "node-b" : "node-a"));
    QVERIFY(second.last().toLongLong() > first.last().toLongLong());

    // The dead node's workers are not shown as running once its heartbeat is stale (three
    // heartbeat intervals): one leader, not two.
    const QString deadNode = QString::fromLatin1(aLeads ? "node-a" : "node-b");
    auto stateOn = [&](const QString &node, QJsonObject *entry) {
        const auto out = run({QStringLiteral("workers"), QStringLiteral("--json"),
                              QStringLiteral("--database"), dbUrl(QStringLiteral("cluster.db"))});
        for (const QJsonValue &v : out.json().array()) {
            const QJsonObject o = v.toObject();
            if (o.value(QStringLiteral("worker")).toString() == QStringLiteral("leader") &&
                o.value(QStringLiteral("node")).toString() == node) {
                *entry = o;
                return o.value(QStringLiteral("state")).toString();
            }
        }
        return QString();
    };
    QJsonObject dead;
    QTRY_COMPARE_WITH_TIMEOUT(stateOn(deadNode, &dead), QStringLiteral("node-dead"), 30000);
    QCOMPARE(dead.value(QStringLiteral("node_alive")).toBool(true), false);
    QCOMPARE(dead.value(QStringLiteral("reported_state")).toString(), QStringLiteral("running"));
    const auto status = run({QStringLiteral("status"), QStringLiteral("--json"),
                             QStringLiteral("--database"), dbUrl(QStringLiteral("cluster.db"))});
    const QJsonObject byState = status.json()
                                    .object()
                                    .value(QStringLiteral("workers"))
                                    .toObject()
                                    .value(QStringLiteral("by_state"))
                                    .toObject();
    QCOMPARE(byState.value(QStringLiteral("node-dead")).toInt(), 2); // both of its workers

    Node &survivor = aLeads ? *b : *a;
    survivor.signal(SIGTERM);
    QVERIFY(survivor.waitForExit(10000));
    QCOMPARE(survivor.process().exitCode(), 0);
}

void tst_HeadlessRun::runOfKilledNodeIsClosedAsLost()
{
    // The run ledger: a run is in the store from its start. When its node is killed, a live
    // node closes it as lost once the node's heartbeat is stale; a node that starts again
    // closes its own leftovers at once. Both keep the run's true start.
    const QByteArray workers = R"(
[locks]
ttl = "3s"

[workers.long]
type = "command"
every = "1h"
lock = true
shell = true
command = "echo started; exec sleep 600"
)";
    // Counted dead after 10 s of silence instead of the default 15 s.
    writeNodeConfigs(QByteArrayLiteral("ledger.db"), workers, "dead_after = \"10s\"\n");
    auto a = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-a.toml"))});
    QVERIFY2(a->waitForLog("[long] started"), a->log().constData());
    auto db = openDatabase(dbUrl(QStringLiteral("ledger.db")));
    QVERIFY(db);
    // Written at the start, as running.
    QTRY_COMPARE_WITH_TIMEOUT(runs(*db, QStringLiteral("long")).size(), 1, 10000);
    const Warden::RunRecord started = runs(*db, QStringLiteral("long")).first();
    QCOMPARE(started.outcome, Warden::RunOutcome::Running);
    QCOMPARE(started.node, QStringLiteral("node-a"));
    QVERIFY(started.startedAt.isValid());
    QVERIFY(started.fencingToken > 0);

    auto b = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-b.toml"))});
    QVERIFY2(b->waitForLog("running 1 workers"), b->log().constData());
    QElapsedTimer sinceKill;
    a->signal(SIGKILL);
    QVERIFY(a->waitForExit(5000));
    sinceKill.start();
    // Node B closes it once A's heartbeat is older than A's dead_after.
    auto outcomeOf = [&](const QString &runId) {
        for (const Warden::RunRecord &r : runs(*db, QStringLiteral("long")))
            if (r.runId == runId)
                return r;
        return Warden::RunRecord();
    };
    QTRY_COMPARE_WITH_TIMEOUT(outcomeOf(started.runId).outcome, Warden::RunOutcome::Lost, 30000);
    qInfo("closed as lost %lld ms after the kill", qint64(sinceKill.elapsed()));
    const Warden::RunRecord lost = outcomeOf(started.runId);
    QCOMPARE(lost.startedAt, started.startedAt);
    QVERIFY(lost.finishedAt >= lost.startedAt);
    QVERIFY2(lost.error.contains(QStringLiteral("node-a")), qPrintable(lost.error));
    // The log line follows the statement that closed the run; read it as it comes.
    QVERIFY2(b->waitForLog("closed 1 run(s) of dead node node-a as lost", 5000),
             b->log().constData());

    // warden runs show: the whole run, as the ledger has it.
    const QString url = dbUrl(QStringLiteral("ledger.db"));
    const auto shown = run({QStringLiteral("runs"), QStringLiteral("show"), started.runId,
                            QStringLiteral("--json"), QStringLiteral("--database"), url});
    QCOMPARE(shown.exitCode, 0);
    const QJsonObject object = shown.json().object();
    QCOMPARE(object.value(QStringLiteral("outcome")).toString(), QStringLiteral("lost"));
    QCOMPARE(object.value(QStringLiteral("run_id")).toString(), started.runId);
    bool sawOutput = false;
    for (const QJsonValue &line : object.value(QStringLiteral("log")).toArray())
        sawOutput = sawOutput || line.toObject().value(QStringLiteral("message")).toString() ==
                                     QStringLiteral("started");
    QVERIFY2(sawOutput, shown.out.constData());
    // Bad input: a clear message, a distinct exit code, nothing changed.
    const auto unknown = run({QStringLiteral("runs"), QStringLiteral("show"),
                              QStringLiteral("00000000-0000-4000-8000-000000000000"),
                              QStringLiteral("--database"), url});
    QCOMPARE(unknown.exitCode, 66);
    QVERIFY(unknown.err.contains("no run with id"));
    const auto malformed =
        run({QStringLiteral("runs"), QStringLiteral("show"),
             QStringLiteral("'; DROP TABLE warden_runs; --"), QStringLiteral("--database"), url});
    QCOMPARE(malformed.exitCode, 64);
    QVERIFY(malformed.err.contains("is not a run id"));

    // warden nodes forget: refused for a live node, done for the dead one, audited.
    const auto live = run({QStringLiteral("nodes"), QStringLiteral("forget"),
                           QStringLiteral("node-b"), QStringLiteral("--database"), url});
    QCOMPARE(live.exitCode, 1);
    QVERIFY2(live.err.contains("is alive"), live.err.constData());
    const auto nobody = run({QStringLiteral("nodes"), QStringLiteral("forget"),
                             QStringLiteral("node-z"), QStringLiteral("--database"), url});
    QCOMPARE(nobody.exitCode, 66);
    const auto forgot =
        run({QStringLiteral("nodes"), QStringLiteral("forget"), QStringLiteral("node-a"),
             QStringLiteral("--reason"), QStringLiteral("decommissioned"), QStringLiteral("--json"),
             QStringLiteral("--database"), url});
    QVERIFY2(forgot.exitCode == 0, forgot.err.constData());
    QCOMPARE(forgot.json().object().value(QStringLiteral("forgotten")).toBool(), true);
    const auto nodesNow =
        run({QStringLiteral("nodes"), QStringLiteral("--json"), QStringLiteral("--database"), url});
    QCOMPARE(nodesNow.json().array().size(), 1);
    QCOMPARE(
        nodesNow.json().array().at(0).toObject().value(QStringLiteral("dead_after_ms")).toInt(),
        10000);
    const auto audit = db->store()->auditTrail(10);
    QVERIFY(audit.isOk());
    QVERIFY(!audit.value().isEmpty());
    QCOMPARE(audit.value().first().action, QStringLiteral("forget-node"));
    QCOMPARE(audit.value().first().target, QStringLiteral("node-a"));
    b->signal(SIGTERM);
    QVERIFY(b->waitForExit(15000));

    auto runningOn = [&](const QString &node) {
        for (const Warden::RunRecord &r : runs(*db, QStringLiteral("long")))
            if (r.node == node && r.outcome == Warden::RunOutcome::Running)
                return r.runId;
        return QString();
    };
    // A starts again: the cluster's grid says the next tick is an hour after the first run,
    // so nothing runs at its start. Run now, then kill it during that run; when it starts once
    // more, it closes its own leftover at once.
    a = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-a.toml"))});
    QVERIFY2(a->waitForLog("running 1 workers"), a->log().constData());
    QTest::qWait(1000);
    QVERIFY(runningOn(QStringLiteral("node-a")).isEmpty());
    const auto trigger =
        run({QStringLiteral("trigger"), QStringLiteral("long"), QStringLiteral("--config"),
             m_dir.filePath(QStringLiteral("node-a.toml"))});
    QVERIFY2(trigger.exitCode == 0, trigger.err.constData());
    QTRY_VERIFY_WITH_TIMEOUT(!runningOn(QStringLiteral("node-a")).isEmpty(), 15000);
    const QString leftover = runningOn(QStringLiteral("node-a"));
    a->signal(SIGKILL);
    QVERIFY(a->waitForExit(5000));
    a = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-a.toml"))});
    QVERIFY2(a->waitForLog("left running as lost"), a->log().constData());
    QCOMPARE(outcomeOf(leftover).outcome, Warden::RunOutcome::Lost);
    a->signal(SIGTERM);
    QVERIFY(a->waitForExit(15000));
}

void tst_HeadlessRun::clusterGridSurvivesRestarts_data()
{
    QTest::addColumn<QString>("backend");
    QTest::newRow("sqlite") << QStringLiteral("sqlite");
    QTest::newRow("postgresql") << QStringLiteral("postgresql");
}

void tst_HeadlessRun::clusterGridSurvivesRestarts()
{
    QFETCH(QString, backend);
    QByteArray database = QByteArrayLiteral("grid.db");
    if (backend == QLatin1String("postgresql")) {
        const QString base = qEnvironmentVariable("WARDEN_TEST_PG_URL");
        if (base.isEmpty()) {
            const char *message = "WARDEN_TEST_PG_URL is not set: start a server with "
                                  "tests/sql/pg-server.sh start DIR and eval its output";
            if (qEnvironmentVariable("CI") == QLatin1String("true"))
                QFAIL(message);
            QSKIP(message);
        }
        // A schema of its own, so that a second run of the test starts from nothing.
        database = (base + (base.contains(QLatin1Char('?')) ? QLatin1Char('&') : QLatin1Char('?')) +
                    QStringLiteral("schema=grid_%1").arg(QCoreApplication::applicationPid()))
                       .toUtf8();
    }
    const QString hourlyFile = QStringLiteral("hourly-%1.txt").arg(backend);
    const QString gridFile = QStringLiteral("grid-%1.txt").arg(backend);
    // One grid per cluster-wide worker, anchored at its last run in the store: restarts and a
    // node that starts later run nothing extra (before, every restart ran the hourly job).
    const QByteArray workers = R"(
[workers.hourly]
type = "command"
every = "1h"
lock = true
shell = true
command = "echo \"$WARDEN_NODE\" >> hourly-$BACKEND.txt"

[workers.grid]
type = "command"
every = "3s"
lock = true
shell = true
command = "echo \"$WARDEN_SCHEDULED_AT $WARDEN_NODE\" >> grid-$BACKEND.txt"
)";
    writeNodeConfigs(database, QByteArray(workers).replace("$BACKEND", backend.toUtf8()));
    auto start = [&](const char *name) {
        auto node = std::make_unique<Node>(
            QStringList{QStringLiteral("--config"),
                        m_dir.filePath(QLatin1String(name) + QStringLiteral(".toml"))});
        return node;
    };
    auto a = start("node-a");
    QVERIFY2(a->waitForLog("running 2 workers"), a->log().constData());
    const QString hourly = m_dir.filePath(hourlyFile);
    QTRY_COMPARE_WITH_TIMEOUT(readFile(hourly).count('\n'), 1, 10000);
    QTest::qWait(7000); // the 3 s grid is under way before B joins
    auto b = start("node-b");
    QVERIFY2(b->waitForLog("running 2 workers"), b->log().constData());
    // Restart each node five times.
    for (int round = 0; round < 5; ++round) {
        for (std::unique_ptr<Node> *node : {&a, &b}) {
            const bool isA = node == &a;
            (*node)->signal(SIGTERM);
            QVERIFY((*node)->waitForExit(15000));
            *node = start(isA ? "node-a" : "node-b");
            QVERIFY2((*node)->waitForLog("running 2 workers"), (*node)->log().constData());
        }
    }
    QTest::qWait(7000); // a few more ticks of the 3 s grid with both nodes running
    QCOMPARE(readFile(hourly).count('\n'), 1); // exactly one run of the hourly worker
    a->signal(SIGTERM);
    b->signal(SIGTERM);
    QVERIFY(a->waitForExit(15000));
    QVERIFY(b->waitForExit(15000));

    // Every tick of the 3 s worker is on the grid of its first run, and ran once.
    const QList<QByteArray> lines = readFile(m_dir.filePath(gridFile)).trimmed().split('\n');
    QVERIFY(lines.size() >= 5);
    QSet<qint64> ticks;
    qint64 first = -1;
    QSet<QByteArray> nodes;
    for (const QByteArray &line : lines) {
        const QList<QByteArray> f = line.split(' ');
        QCOMPARE(f.size(), 2);
        nodes.insert(f[1]);
        const qint64 t =
            QDateTime::fromString(QString::fromLatin1(f[0]), Qt::ISODateWithMs).toMSecsSinceEpoch();
        if (first < 0)
            first = t;
        const qint64 offset = (t - first) % 3000;
        QVERIFY2(offset == 0, qPrintable(QStringLiteral("tick %1 is %2 ms off the grid")
                                             .arg(QString::fromLatin1(f[0]))
                                             .arg(offset)));
        QVERIFY2(!ticks.contains(t),
                 qPrintable(QStringLiteral("tick %1 ran twice").arg(QString::fromLatin1(f[0]))));
        ticks.insert(t);
    }
    qInfo("%lld ticks on one grid, run by %lld node(s)", qint64(ticks.size()),
          qint64(nodes.size()));
}

void tst_HeadlessRun::commandTimeoutTerminatesThenKills()
{
    const QString config = writeConfig(QStringLiteral("timeout"), R"(
[workers.stubborn]
type = "command"
every = "1h"
timeout = "1s"
kill_grace = "1s"
shell = true
command = "trap '' TERM; sleep 30 & echo $! > stubborn.pid; echo ignoring; wait; wait; wait"
)");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("[stubborn] ignoring"), node.log().constData());
    QVERIFY(node.waitForLog("sending SIGTERM"));
    QVERIFY(node.waitForLog("sending SIGKILL"));
    auto db = openDatabase(dbUrl(QStringLiteral("timeout.db")));
    QVERIFY(db);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("stubborn")).size(), 1, 10000);
    const Warden::RunRecord record = finishedRuns(*db, QStringLiteral("stubborn")).first();
    QCOMPARE(record.outcome, Warden::RunOutcome::TimedOut);
    QVERIFY2(record.error.contains(QLatin1String("SIGKILL")), qPrintable(record.error));
    QVERIFY2(record.durationMs() >= 1900 && record.durationMs() < 6000,
             qPrintable(QString::number(record.durationMs())));
    const qint64 sleeper =
        readFile(m_dir.filePath(QStringLiteral("stubborn.pid"))).trimmed().toLongLong();
    QVERIFY(sleeper > 0);
    QTRY_VERIFY_WITH_TIMEOUT(!processExists(sleeper), 5000);
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
}

void tst_HeadlessRun::commandTreeDiesWithWarden()
{
    // A process tree: the shell, a background child in its process group, a grandchild of a
    // nested shell, one that left for a session of its own, and a double-forked daemon whose
    // parent exited (re-parented, in a session of its own).
    const QString config = writeConfig(QStringLiteral("orphan"), R"(
[workers.tree]
type = "command"
continuous = true
shell = true
command = """
echo $$ > shell.pid
sleep 600 & echo $! > child.pid
sh -c 'sleep 600 & echo $! > grandchild.pid; wait' &
setsid sleep 600 & echo $! > session.pid
(setsid sh -c 'sleep 600 & echo $! > daemon.pid; wait' &)
wait
"""
)");
    const QStringList names = {QStringLiteral("shell"), QStringLiteral("child"),
                               QStringLiteral("grandchild"), QStringLiteral("session"),
                               QStringLiteral("daemon")};
    for (const QString &name : names)
        QFile::remove(m_dir.filePath(name + QStringLiteral(".pid")));
    Node node({QStringLiteral("--config"), config});
    QList<qint64> pids;
    for (const QString &name : names) {
        const QString file = m_dir.filePath(name + QStringLiteral(".pid"));
        QTRY_VERIFY2_WITH_TIMEOUT(readFile(file).trimmed().toLongLong() > 0, qPrintable(name),
                                  10000);
        pids.append(readFile(file).trimmed().toLongLong());
        QTRY_VERIFY2_WITH_TIMEOUT(processExists(pids.last()), qPrintable(name), 5000);
    }
    node.signal(SIGKILL);
    QVERIFY(node.waitForExit(5000));
    for (qsizetype i = 0; i < pids.size(); ++i)
        QTRY_VERIFY2_WITH_TIMEOUT(!processExists(pids.at(i)), qPrintable(names.at(i)), 5000);
}

void tst_HeadlessRun::runLeavesNothingBehind()
{
    // The command exits at once, leaving a process in a session of its own: the run's end
    // takes it along, so that nothing of a run can write after its lease has gone.
    const QString config = writeConfig(QStringLiteral("leftover"), R"(
[workers.leaver]
type = "command"
every = "1h"
lock = true
shell = true
command = "setsid sleep 600 & echo $! > leftover.pid"
)");
    const QString pidFile = m_dir.filePath(QStringLiteral("leftover.pid"));
    QFile::remove(pidFile);
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("running 1 workers"), node.log().constData());
    auto db = openDatabase(dbUrl(QStringLiteral("leftover.db")));
    QVERIFY(db);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("leaver")).size(), 1, 10000);
    QCOMPARE(finishedRuns(*db, QStringLiteral("leaver")).first().outcome,
             Warden::RunOutcome::Succeeded);
    const qint64 leftover = readFile(pidFile).trimmed().toLongLong();
    QVERIFY(leftover > 0);
    QTRY_VERIFY_WITH_TIMEOUT(!processExists(leftover), 5000);
    QVERIFY(node.process().state() == QProcess::Running);
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
    QCOMPARE(node.process().exitCode(), 0);
}

void tst_HeadlessRun::commandEnvironment()
{
    const QString config = writeConfig(QStringLiteral("environment"), R"(
[workers.env]
type = "command"
every = "1h"
lock = true
environment = { GREETING = "hi there" }
command = ["sh", "-c", "echo \"$GREETING|$WARDEN_WORKER|$WARDEN_NODE|$WARDEN_RUN_ID|$WARDEN_SCHEDULED_AT|$WARDEN_FENCING_TOKEN\"; echo oops >&2; exit 3"]
)");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("[env] hi there|env|environment|"), node.log().constData());
    QVERIFY(node.waitForLog("warning warden.worker: [env] oops"));
    auto db = openDatabase(dbUrl(QStringLiteral("environment.db")));
    QVERIFY(db);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("env")).size(), 1, 10000);
    const Warden::RunRecord record = finishedRuns(*db, QStringLiteral("env")).first();
    QCOMPARE(record.outcome, Warden::RunOutcome::Failed);
    QVERIFY2(record.error.contains(QLatin1String("exited with code 3")), qPrintable(record.error));
    const QByteArray line = node.log().mid(node.log().indexOf("[env] hi there"));
    const QList<QByteArray> fields = line.left(line.indexOf('\n')).split('|');
    QCOMPARE(fields.size(), 6);
    QCOMPARE(QString::fromUtf8(fields.at(3)), record.runId);
    QVERIFY(QDateTime::fromString(QString::fromUtf8(fields.at(4)), Qt::ISODateWithMs).isValid());
    QCOMPARE(fields.at(5).toLongLong(), record.fencingToken);
    QVERIFY(record.fencingToken > 0);
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
}

void tst_HeadlessRun::sqlWorker_data()
{
    QTest::addColumn<QString>("backend");
    QTest::newRow("sqlite") << QStringLiteral("sqlite");
    QTest::newRow("postgresql") << QStringLiteral("postgresql");
}

void tst_HeadlessRun::sqlWorker()
{
    QFETCH(QString, backend);
    QString appUrl;
    if (backend == QLatin1String("sqlite")) {
        appUrl = QStringLiteral("sqlite://") + m_dir.filePath(QStringLiteral("app.db"));
    } else {
        appUrl = qEnvironmentVariable("WARDEN_TEST_PG_URL");
        if (appUrl.isEmpty()) {
            const char *message = "WARDEN_TEST_PG_URL is not set: start a server with "
                                  "tests/sql/pg-server.sh start DIR and eval its output";
            if (qEnvironmentVariable("CI") == QLatin1String("true"))
                QFAIL(message);
            QSKIP(message);
        }
    }
    const QString table = QStringLiteral("accounts_%1").arg(QCoreApplication::applicationPid());
    {
        QString error;
        QSqlDatabase app = Warden::SqlConnections::forCurrentThread(appUrl, &error);
        QVERIFY2(app.isOpen(), qPrintable(error));
        QSqlQuery q(app);
        QVERIFY2(q.exec(QStringLiteral("DROP TABLE IF EXISTS %1").arg(table)),
                 qPrintable(q.lastError().text()));
        QVERIFY(q.exec(QStringLiteral("CREATE TABLE %1 (id INTEGER PRIMARY KEY, age_days INTEGER, "
                                      "passive INTEGER NOT NULL DEFAULT 0)")
                           .arg(table)));
        QVERIFY(
            q.exec(QStringLiteral("INSERT INTO %1 (id, age_days) VALUES (1, 10), (2, 40), (3, 50)")
                       .arg(table)));
    }
    const QString name = QStringLiteral("sql-") + backend;
    const QString config = writeConfig(name, QStringLiteral(R"(
[connections.app]
url = "%1"

[workers.mark-passive]
type = "sql"
every = "1h"
lock = true
connection = "app"
statements = "UPDATE %2 SET passive = 1 WHERE passive = 0 AND age_days > 30"

[workers.half-done]
type = "sql"
every = "1h"
connection = "app"
statements = ["UPDATE %2 SET passive = 2", "SELECT * FROM no_such_table_at_all"]
)")
                                                 .arg(appUrl, table)
                                                 .toUtf8());
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("[mark-passive] statement 1: 2 rows affected"),
             node.log().constData());
    auto db = openDatabase(dbUrl(name + QStringLiteral(".db")));
    QVERIFY(db);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("half-done")).size(), 1, 10000);
    const Warden::RunRecord failed = finishedRuns(*db, QStringLiteral("half-done")).first();
    QCOMPARE(failed.outcome, Warden::RunOutcome::Failed);
    QVERIFY2(failed.error.contains(QLatin1String("statement 2 failed, rolled back")),
             qPrintable(failed.error));
    QCOMPARE(finishedRuns(*db, QStringLiteral("mark-passive")).first().outcome,
             Warden::RunOutcome::Succeeded);
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));

    QString error;
    QSqlDatabase app = Warden::SqlConnections::forCurrentThread(appUrl, &error);
    QSqlQuery q(app);
    QVERIFY(
        q.exec(QStringLiteral("SELECT passive, COUNT(*) FROM %1 GROUP BY passive ORDER BY passive")
                   .arg(table)));
    QVERIFY(q.next());
    QCOMPARE(q.value(0).toInt(), 0);
    QCOMPARE(q.value(1).toInt(), 1);
    QVERIFY(q.next());
    QCOMPARE(q.value(0).toInt(), 1); // and no 2: the failed transaction was rolled back
    QCOMPARE(q.value(1).toInt(), 2);
    QVERIFY(!q.next());
    q.finish();
    QVERIFY(q.exec(QStringLiteral("DROP TABLE %1").arg(table)));
}

void tst_HeadlessRun::pluginWorker()
{
    const QString output = m_dir.filePath(QStringLiteral("plugin-output.txt"));
    const QString config =
        writeConfig(QStringLiteral("plugin"), QStringLiteral(R"(
[workers.from-plugin]
type = "plugin"
path = "%1"
every = "1h"
output = "%2"
greeting = "hello"
times = 3
)")
                                                  .arg(QStringLiteral(WARDEN_TEST_PLUGIN), output)
                                                  .toUtf8());
    QCOMPARE(run({QStringLiteral("check-config"), QStringLiteral("--config"), config}).exitCode, 0);
    Node node({QStringLiteral("--config"), config});
    QTRY_COMPARE_WITH_TIMEOUT(readFile(output), QByteArray("from-plugin hello 3\n"), 10000);
    QVERIFY(node.waitForLog("[from-plugin] plugin wrote hello"));
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));

    // A plugin that is not there, or that refuses its settings.
    const QString missing = writeConfig(QStringLiteral("plugin-missing"), R"(
[workers.p]
type = "plugin"
path = "no-such-plugin.so"
every = "1h"
)");
    const Output result =
        run({QStringLiteral("check-config"), QStringLiteral("--config"), missing});
    QCOMPARE(result.exitCode, 78);
    QVERIFY2(result.err.contains(":9:8: error: worker \"p\": plugin ") &&
                 result.err.contains("does not exist"),
             result.err.constData());
    const QString refusing =
        writeConfig(QStringLiteral("plugin-refusing"), QStringLiteral(R"(
[workers.p]
type = "plugin"
path = "%1"
every = "1h"
)")
                                                           .arg(QStringLiteral(WARDEN_TEST_PLUGIN))
                                                           .toUtf8());
    const Output refused = run({QStringLiteral("run"), QStringLiteral("--config"), refusing});
    QCOMPARE(refused.exitCode, 78);
    QVERIFY2(refused.err.contains("the test plugin needs output"), refused.err.constData());
}

namespace {

struct HttpReply
{
    int status = 0;
    QByteArray body;
};

HttpReply httpGet(quint16 port, const QByteArray &path)
{
    QTcpSocket socket;
    socket.connectToHost(QStringLiteral("127.0.0.1"), port);
    HttpReply reply;
    if (!socket.waitForConnected(5000))
        return reply;
    socket.write("GET " + path + " HTTP/1.1\r\nHost: 127.0.0.1\r\nConnection: close\r\n\r\n");
    // Read the header, then Content-Length bytes (the server may keep the connection open).
    QByteArray data;
    qsizetype headerEnd = -1;
    qsizetype length = -1;
    while (socket.waitForReadyRead(5000)) {
        data += socket.readAll();
        headerEnd = data.indexOf("\r\n\r\n");
        if (headerEnd < 0)
            continue;
        if (length < 0) {
            static const QRegularExpression contentLength(
                QStringLiteral("content-length:\\s*(\\d+)"),
                QRegularExpression::CaseInsensitiveOption);
            const auto match = contentLength.match(QString::fromLatin1(data.left(headerEnd)));
            length = match.hasMatch() ? match.captured(1).toLongLong() : 0;
        }
        if (data.size() - headerEnd - 4 >= length)
            break;
    }
    if (headerEnd < 0)
        return reply;
    reply.status = data.split(' ').value(1).toInt();
    reply.body = data.mid(headerEnd + 4);
    return reply;
}

} // namespace

void tst_HeadlessRun::metrics()
{
#ifndef WARDEN_HAVE_HTTPSERVER
    QSKIP("warden was built without Qt HttpServer (qt6-httpserver-dev and qt6-websockets-dev)");
#endif
    const QString config = writeConfig(QStringLiteral("metrics"), R"(
[http]
port = 0

[workers.ok]
type = "command"
every = "500ms"
command = ["true"]

[workers.bad]
type = "command"
every = "500ms"
command = ["false"]

[workers.leader]
type = "command"
continuous = true
lock = "metrics-leader"
command = ["sleep", "600"]
)");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("/healthz on http://127.0.0.1:"), node.log().constData());
    const QByteArray log = node.log();
    const qsizetype at = log.indexOf("http://127.0.0.1:") + 17;
    const quint16 port = quint16(log.mid(at, log.indexOf('/', at) - at).toUInt());
    QVERIFY(port > 0);
    QVERIFY(node.waitForLog("running 3 workers"));

    QTRY_VERIFY_WITH_TIMEOUT(
        httpGet(port, "/metrics")
            .body.contains("warden_runs_total{worker=\"bad\",outcome=\"failed\"} 3\n"),
        10000);
    const HttpReply metrics = httpGet(port, "/metrics");
    QCOMPARE(metrics.status, 200);
    // Parse every sample line of the text format.
    static const QRegularExpression sample(QStringLiteral(
        R"(^([a-zA-Z_:][a-zA-Z0-9_:]*)(\{([a-zA-Z_][a-zA-Z0-9_]*="(?:[^"\\]|\\.)*",?)*\})? (-?[0-9.eE+-]+|\+Inf|NaN)$)"));
    QHash<QString, double> values;
    QSet<QString> typed;
    for (const QByteArray &raw : metrics.body.split('\n')) {
        const QString line = QString::fromUtf8(raw);
        if (line.isEmpty())
            continue;
        if (line.startsWith(QLatin1String("# TYPE "))) {
            typed.insert(line.section(QLatin1Char(' '), 2, 2));
            continue;
        }
        if (line.startsWith(QLatin1Char('#')))
            continue;
        const auto match = sample.match(line);
        QVERIFY2(match.hasMatch(), qPrintable(line));
        bool ok = false;
        values.insert(line.section(QLatin1Char(' '), 0, -2), match.captured(4).toDouble(&ok));
        QVERIFY2(ok, qPrintable(line));
    }
    for (const char *family :
         {"warden_runs_total", "warden_run_duration_seconds", "warden_run_start_lateness_seconds",
          "warden_last_success_timestamp_seconds", "warden_leases_held", "warden_up",
          "warden_ticks_left_to_other_nodes_total"})
        QVERIFY2(typed.contains(QLatin1String(family)), family);
    QCOMPARE(values.value(QStringLiteral("warden_up")), 1.0);
    QVERIFY(values.value(
                QStringLiteral("warden_runs_total{worker=\"ok\",outcome=\"succeeded\"}")) >= 2);
    QCOMPARE(values.value(QStringLiteral("warden_leases_held")), 1.0); // the leader's
    // Only locked workers have ticks another node may run; here, none did.
    QVERIFY(values.contains(
        QStringLiteral("warden_ticks_left_to_other_nodes_total{worker=\"leader\"}")));
    QCOMPARE(
        values.value(QStringLiteral("warden_ticks_left_to_other_nodes_total{worker=\"leader\"}")),
        0.0);
    QVERIFY(
        !values.contains(QStringLiteral("warden_ticks_left_to_other_nodes_total{worker=\"ok\"}")));
    const double count =
        values.value(QStringLiteral("warden_run_duration_seconds_count{worker=\"ok\"}"));
    QVERIFY(count >= 2);
    QCOMPARE(values.value(
                 QStringLiteral("warden_run_duration_seconds_bucket{worker=\"ok\",le=\"+Inf\"}")),
             count);
    QVERIFY(
        values.value(
            QStringLiteral("warden_run_duration_seconds_bucket{worker=\"ok\",le=\"0.005\"}")) <=
        values.value(QStringLiteral("warden_run_duration_seconds_bucket{worker=\"ok\",le=\"1\"}")));
    const double lastSuccess =
        values.value(QStringLiteral("warden_last_success_timestamp_seconds{worker=\"ok\"}"));
    QVERIFY(qAbs(lastSuccess - double(QDateTime::currentSecsSinceEpoch())) < 60);

    const HttpReply health = httpGet(port, "/healthz");
    QCOMPARE(health.status, 200);
    QCOMPARE(
        QJsonDocument::fromJson(health.body).object().value(QStringLiteral("status")).toString(),
        QStringLiteral("ok"));
    QCOMPARE(httpGet(port, "/nope").status, 404);
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
}

void tst_HeadlessRun::systemdNotifyAndJournal()
{
    NotifySocket socket(m_dir.filePath(QStringLiteral("notify.sock")));
    QVERIFY(socket.isBound());
    QStringList &messages = socket.messages;
    auto receive = [&](const QString &wanted, int timeoutMs) {
        return socket.receive(wanted, timeoutMs);
    };
    const QString socketPath = m_dir.filePath(QStringLiteral("notify.sock"));

    const QString config = writeConfig(QStringLiteral("notify"), R"(
[workers.hello]
type = "command"
every = "1h"
command = ["echo", "hi"]
)");
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("NOTIFY_SOCKET"), socketPath);
    environment.insert(QStringLiteral("WATCHDOG_USEC"), QStringLiteral("200000"));
    environment.insert(QStringLiteral("JOURNAL_STREAM"), QStringLiteral("8:12345"));
    Node node({QStringLiteral("--config"), config}, environment);
    QVERIFY2(receive(QStringLiteral("READY=1"), 10000),
             qPrintable(messages.join(QLatin1Char('|'))));
    QVERIFY2(messages.last().contains(QLatin1String("STATUS=Running 1 workers as node notify")),
             qPrintable(messages.last()));
    // The watchdog is pinged at half its interval while the threads answer.
    for (int i = 0; i < 3; ++i)
        QVERIFY2(receive(QStringLiteral("WATCHDOG=1"), 2000),
                 qPrintable(messages.join(QLatin1Char('|'))));
    node.signal(SIGHUP);
    QVERIFY(receive(QStringLiteral("RELOADING=1"), 5000));
    QVERIFY(messages.last().contains(QLatin1String("MONOTONIC_USEC=")));
    QVERIFY(receive(QStringLiteral("READY=1"), 5000));
    node.signal(SIGTERM);
    QVERIFY(receive(QStringLiteral("STOPPING=1"), 5000));
    QVERIFY(node.waitForExit(10000));
    // Log lines carry journald priorities and no time stamps.
    QVERIFY2(node.log().contains("<6>warden.worker: [hello] hi\n"), node.log().constData());
    for (const QByteArray &line : node.log().trimmed().split('\n'))
        QVERIFY2(line.startsWith('<') && line.at(2) == '>', line.constData());
}

void tst_HeadlessRun::watchdogStopsWhileStoreWriterHangs()
{
    const QString socketPath = m_dir.filePath(QStringLiteral("watchdog.sock"));
    NotifySocket socket(socketPath);
    QVERIFY(socket.isBound());
    // Every write waits up to 60 s for a busy database: a writer stuck that long is hung.
    const QString path = m_dir.filePath(QStringLiteral("watchdog.toml"));
    writeFile(path, R"([host]
node_id = "watchdog"
database = "sqlite:watchdog.db?busy_timeout=60000"
shutdown_timeout = "10s"

[workers.busy]
type = "command"
every = "200ms"
command = ["true"]
)");
    QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
    environment.insert(QStringLiteral("NOTIFY_SOCKET"), socketPath);
    environment.insert(QStringLiteral("WATCHDOG_USEC"), QStringLiteral("1000000"));
    Node node({QStringLiteral("--config"), path}, environment);
    QVERIFY2(socket.receive(QStringLiteral("READY=1"), 10000), node.log().constData());
    QVERIFY2(socket.receive(QStringLiteral("WATCHDOG=1"), 5000), node.log().constData());

    // Another process holds the write lock: the store's writer blocks inside its write.
    {
        QSqlDatabase db =
            QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), QStringLiteral("watchdog-locker"));
        db.setDatabaseName(m_dir.filePath(QStringLiteral("watchdog.db")));
        QVERIFY(db.open());
        QSqlQuery lock(db);
        QVERIFY2(lock.exec(QStringLiteral("BEGIN EXCLUSIVE")), qPrintable(lock.lastError().text()));
        QVERIFY2(node.waitForLog("watchdog: the store writer did not answer"),
                 node.log().constData());
        // Pings stop while the writer is stuck.
        socket.discard();
        QVERIFY2(!socket.receive(QStringLiteral("WATCHDOG=1"), 1500),
                 qPrintable(socket.messages.join(QLatin1Char('|'))));
        QVERIFY(lock.exec(QStringLiteral("ROLLBACK")));
        lock.finish();
        db.close();
    }
    QSqlDatabase::removeDatabase(QStringLiteral("watchdog-locker"));
    // And resume once it writes again.
    QVERIFY2(node.waitForLog("watchdog: every thread answers again"), node.log().constData());
    QVERIFY(socket.receive(QStringLiteral("WATCHDOG=1"), 5000));
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(10000));
    QCOMPARE(node.process().exitCode(), 0);
}

void tst_HeadlessRun::nodeIdInUseIsRefused()
{
    // Two processes under one node id would overwrite each other's heartbeat and worker
    // states: the second is refused while the first lives, and may start once it is dead.
    const QString config = writeConfig(QStringLiteral("twin"), R"(
[workers.tick]
type = "command"
every = "1h"
command = ["true"]
)");
    auto first = std::make_unique<Node>(QStringList{QStringLiteral("--config"), config});
    QVERIFY2(first->waitForLog("running 1 workers"), first->log().constData());

    Node second({QStringLiteral("--config"), config});
    QVERIFY(second.waitForExit(15000));
    QCOMPARE(second.process().exitCode(), 78);
    const QByteArray expected = "node id \"twin\" is in use by process " +
                                QByteArray::number(first->pid()) + " on this machine";
    QVERIFY2(second.log().contains(expected), second.log().constData());
    QVERIFY2(second.log().contains("node_id in [host]"), second.log().constData());
    QVERIFY2(!second.log().contains("running 1 workers"), second.log().constData());

    // The first was not disturbed; once it dies without signing off, the id is free at once.
    QCOMPARE(first->process().state(), QProcess::Running);
    first->signal(SIGKILL);
    QVERIFY(first->waitForExit(10000));
    first.reset();
    Node third({QStringLiteral("--config"), config});
    QVERIFY2(third.waitForLog("running 1 workers"), third.log().constData());
    third.signal(SIGTERM);
    QVERIFY(third.waitForExit(15000));
    QCOMPARE(third.process().exitCode(), 0);
}

void tst_HeadlessRun::deadNodeRetention()
{
    // A node dead for longer than dead_node_retention leaves the views by itself, audited as
    // a forget by warden; a node dead for less stays, shown as dead.
    const QString url = dbUrl(QStringLiteral("retention.db"));
    {
        const auto created = Warden::Database::open(url); // creates the schema
        QVERIFY2(created.isOk(), qPrintable(created.errorString()));
        const qint64 now = QDateTime::currentMSecsSinceEpoch();
        QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
        for (const auto &[node, ageMs] :
             {std::pair<const char *, qint64>{"gone", 3 * 3600 * 1000}, {"recent", 60 * 1000}}) {
            QVERIFY(q.exec(QStringLiteral("INSERT INTO warden_nodes (id, started_at, heartbeat_at, "
                                          "heartbeat_interval_ms) VALUES ('%1', %2, %2, 5000)")
                               .arg(QLatin1String(node))
                               .arg(now - ageMs)));
            QVERIFY(q.exec(QStringLiteral("INSERT INTO warden_worker_status (worker, node, state) "
                                          "VALUES ('w', '%1', 'running')")
                               .arg(QLatin1String(node))));
        }
        q = QSqlQuery();
        Warden::SqlConnections::releaseForCurrentThread(url);
    }
    const QString config = writeConfig(QStringLiteral("retention"), R"(
[workers.w]
type = "command"
every = "1h"
command = ["true"]
)",
                                       "dead_node_retention = \"1h\"\n");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("forgot node gone"), node.log().constData());
    const auto nodes =
        run({QStringLiteral("nodes"), QStringLiteral("--json"), QStringLiteral("--database"), url});
    QStringList ids;
    for (const QJsonValue &n : nodes.json().array())
        ids << n.toObject().value(QStringLiteral("id")).toString();
    QCOMPARE(ids, (QStringList{QStringLiteral("recent"), QStringLiteral("retention")}));
    const auto workers = run(
        {QStringLiteral("workers"), QStringLiteral("--json"), QStringLiteral("--database"), url});
    QStringList states;
    for (const QJsonValue &w : workers.json().array())
        states << w.toObject().value(QStringLiteral("node")).toString() + QLatin1Char('=') +
                      w.toObject().value(QStringLiteral("state")).toString();
    QVERIFY2(!states.join(QLatin1Char(' ')).contains(QLatin1String("gone")),
             qPrintable(states.join(QLatin1Char(' '))));
    QVERIFY2(states.contains(QStringLiteral("recent=node-dead")),
             qPrintable(states.join(QLatin1Char(' '))));
    auto db = openDatabase(url);
    QVERIFY(db);
    const auto audit = db->store()->auditTrail(10);
    QVERIFY(audit.isOk());
    QCOMPARE(audit.value().size(), 1);
    QCOMPARE(audit.value().first().action, QStringLiteral("forget-node"));
    QCOMPARE(audit.value().first().target, QStringLiteral("gone"));
    QCOMPARE(audit.value().first().user, QStringLiteral("warden"));
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(15000));
}

void tst_HeadlessRun::killedNodeLeavesNoLeaseBehind()
{
    // A per-run lock is not kept after its run: a node killed after the hourly run leaves
    // nothing that blocks a run now for the rest of the hour. A run now that finds the lock
    // held is recorded as missed, with the holder.
    const QByteArray workers = R"(
[locks]
ttl = "3s"

[workers.hourly]
type = "command"
every = "1h"
lock = true
command = ["true"]
)";
    writeNodeConfigs(QByteArrayLiteral("nohold.db"), workers);
    auto a = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-a.toml"))});
    QVERIFY2(a->waitForLog("running 1 workers"), a->log().constData());
    auto db = openDatabase(dbUrl(QStringLiteral("nohold.db")));
    QVERIFY(db);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("hourly")).size(), 1, 10000);
    auto b = std::make_unique<Node>(
        QStringList{QStringLiteral("--config"), m_dir.filePath(QStringLiteral("node-b.toml"))});
    QVERIFY2(b->waitForLog("running 1 workers"), b->log().constData());
    a->signal(SIGKILL);
    QVERIFY(a->waitForExit(5000));
    const auto leases = db->lockManager()->leases();
    QVERIFY(leases.isOk());
    for (const Warden::Lease &lease : leases.value()) {
        if (lease.name == QLatin1String("hourly"))
            QVERIFY2(lease.holder.isEmpty() ||
                         lease.expiresAt <= QDateTime::currentDateTimeUtc().addSecs(3),
                     qPrintable(lease.expiresAt.toString(Qt::ISODateWithMs)));
    }
    const QString config = m_dir.filePath(QStringLiteral("node-b.toml"));
    // Refused (changing nothing) until node B has published its worker's status.
    QTRY_VERIFY_WITH_TIMEOUT(run({QStringLiteral("trigger"), QStringLiteral("hourly"),
                                  QStringLiteral("--config"), config})
                                     .exitCode == 0,
                             10000);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("hourly")).size(), 2, 10000);
    QCOMPARE(finishedRuns(*db, QStringLiteral("hourly")).first().node, QStringLiteral("node-b"));
    QCOMPARE(finishedRuns(*db, QStringLiteral("hourly")).first().trigger,
             Warden::RunTrigger::RunNow);

    // Someone holds the lock: the run now is missed, and says who holds it.
    const auto held = db->lockManager()->tryAcquire(
        QStringLiteral("hourly"), QStringLiteral("maintenance"), std::chrono::seconds(60));
    QCOMPARE(held.status, Warden::LockManager::Status::Acquired);
    const auto again = run(
        {QStringLiteral("trigger"), QStringLiteral("hourly"), QStringLiteral("--config"), config});
    QVERIFY2(again.exitCode == 0, again.err.constData());
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("hourly")).size(), 3, 10000);
    const Warden::RunRecord missed = finishedRuns(*db, QStringLiteral("hourly")).first();
    QCOMPARE(missed.outcome, Warden::RunOutcome::Missed);
    QVERIFY2(missed.error.contains(QLatin1String("held by maintenance")), qPrintable(missed.error));
    QVERIFY(db->lockManager()->release(held.lease));
    b->signal(SIGTERM);
    QVERIFY(b->waitForExit(15000));
}

void tst_HeadlessRun::frozenNodeRecordsTheCommandsTrueEnd()
{
    // warden frozen (SIGSTOP of warden alone) during a leased command: the keeper ends the
    // command at the lease's fence time; when warden resumes, the run is recorded with that
    // end, not with the moment warden learnt of it.
    const QString config = writeConfig(QStringLiteral("frozen"), R"(
[locks]
ttl = "3s"

[workers.long]
type = "command"
every = "1h"
lock = true
shell = true
command = "echo started; exec sleep 600"
)");
    Node node({QStringLiteral("--config"), config});
    QVERIFY2(node.waitForLog("[long] started"), node.log().constData());
    node.signal(SIGSTOP);
    QTest::qWait(8000);
    const QDateTime resumedAt = QDateTime::currentDateTimeUtc();
    node.signal(SIGCONT);
    auto db = openDatabase(dbUrl(QStringLiteral("frozen.db")));
    QVERIFY(db);
    QTRY_COMPARE_WITH_TIMEOUT(finishedRuns(*db, QStringLiteral("long")).size(), 1, 10000);
    const Warden::RunRecord run = finishedRuns(*db, QStringLiteral("long")).first();
    qInfo("run of %lld ms, recorded as ended %lld ms before warden resumed", run.durationMs(),
          run.finishedAt.msecsTo(resumedAt));
    QCOMPARE(run.outcome, Warden::RunOutcome::Cancelled);
    QVERIFY2(run.durationMs() < 4000, qPrintable(QString::number(run.durationMs())));
    QVERIFY2(run.finishedAt.msecsTo(resumedAt) > 4000,
             qPrintable(run.finishedAt.toString(Qt::ISODateWithMs)));
    node.signal(SIGTERM);
    QVERIFY(node.waitForExit(15000));
}

QTEST_GUILESS_MAIN(tst_HeadlessRun)
#include "tst_headless_run.moc"
