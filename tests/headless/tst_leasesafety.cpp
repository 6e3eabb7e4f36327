// Jepsen-style safety tests of the leases on the real `warden run`: real processes, real
// signals, a real SQLite file or a real PostgreSQL server on 127.0.0.1.
//
// The property: a locked worker never runs on two nodes at once.
//
// Every node runs two locked `command` workers whose command is cswriter, the critical
// section: a continuous worker with a leader lease ("leader", the writer loops until SIGTERM)
// and a periodic worker with a per-run lease ("ticker", every 6 s, each run writing for 5 s).
// The writers append "NODE TOKEN MONOTONIC_US PID SEQ" every few milliseconds to one file per
// lock. Faults come from outside: another process holds the leases table locked, warden alone
// or warden with its whole process tree is frozen with SIGSTOP, nodes are killed and
// restarted, wall clocks are shifted. Then the files are checked:
//
// - critical section: per (node, fencing token), the time from its first to its last write;
// - overlap: two critical sections of different nodes that share a moment. The one exception,
//   counted as "fenced": a node frozen together with its whole tree cannot stop its writer
//   before it is thawed, so its writes after another node took over are stale. They are
//   excused when they carry a smaller token than the new holder's (a resource that checks
//   tokens refuses them), come from a run that was going before the freeze, and end within
//   kStaleGraceMs of SIGCONT;
// - token regression: a write whose token is smaller than one that another node wrote
//   earlier, or equal to another node's token; the same exception applies;
// - stale run start: a run whose first write is a regression (never excused);
// - crash: a warden that exited when it was not asked to, or not cleanly when asked.
//
// Each scenario prints a SUMMARY line per lock and in total, and fails with every problem it
// found listed.
//
// The backend comes from WARDEN_TEST_VARIANT (sqlite or postgresql; both when unset): ctest
// runs tst_leasesafety_sqlite and tst_leasesafety_postgresql side by side. PostgreSQL comes
// from WARDEN_TEST_PG_URL as in the SQL tests (./dev test starts a server; without one the
// rows are skipped, or fail when CI=true). WARDEN_CHAOS_SECONDS sets the length of the chaos
// scenario (default 60), WARDEN_LEASESAFETY_ROUNDS the rounds of the fault scenarios,
// WARDEN_LEASESAFETY_SEED the random seed, and WARDEN_LEASESAFETY_KEEP=1 keeps the files
// (node logs, configs, write logs) and prints their folder.
#include "../sql/sqltestsupport.h"
#include "wardentest.h"

#include <QtCore/QElapsedTimer>
#include <QtCore/QRandomGenerator>
#include <QtCore/QScopeGuard>
#include <QtCore/QSet>
#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtTest/QTest>

#include <algorithm>
#include <csignal>
#include <ctime>
#include <map>
#include <memory>
#include <optional>

using namespace WardenTest;

namespace {

constexpr qint64 kTtlMs = 3000;
//! How long after SIGCONT a frozen tree's writer may go on with its stale (smaller) token.
constexpr qint64 kStaleGraceMs = 1000;
constexpr qint64 kWritePeriodMs = 5;
constexpr qint64 kTickerRunMs = 5000;

qint64 monoUs()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int envInt(const char *name, int fallback)
{
    bool ok = false;
    const int value = qEnvironmentVariableIntValue(name, &ok);
    return ok && value > 0 ? value : fallback;
}

QRandomGenerator &chance()
{
    static QRandomGenerator generator = [] {
        bool ok = false;
        quint32 seed = quint32(qEnvironmentVariableIntValue("WARDEN_LEASESAFETY_SEED", &ok));
        if (!ok)
            seed = QRandomGenerator::system()->generate();
        qInfo("random seed %u (WARDEN_LEASESAFETY_SEED)", seed);
        return QRandomGenerator(seed);
    }();
    return generator;
}

int between(int low, int high)
{
    return int(chance().bounded(low, high + 1));
}

//! Waits (running the event loop, so that QProcess notices exits) until \a deadline (monotonic µs).
void waitUntil(qint64 deadline)
{
    for (qint64 now = monoUs(); now < deadline; now = monoUs())
        QTest::qWait(int(std::min<qint64>(50, (deadline - now) / 1000 + 1)));
}

void sleepMs(qint64 ms)
{
    waitUntil(monoUs() + ms * 1000);
}

// --- The writes and their analysis ------------------------------------------------------------

struct Write
{
    QByteArray node;
    qint64 token = 0;
    qint64 time = 0;
    qint64 pid = 0;
    qint64 seq = 0;
    qint64 started = -1; //!< when the writer process began (monotonic); -1: unknown
};

QList<Write> readWrites(const QString &path)
{
    QList<Write> out;
    const QByteArray text = readFile(path);
    for (const QByteArray &line : text.split('\n')) {
        const QList<QByteArray> f = line.split(' ');
        if (f.size() != 5 && f.size() != 6)
            continue;
        out.append(Write{f[0], f[1].toLongLong(), f[2].toLongLong(), f[3].toLongLong(),
                         f[4].toLongLong(), f.size() == 6 ? f[5].toLongLong() : -1});
    }
    std::stable_sort(out.begin(), out.end(),
                     [](const Write &a, const Write &b) { return a.time < b.time; });
    return out;
}

//! A node frozen with its whole process tree: from before the first SIGSTOP to after the last
//! SIGCONT.
struct TreeFreeze
{
    QByteArray node;
    qint64 stoppedAt = 0;
    qint64 thawedAt = 0;
};

struct LockReport
{
    QString lock;
    int writes = 0;
    int sections = 0;
    int runs = 0;
    int overlaps = 0;
    int fenced = 0;
    int regressions = 0; // writes
    int regressedSections = 0;
    int staleStarts = 0;
    int fencedWrites = 0;
    qint64 maxOverlapUs = 0;
    qint64 maxFencedUs = 0;
    QStringList problems;
};

QString at(qint64 us, qint64 origin)
{
    return QStringLiteral("+%1 s").arg(double(us - origin) / 1e6, 0, 'f', 3);
}

LockReport analyse(const QString &lock, const QList<Write> &writes,
                   const QList<TreeFreeze> &freezes, qint64 origin)
{
    LockReport report;
    report.lock = lock;
    report.writes = int(writes.size());

    struct Section
    {
        QByteArray node;
        qint64 token = 0;
        qint64 first = 0;
        qint64 last = 0;
        QList<qsizetype> writes;
    };
    QList<Section> sections;
    QHash<QByteArray, qsizetype> sectionOf;
    QHash<QByteArray, qint64> runStart; // node + pid -> first write
    auto sectionKey = [](const Write &w) { return w.node + ' ' + QByteArray::number(w.token); };
    auto runKey = [](const Write &w) { return w.node + ' ' + QByteArray::number(w.pid); };
    for (qsizetype i = 0; i < writes.size(); ++i) {
        const Write &w = writes.at(i);
        const QByteArray key = sectionKey(w);
        auto it = sectionOf.constFind(key);
        if (it == sectionOf.constEnd()) {
            it = sectionOf.insert(key, sections.size());
            sections.append(Section{w.node, w.token, w.time, w.time, {}});
        }
        Section &s = sections[*it];
        s.last = std::max(s.last, w.time);
        s.writes.append(i);
        // A run began when its writer process began: one frozen between its start and its
        // first write was going before the freeze.
        if (!runStart.contains(runKey(w)))
            runStart.insert(runKey(w), w.started >= 0 ? std::min(w.started, w.time) : w.time);
    }
    report.sections = int(sections.size());
    report.runs = int(runStart.size());

    const qint64 grace = kStaleGraceMs * 1000;
    auto excused = [&](const Write &w) {
        for (const TreeFreeze &f : freezes) {
            if (f.node == w.node && w.time >= f.thawedAt && w.time <= f.thawedAt + grace &&
                runStart.value(runKey(w)) < f.stoppedAt)
                return true;
        }
        return false;
    };

    // Overlaps between critical sections of different nodes.
    for (qsizetype i = 0; i < sections.size(); ++i) {
        for (qsizetype j = i + 1; j < sections.size(); ++j) {
            const Section &a = sections.at(i);
            const Section &b = sections.at(j);
            if (a.node == b.node)
                continue;
            const qint64 from = std::max(a.first, b.first);
            const qint64 to = std::min(a.last, b.last);
            if (from > to)
                continue;
            const Section &older = a.token < b.token ? a : b;
            const Section &newer = a.token < b.token ? b : a;
            bool fenced = older.token < newer.token && older.first <= newer.first;
            int stale = 0;
            for (qsizetype k : older.writes) {
                const Write &w = writes.at(k);
                if (w.time < newer.first)
                    continue;
                ++stale;
                if (!excused(w))
                    fenced = false;
            }
            const qint64 length = to - from;
            if (fenced) {
                ++report.fenced;
                report.maxFencedUs = std::max(report.maxFencedUs, length);
                continue;
            }
            ++report.overlaps;
            report.maxOverlapUs = std::max(report.maxOverlapUs, length);
            report.problems << QStringLiteral(
                                   "%1: overlap of %2 ms: %3 token %4 [%5 .. %6] and %7 token %8 "
                                   "[%9 .. %10]; %11 writes of token %4 after token %8 began")
                                   .arg(lock)
                                   .arg(double(length) / 1000.0, 0, 'f', 1)
                                   .arg(QString::fromUtf8(older.node))
                                   .arg(older.token)
                                   .arg(at(older.first, origin), at(older.last, origin),
                                        QString::fromUtf8(newer.node))
                                   .arg(newer.token)
                                   .arg(at(newer.first, origin), at(newer.last, origin))
                                   .arg(stale);
        }
    }

    // Token regressions, in the order of the writes.
    QHash<QByteArray, qint64> maxByNode;
    QHash<qint64, QByteArray> ownerOfToken;
    struct Regressed
    {
        int count = 0;
        qint64 first = 0;
        qint64 last = 0;
        QString why;
    };
    std::map<QByteArray, Regressed> regressed;
    QSet<QByteArray> staleRuns;
    for (const Write &w : writes) {
        QString why;
        const auto owner = ownerOfToken.constFind(w.token);
        if (owner == ownerOfToken.constEnd())
            ownerOfToken.insert(w.token, w.node);
        else if (*owner != w.node)
            why = QStringLiteral("token %1 was also written by %2")
                      .arg(w.token)
                      .arg(QString::fromUtf8(*owner));
        qint64 maxOther = 0;
        QByteArray maxNode;
        for (auto it = maxByNode.cbegin(); it != maxByNode.cend(); ++it) {
            if (it.key() != w.node && it.value() > maxOther) {
                maxOther = it.value();
                maxNode = it.key();
            }
        }
        if (why.isEmpty() && w.token < maxOther)
            why = QStringLiteral("%1 had already written token %2")
                      .arg(QString::fromUtf8(maxNode))
                      .arg(maxOther);
        if (!why.isEmpty()) {
            if (excused(w)) {
                ++report.fencedWrites;
            } else {
                ++report.regressions;
                Regressed &r = regressed[sectionKey(w)];
                if (r.count++ == 0) {
                    r.first = w.time;
                    r.why = why;
                }
                r.last = w.time;
                if (w.seq == 0 && !staleRuns.contains(runKey(w))) {
                    staleRuns.insert(runKey(w));
                    ++report.staleStarts;
                    report.problems << QStringLiteral("%1: stale run start: %2 began run %3 with "
                                                      "token %4 at %5 although %6")
                                           .arg(lock, QString::fromUtf8(w.node))
                                           .arg(w.pid)
                                           .arg(w.token)
                                           .arg(at(w.time, origin), why);
                }
            }
        }
        maxByNode[w.node] = std::max(maxByNode.value(w.node), w.token);
    }
    report.regressedSections = int(regressed.size());
    for (const auto &[key, r] : regressed)
        report.problems << QStringLiteral("%1: token regression: %2 wrote %3 times from %4 to %5, "
                                          "when %6")
                               .arg(lock, QString::fromUtf8(key))
                               .arg(r.count)
                               .arg(at(r.first, origin), at(r.last, origin), r.why);
    return report;
}

// --- Processes --------------------------------------------------------------------------------

//! pid -> parent pid of every process, from /proc.
QHash<qint64, qint64> parents()
{
    QHash<qint64, qint64> out;
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool ok = false;
        const qint64 pid = entry.toLongLong(&ok);
        if (!ok)
            continue;
        const QByteArray stat = readFile(QStringLiteral("/proc/%1/stat").arg(pid));
        const qsizetype close = stat.lastIndexOf(')');
        if (close < 0)
            continue;
        const QList<QByteArray> fields = stat.mid(close + 2).split(' ');
        if (fields.size() > 1)
            out.insert(pid, fields.at(1).toLongLong());
    }
    return out;
}

QList<qint64> descendants(qint64 root)
{
    const QHash<qint64, qint64> parent = parents();
    QHash<qint64, QList<qint64>> children;
    for (auto it = parent.cbegin(); it != parent.cend(); ++it)
        children[it.value()].append(it.key());
    QList<qint64> out;
    QList<qint64> queue{root};
    while (!queue.isEmpty()) {
        const qint64 pid = queue.takeFirst();
        for (qint64 child : children.value(pid)) {
            out.append(child);
            queue.append(child);
        }
    }
    return out;
}

char processState(qint64 pid)
{
    const QByteArray stat = readFile(QStringLiteral("/proc/%1/stat").arg(pid));
    const qsizetype close = stat.lastIndexOf(')');
    return close > 0 && close + 2 < stat.size() ? stat.at(close + 2) : '?';
}

//! Processes other than this one whose command line mentions \a text.
QStringList processesMentioning(const QString &text)
{
    QStringList out;
    const QByteArray needle = text.toUtf8();
    const QStringList entries = QDir(QStringLiteral("/proc")).entryList(QDir::Dirs);
    for (const QString &entry : entries) {
        bool ok = false;
        const qint64 pid = entry.toLongLong(&ok);
        if (!ok || pid == QCoreApplication::applicationPid())
            continue;
        QByteArray cmdline = readFile(QStringLiteral("/proc/%1/cmdline").arg(pid));
        if (!cmdline.contains(needle) || !processExists(pid))
            continue;
        cmdline.replace('\0', ' ');
        out << QStringLiteral("%1 %2").arg(pid).arg(QString::fromUtf8(cmdline.trimmed()));
    }
    return out;
}

/*!
    The `warden run` processes of a scenario. Each node's stdout and stderr go to a file of
    its own (no pipe can fill up while the test looks elsewhere). Exits that the test did not
    cause, and unclean exits after SIGTERM, are recorded as crashes.
*/
class Cluster
{
public:
    explicit Cluster(QString dir)
        : m_dir(std::move(dir))
    {}
    ~Cluster()
    {
        for (auto &[id, node] : m_nodes) {
            for (qint64 pid : node.frozen)
                ::kill(pid_t(pid), SIGCONT);
            if (node.process && node.process->state() != QProcess::NotRunning) {
                node.expect = Expect::Kill;
                node.process->kill();
                node.process->waitForFinished(5000);
            }
        }
    }

    void define(const QString &id, const QString &config, const QProcessEnvironment &environment)
    {
        Node &node = m_nodes[id];
        node.config = config;
        node.environment = environment;
        node.log = QDir(m_dir).filePath(id + QStringLiteral(".log"));
    }
    QStringList ids() const
    {
        QStringList out;
        for (const auto &[id, node] : m_nodes)
            out << id;
        return out;
    }

    //! Starts the node and waits until its workers run.
    bool start(const QString &id)
    {
        Node &node = m_nodes.at(id);
        const qint64 offset = QFileInfo(node.log).size();
        node.process = std::make_unique<QProcess>();
        QProcess *process = node.process.get();
        process->setProcessEnvironment(node.environment);
        process->setStandardOutputFile(node.log, QIODevice::Append);
        process->setStandardErrorFile(node.log, QIODevice::Append);
        process->setStandardInputFile(QProcess::nullDevice());
        node.expect = Expect::Nothing;
        QObject::connect(process, &QProcess::finished, process,
                         [this, id, process](int code, QProcess::ExitStatus status) {
                             onFinished(id, process, code, status);
                         });
        process->start(binary(), {QStringLiteral("run"), QStringLiteral("--config"), node.config});
        if (!process->waitForStarted(10000)) {
            m_crashes << QStringLiteral("%1 did not start: %2").arg(id, process->errorString());
            return false;
        }
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 30000) {
            if (readFile(node.log).mid(offset).contains("running 2 workers"))
                return true;
            if (process->state() == QProcess::NotRunning)
                break;
            QTest::qWait(20);
        }
        m_crashes << QStringLiteral("%1 did not start its workers within 30 s:\n%2")
                         .arg(id, QString::fromUtf8(readFile(node.log).mid(offset).right(3000)));
        return false;
    }
    bool isRunning(const QString &id) const
    {
        const Node &node = m_nodes.at(id);
        return node.process && node.process->state() == QProcess::Running;
    }
    bool isFrozen(const QString &id) const { return !m_nodes.at(id).frozen.isEmpty(); }
    qint64 pid(const QString &id) const
    {
        const Node &node = m_nodes.at(id);
        return node.process ? node.process->processId() : 0;
    }
    QString logPath(const QString &id) const { return m_nodes.at(id).log; }

    //! SIGKILL; returns the moment the process was seen dead.
    qint64 kill(const QString &id)
    {
        Node &node = m_nodes.at(id);
        node.expect = Expect::Kill;
        ::kill(pid_t(node.process->processId()), SIGKILL);
        node.process->waitForFinished(10000);
        for (qint64 pid : node.frozen) // what the keeper must now kill
            ::kill(pid_t(pid), SIGCONT);
        node.frozen.clear();
        return monoUs();
    }
    //! SIGTERM without waiting.
    void terminate(const QString &id)
    {
        Node &node = m_nodes.at(id);
        if (!node.process || node.process->state() == QProcess::NotRunning)
            return;
        node.expect = Expect::Term;
        ::kill(pid_t(node.process->processId()), SIGTERM);
    }
    //! Waits for a terminated node; one that does not exit in time is killed and counted.
    bool waitForExit(const QString &id, int timeoutMs)
    {
        Node &node = m_nodes.at(id);
        if (!node.process || node.process->state() == QProcess::NotRunning)
            return true;
        QElapsedTimer timer;
        timer.start();
        while (node.process->state() != QProcess::NotRunning && timer.elapsed() < timeoutMs)
            QTest::qWait(20);
        if (node.process->state() == QProcess::NotRunning)
            return true;
        m_crashes
            << QStringLiteral("%1 did not exit within %2 ms of SIGTERM").arg(id).arg(timeoutMs);
        node.expect = Expect::Kill;
        node.process->kill();
        node.process->waitForFinished(5000);
        return false;
    }
    /*!
        SIGSTOP of warden, and with \a tree of every descendant (keepers, commands) too, found
        in /proc until no new one turns up. Returns once all of them are seen stopped.
    */
    void freeze(const QString &id, bool tree)
    {
        Node &node = m_nodes.at(id);
        const qint64 root = node.process->processId();
        ::kill(pid_t(root), SIGSTOP);
        node.frozen = {root};
        if (tree) {
            for (int quiet = 0; quiet < 3;) {
                bool found = false;
                for (qint64 pid : descendants(root)) {
                    if (!node.frozen.contains(pid)) {
                        ::kill(pid_t(pid), SIGSTOP);
                        node.frozen.append(pid);
                        found = true;
                    }
                }
                quiet = found ? 0 : quiet + 1;
            }
        }
        QElapsedTimer timer;
        timer.start();
        for (qint64 pid : std::as_const(node.frozen)) {
            while (processExists(pid) && processState(pid) != 'T' && timer.elapsed() < 2000)
                QThread::usleep(500);
        }
    }
    //! SIGCONT to what freeze() stopped: descendants first, warden last.
    void thaw(const QString &id)
    {
        Node &node = m_nodes.at(id);
        for (qsizetype i = node.frozen.size() - 1; i >= 0; --i)
            ::kill(pid_t(node.frozen.at(i)), SIGCONT);
        node.frozen.clear();
    }
    QStringList crashes() const { return m_crashes; }

private:
    enum class Expect { Nothing, Kill, Term };
    struct Node
    {
        QString config;
        QProcessEnvironment environment;
        QString log;
        std::unique_ptr<QProcess> process;
        Expect expect = Expect::Nothing;
        QList<qint64> frozen;
    };

    void onFinished(const QString &id, QProcess *process, int code, QProcess::ExitStatus status)
    {
        Node &node = m_nodes.at(id);
        if (node.process.get() != process)
            return;
        const QString how = status == QProcess::NormalExit
                                ? QStringLiteral("exited with code %1").arg(code)
                                : QStringLiteral("was killed by signal %1").arg(code);
        QString problem;
        switch (node.expect) {
        case Expect::Kill:
            break;
        case Expect::Term:
            if (status != QProcess::NormalExit || code != 0)
                problem = QStringLiteral("%1 %2 after SIGTERM").arg(id, how);
            break;
        case Expect::Nothing:
            problem = QStringLiteral("%1 %2 unasked").arg(id, how);
            break;
        }
        if (!problem.isEmpty())
            m_crashes << problem + QStringLiteral("; its log ends:\n") +
                             QString::fromUtf8(readFile(node.log).right(2000));
    }

    QString m_dir;
    std::map<QString, Node> m_nodes;
    QStringList m_crashes;
};

// --- A scenario -------------------------------------------------------------------------------

struct NodeOptions
{
    QString killGrace;     // empty: the default
    QString renewInterval; // empty: the default (a third of the ttl)
    bool ignoreTerm = false;
    int clockOffsetS = 0; // the wall clock shift of the node (LD_PRELOAD shim)
};

class Scenario
{
public:
    Scenario(QString name, QString backend, QString url, const QString &baseDir)
        : name(std::move(name))
        , backend(std::move(backend))
        , url(std::move(url))
        , dir(QDir(baseDir).filePath(this->name + QLatin1Char('-') + this->backend))
        , cluster(dir)
    {
        QDir().mkpath(dir);
        origin = monoUs();
    }
    ~Scenario()
    {
        if (blocker && blocker->state() != QProcess::NotRunning) {
            blocker->kill();
            blocker->waitForFinished(5000);
        }
    }

    QString writesPath(const QString &lock) const
    {
        return QDir(dir).filePath(lock + QStringLiteral(".writes"));
    }

    void addNode(const QString &id, const NodeOptions &options = NodeOptions())
    {
        const QString writer = QStringLiteral(WARDEN_CS_WRITER);
        const QString extra =
            options.ignoreTerm ? QStringLiteral(", \"--ignore-term\"") : QString();
        const QString grace = options.killGrace.isEmpty()
                                  ? QString()
                                  : QStringLiteral("kill_grace = \"%1\"\n").arg(options.killGrace);
        QString text = QStringLiteral(R"([host]
node_id = "%1"
database = "%2"
shutdown_timeout = "5s"

[locks]
ttl = "%3ms"
)")
                           .arg(id, url)
                           .arg(kTtlMs);
        if (!options.renewInterval.isEmpty())
            text += QStringLiteral("renew_interval = \"%1\"\n").arg(options.renewInterval);
        text += QStringLiteral(R"(
[workers.leader]
type = "command"
continuous = true
lock = true
lock_mode = "leader"
%1command = ["%2", "%3", "%4"%5]

[workers.ticker]
type = "command"
every = "6s"
lock = true
lock_mode = "per-run"
%1command = ["%2", "%6", "%7", "--for-ms", "%8"%5]
)")
                    .arg(grace, writer, writesPath(QStringLiteral("leader")))
                    .arg(kWritePeriodMs)
                    .arg(extra, writesPath(QStringLiteral("ticker")))
                    .arg(kWritePeriodMs + 2)
                    .arg(kTickerRunMs);
        const QString config = QDir(dir).filePath(id + QStringLiteral(".toml"));
        writeFile(config, text.toUtf8());
        QProcessEnvironment environment = QProcessEnvironment::systemEnvironment();
        if (options.clockOffsetS != 0) {
            environment.insert(QStringLiteral("LD_PRELOAD"),
                               QStringLiteral(WARDEN_CLOCKSHIFT_PATH));
            environment.insert(QStringLiteral("WARDEN_TEST_CLOCK_OFFSET_S"),
                               QString::number(options.clockOffsetS));
        }
        cluster.define(id, config, environment);
    }

    //! Starts the first node (which may set up the schema), then the others.
    bool startAll()
    {
        const QStringList ids = cluster.ids();
        for (const QString &id : ids) {
            if (!cluster.start(id))
                return false;
        }
        return true;
    }

    // --- Blocking the leases table from another process ---

    //! Starts holding the leases table locked for \a ms; returns once the lock is held.
    bool startBlock(int ms)
    {
        blocker = std::make_unique<QProcess>();
        blocker->setProcessChannelMode(QProcess::SeparateChannels);
        if (backend == QLatin1String("sqlite")) {
            blocker->start(QStringLiteral(WARDEN_SQLITE_BLOCKER),
                           {url.mid(int(qstrlen("sqlite://"))), QString::number(ms)});
        } else {
            const QString schema =
                url.section(QStringLiteral("schema="), 1).section(QLatin1Char('&'), 0, 0);
            blocker->start(
                psql(),
                {SqlTest::postgresBaseUrl(), QStringLiteral("-X"), QStringLiteral("-qAt"),
                 QStringLiteral("-v"), QStringLiteral("ON_ERROR_STOP=1"), QStringLiteral("-c"),
                 QStringLiteral("BEGIN"), QStringLiteral("-c"),
                 QStringLiteral("LOCK TABLE %1.warden_leases IN EXCLUSIVE MODE").arg(schema),
                 QStringLiteral("-c"), QStringLiteral("SELECT 'locked'"), QStringLiteral("-c"),
                 QStringLiteral("SELECT pg_sleep(%1)").arg(double(ms) / 1000.0),
                 QStringLiteral("-c"), QStringLiteral("COMMIT")});
        }
        ++blocks;
        event(QStringLiteral("locking the leases table for %1 ms").arg(ms));
        QElapsedTimer timer;
        timer.start();
        while (timer.elapsed() < 15000) {
            if (blocker->canReadLine() && blocker->readLine().startsWith("locked")) {
                blockedAt = monoUs();
                return true;
            }
            if (blocker->state() == QProcess::NotRunning && !blocker->canReadLine())
                break;
            blocker->waitForReadyRead(20);
        }
        failures << QStringLiteral("the table lock was not taken: %1")
                        .arg(QString::fromUtf8(blocker->readAllStandardError()));
        return false;
    }
    bool isBlocking() const { return blocker && blocker->state() != QProcess::NotRunning; }
    void finishBlock()
    {
        if (!blocker)
            return;
        QElapsedTimer timer;
        const auto logged =
            qScopeGuard([this] { event(QStringLiteral("the leases table lock seen ended")); });
        timer.start();
        while (blocker->state() != QProcess::NotRunning && timer.elapsed() < 30000)
            QTest::qWait(20);
        if (blocker->state() != QProcess::NotRunning) {
            failures << QStringLiteral("the table lock was not given back within 30 s");
            blocker->kill();
            blocker->waitForFinished(5000);
        } else if (blocker->exitStatus() != QProcess::NormalExit || blocker->exitCode() != 0) {
            failures << QStringLiteral("the table lock ended badly: %1")
                            .arg(QString::fromUtf8(blocker->readAllStandardError()));
        }
        blocker.reset();
    }
    void block(int ms)
    {
        if (startBlock(ms))
            finishBlock();
    }

    // --- Nodes ---

    bool start(const QString &id)
    {
        const bool ok = cluster.start(id);
        event(id + (ok ? QStringLiteral(": started") : QStringLiteral(": did not start")));
        return ok;
    }
    qint64 kill(const QString &id)
    {
        event(id + QStringLiteral(": SIGKILL"));
        return cluster.kill(id);
    }
    void stop(const QString &id)
    {
        event(id + QStringLiteral(": SIGTERM"));
        cluster.terminate(id);
        cluster.waitForExit(id, 20000);
        event(id + QStringLiteral(": stopped"));
    }

    // --- Freezing ---

    void freeze(const QString &id, bool tree)
    {
        event(QStringLiteral("%1: SIGSTOP of warden%2")
                  .arg(id, tree ? QStringLiteral(" and its tree") : QStringLiteral(" alone")));
        const qint64 before = monoUs();
        cluster.freeze(id, tree);
        if (tree)
            frozenSince.insert(id, before);
    }
    void thaw(const QString &id)
    {
        // Taken before SIGCONT: a thawed writer may take its time stamp before we could.
        const qint64 before = monoUs();
        const bool tree = frozenSince.contains(id);
        cluster.thaw(id);
        event(QStringLiteral("%1: SIGCONT").arg(id));
        if (tree)
            treeFreezes.append(TreeFreeze{id.toUtf8(), frozenSince.take(id), before});
    }

    // --- Reading the writes while it runs ---

    //! The node holding \a lock now: the greatest token written in the last \a withinMs.
    std::optional<Write> holder(const QString &lock, qint64 withinMs = 500) const
    {
        const QList<Write> writes = readWrites(writesPath(lock));
        const qint64 since = monoUs() - withinMs * 1000;
        std::optional<Write> best;
        for (const Write &w : writes) {
            if (w.time >= since && (!best || w.token > best->token))
                best = w;
        }
        return best;
    }
    //! Waits until \a lock is written by someone (at most \a timeoutMs).
    std::optional<Write> waitForHolder(const QString &lock, int timeoutMs = 20000) const
    {
        const qint64 deadline = monoUs() + qint64(timeoutMs) * 1000;
        while (monoUs() < deadline) {
            if (auto h = holder(lock))
                return h;
            sleepMs(100);
        }
        return std::nullopt;
    }

    QString rel(qint64 us) const { return at(us, origin); }
    void note(const QString &text) const
    {
        qInfo("%s/%s: %s", qPrintable(name), qPrintable(backend), qPrintable(text));
    }
    //! A fault or action, for the timeline printed when the scenario fails.
    void event(const QString &text) { events << rel(monoUs()) + QLatin1Char(' ') + text; }
    //! The (node/token) pairs that wrote \a lock in the last \a withinMs, e.g. "a/3 b/2".
    QString writersNow(const QString &lock, qint64 withinMs = 300) const
    {
        const qint64 since = monoUs() - withinMs * 1000;
        QStringList out;
        for (const Write &w : readWrites(writesPath(lock))) {
            const QString pair =
                QStringLiteral("%1/%2").arg(QString::fromUtf8(w.node)).arg(w.token);
            if (w.time >= since && !out.contains(pair))
                out << pair;
        }
        return out.isEmpty() ? QStringLiteral("nobody") : out.join(QLatin1Char(' '));
    }

    /*!
        Thaws what is frozen, stops every node with SIGTERM, checks that nothing of the scenario
        is left running, analyses both locks and prints the summary. Adds to failures.
    */
    void finish()
    {
        for (const QString &id : cluster.ids()) {
            if (cluster.isFrozen(id))
                thaw(id);
        }
        finishBlock();
        const QStringList ids = cluster.ids();
        for (const QString &id : ids)
            cluster.terminate(id);
        for (const QString &id : ids)
            cluster.waitForExit(id, 30000);

        // Nothing of the scenario may outlive its nodes: no writer, no keeper.
        QStringList left;
        QElapsedTimer timer;
        timer.start();
        do {
            left = processesMentioning(dir);
            if (!left.isEmpty())
                QTest::qWait(100);
        } while (!left.isEmpty() && timer.elapsed() < 5000);
        if (!left.isEmpty()) {
            failures << QStringLiteral("left running 5 s after every node stopped: %1")
                            .arg(left.join(QStringLiteral("; ")));
            for (const QString &entry : std::as_const(left))
                ::kill(pid_t(entry.section(QLatin1Char(' '), 0, 0).toLongLong()), SIGKILL);
        }

        int sections = 0, runs = 0, overlaps = 0, regressions = 0, fenced = 0, stale = 0;
        qint64 maxOverlap = 0;
        for (const QString &lock : {QStringLiteral("leader"), QStringLiteral("ticker")}) {
            const LockReport r = analyse(lock, readWrites(writesPath(lock)), treeFreezes, origin);
            qInfo("SUMMARY %s/%s lock %s: rounds %d, critical sections %d (runs %d, writes %d), "
                  "overlaps %d, regressions %d (in %d sections; stale run starts %d), max overlap "
                  "%.1f ms, fenced %d (max %.1f ms, %d stale writes)",
                  qPrintable(name), qPrintable(backend), qPrintable(lock), rounds, r.sections,
                  r.runs, r.writes, r.overlaps, r.regressions, r.regressedSections, r.staleStarts,
                  double(r.maxOverlapUs) / 1000.0, r.fenced, double(r.maxFencedUs) / 1000.0,
                  r.fencedWrites);
            sections += r.sections;
            runs += r.runs;
            overlaps += r.overlaps;
            regressions += r.regressions;
            fenced += r.fenced;
            stale += r.staleStarts;
            maxOverlap = std::max(maxOverlap, r.maxOverlapUs);
            if (r.writes == 0)
                failures
                    << QStringLiteral("%1: nothing was written: the workers never ran").arg(lock);
            for (const QString &p : r.problems.mid(0, 15))
                failures << p;
            if (r.problems.size() > 15)
                failures << QStringLiteral("%1: ... and %2 more problems")
                                .arg(lock)
                                .arg(r.problems.size() - 15);
        }
        const QStringList crashes = cluster.crashes();
        qInfo("SUMMARY %s/%s: rounds %d, critical sections %d (runs %d), overlaps %d, "
              "regressions %d, max overlap %.1f ms, fenced %d, stale run starts %d, crashes %lld, "
              "%.1f s",
              qPrintable(name), qPrintable(backend), rounds, sections, runs, overlaps, regressions,
              double(maxOverlap) / 1000.0, fenced, stale, static_cast<long long>(crashes.size()),
              double(monoUs() - origin) / 1e6);
        for (const QString &crash : crashes)
            failures << QStringLiteral("crash: ") + crash;
        if (!failures.isEmpty()) {
            failures << QStringLiteral("timeline (times since the scenario began; files in %1):")
                            .arg(dir);
            failures << events;
        }
    }

    static QString psql()
    {
        const QString bin =
            qEnvironmentVariable("PGBIN", QStringLiteral("/usr/lib/postgresql/15/bin"));
        const QString candidate = QDir(bin).filePath(QStringLiteral("psql"));
        return QFileInfo(candidate).isExecutable()
                   ? candidate
                   : QStandardPaths::findExecutable(QStringLiteral("psql"));
    }

    const QString name;
    const QString backend;
    const QString url;
    const QString dir;
    Cluster cluster;
    qint64 origin = 0;
    int rounds = 0;
    int blocks = 0;
    qint64 blockedAt = 0;
    QList<TreeFreeze> treeFreezes;
    QHash<QString, qint64> frozenSince;
    QStringList failures;
    QStringList events;
    std::unique_ptr<QProcess> blocker;
};

//! The first write after \a after of \a lock by another node than \a notNode with a token above \a
//! token.
std::optional<Write> takeover(const QList<Write> &writes, qint64 after, const QByteArray &notNode,
                              qint64 token)
{
    for (const Write &w : writes) {
        if (w.time > after && w.node != notNode && w.token > token)
            return w;
    }
    return std::nullopt;
}

//! The last write of (\a node, \a token).
std::optional<Write> lastOf(const QList<Write> &writes, const QByteArray &node, qint64 token)
{
    std::optional<Write> out;
    for (const Write &w : writes) {
        if (w.node == node && w.token == token)
            out = w;
    }
    return out;
}

} // namespace

class tst_LeaseSafety : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void analysis();
    void slowAcquire_data() { addRows(); }
    void slowAcquire();
    void freezeWarden_data() { addRows(); }
    void freezeWarden();
    void freezeTree_data() { addRows(); }
    void freezeTree();
    void ignoreTerm_data() { addRows(); }
    void ignoreTerm();
    void skewedClocks_data() { addRows(); }
    void skewedClocks();
    void chaos_data() { addRows(); }
    void chaos();

private:
    static void addRows()
    {
        SqlTest::addBackendColumn();
        const QString only = qEnvironmentVariable("WARDEN_TEST_VARIANT");
        for (const char *backend : {"sqlite", "postgresql"}) {
            if (only.isEmpty() || only == QLatin1String(backend))
                QTest::newRow(backend) << QString::fromLatin1(backend);
        }
    }
    //! A fresh database URL for the row's backend (the schema is created here), or empty.
    QString freshUrl(const QString &backend);
    void freezeRounds(const QString &backend, const QString &url, bool tree);
    static void freezeStandby(Scenario &s, int round, bool tree);
    //! Prints every problem on a line of its own (a failure message is cut short), then fails.
    static void verify(const Scenario &s)
    {
        for (const QString &failure : s.failures)
            qWarning("%s/%s: %s", qPrintable(s.name), qPrintable(s.backend), qPrintable(failure));
        QVERIFY2(s.failures.isEmpty(),
                 qPrintable(QStringLiteral("%1/%2: %3 problems (listed above); the first: %4")
                                .arg(s.name, s.backend)
                                .arg(s.failures.size())
                                .arg(s.failures.value(0))));
    }

    QTemporaryDir m_dir;
};

void tst_LeaseSafety::initTestCase()
{
    QVERIFY(m_dir.isValid());
    if (qEnvironmentVariableIntValue("WARDEN_LEASESAFETY_KEEP") == 1) {
        m_dir.setAutoRemove(false);
        qInfo("files are kept in %s", qPrintable(m_dir.path()));
    }
    chance(); // prints the seed
    QVERIFY(QFileInfo(QStringLiteral(WARDEN_CS_WRITER)).isExecutable());
}

void tst_LeaseSafety::cleanupTestCase()
{
    // Whatever a failed check left behind (the Cluster destructors kill their nodes).
    for (const QString &entry : processesMentioning(m_dir.path()))
        ::kill(pid_t(entry.section(QLatin1Char(' '), 0, 0).toLongLong()), SIGKILL);
}

// The checker itself, on made-up writes: it must see what the scenarios look for.
void tst_LeaseSafety::analysis()
{
    auto section = [](const char *node, qint64 token, qint64 pid, qint64 from, qint64 to) {
        QList<Write> out;
        qint64 seq = 0;
        for (qint64 t = from; t <= to; t += 10)
            out.append(Write{node, token, t, pid, seq++});
        return out;
    };
    auto sorted = [](QList<Write> writes) {
        std::stable_sort(writes.begin(), writes.end(),
                         [](const Write &a, const Write &b) { return a.time < b.time; });
        return writes;
    };
    // A clean handover: nothing to report.
    LockReport r =
        analyse(QStringLiteral("x"),
                sorted(section("a", 1, 10, 0, 1000) + section("b", 2, 20, 1100, 2000)), {}, 0);
    QCOMPARE(r.sections, 2);
    QCOMPARE(r.overlaps + r.regressions + r.fenced + r.staleStarts, 0);
    // a's command outlives its lease: an overlap and regressed writes.
    r = analyse(QStringLiteral("x"),
                sorted(section("a", 1, 10, 0, 1500) + section("b", 2, 20, 1100, 2000)), {}, 0);
    QCOMPARE(r.overlaps, 1);
    QCOMPARE(r.maxOverlapUs, 400);
    QCOMPARE(r.regressions, 40);
    QCOMPARE(r.staleStarts, 0);
    // The same after a freeze of a's tree from 500 to 1450: fenced if it ends within the grace.
    const QList<TreeFreeze> freeze{TreeFreeze{"a", 500, 1450}};
    r = analyse(QStringLiteral("x"),
                sorted(section("a", 1, 10, 0, 490) + section("a", 1, 10, 1450, 1500) +
                       section("b", 2, 20, 1100, 2000)),
                freeze, 0);
    QCOMPARE(r.overlaps, 0);
    QCOMPARE(r.fenced, 1);
    QCOMPARE(r.regressions, 0);
    QCOMPARE(r.fencedWrites, 6);
    // ... not if a run of a begins after the thaw with the old token (a stale run start) ...
    r = analyse(QStringLiteral("x"),
                sorted(section("a", 1, 10, 0, 490) + section("a", 1, 11, 1450, 1500) +
                       section("b", 2, 20, 1100, 2000)),
                freeze, 0);
    QCOMPARE(r.overlaps, 1);
    QCOMPARE(r.staleStarts, 1);
    // ... nor if it goes on past the grace.
    r = analyse(QStringLiteral("x"),
                sorted(section("a", 1, 10, 0, 490) +
                       section("a", 1, 10, 1450, 1450 + kStaleGraceMs * 1000 + 100) +
                       section("b", 2, 20, 1100, 1450 + kStaleGraceMs * 1000 + 500)),
                freeze, 0);
    QCOMPARE(r.overlaps, 1);
    QVERIFY(r.regressions > 0);
    // A smaller token that begins after a greater one, and a token written by two nodes.
    r = analyse(QStringLiteral("x"),
                sorted(section("b", 2, 20, 0, 1000) + section("a", 1, 10, 1100, 1200) +
                       section("c", 2, 30, 1300, 1400)),
                {}, 0);
    QCOMPARE(r.overlaps, 0);
    QCOMPARE(r.regressedSections, 2);
    QCOMPARE(r.staleStarts, 2);
}

QString tst_LeaseSafety::freshUrl(const QString &backend)
{
    const QString url = SqlTest::freshUrl(backend, m_dir);
    if (url.isEmpty())
        return url;
    // The schema exists before the nodes start; the test keeps no connection open.
    const auto db = Warden::Database::open(url);
    if (!db.isOk()) {
        qWarning("cannot open %s: %s", qPrintable(url), qPrintable(db.errorString()));
        return QString();
    }
    return url;
}

#define LEASESAFETY_URL(var)                                                                       \
    QFETCH(QString, backend);                                                                      \
    if (backend == QLatin1String("postgresql") && SqlTest::postgresBaseUrl().isEmpty()) {          \
        if (SqlTest::isCi())                                                                       \
            QFAIL(WARDEN_PG_MISSING_TEXT);                                                         \
        QSKIP(WARDEN_PG_MISSING_TEXT);                                                             \
    }                                                                                              \
    const QString var = freshUrl(backend);                                                         \
    QVERIFY(!var.isEmpty())

// 1. Another process holds the leases table for 1 s or 4.5 s (longer than the ttl) while the
//    standby polls for the leader lease, the holder renews and the ticks acquire: every
//    acquisition or renewal in that time returns late. One leader at a time, no overlap.
void tst_LeaseSafety::slowAcquire()
{
    LEASESAFETY_URL(url);
    Scenario s(QStringLiteral("slowAcquire"), backend, url, m_dir.path());
    s.addNode(QStringLiteral("a"));
    s.addNode(QStringLiteral("b"));
    QVERIFY(s.startAll());
    QVERIFY(s.waitForHolder(QStringLiteral("leader")));
    const int rounds = envInt("WARDEN_LEASESAFETY_ROUNDS", 6);
    for (int round = 0; round < rounds; ++round) {
        sleepMs(between(300, 1500));
        const int ms = round % 2 == 0 ? 4500 : 1000;
        const QString before = s.writersNow(QStringLiteral("leader"));
        s.block(ms);
        ++s.rounds;
        sleepMs(ms > kTtlMs ? kTtlMs + 500 : 1500);
        s.note(QStringLiteral("round %1: table locked %2 ms; leader lock written by %3 before, "
                              "by %4 after")
                   .arg(round)
                   .arg(ms)
                   .arg(before, s.writersNow(QStringLiteral("leader"))));
    }
    sleepMs(2000);
    s.finish();
    verify(s);
}

/*
    Freezes the leader's standby (warden alone, or with its tree) while its acquisition waits
    on the leases table, which another process holds locked for 4 s, until the ttl and 2 s
    after the table is free again. PostgreSQL runs the queued statement when the table is
    free and may grant the lease to the frozen node, which lets it expire before SIGCONT; the
    other node then takes over. After SIGCONT the frozen node must not begin a run with that
    token.
*/
void tst_LeaseSafety::freezeStandby(Scenario &s, int round, bool tree)
{
    const QString lock = QStringLiteral("leader");
    const auto holder = s.holder(lock);
    if (!holder) {
        s.failures << QStringLiteral("round %1: nobody holds %2").arg(round).arg(lock);
        return;
    }
    // A standby that has polled for a while (a node that just started may not yet).
    waitUntil(s.origin + 3000 * 1000);
    QString standby;
    for (const QString &id : s.cluster.ids()) {
        if (id.toUtf8() != holder->node)
            standby = id;
    }
    // The keeper thread that polls for the leader lease also renews the leases of runs: while
    // it waits on the table to renew a ticker run's lease, it sends no acquisition. So the
    // block begins when the standby runs no ticker run.
    const qint64 calmDeadline = monoUs() + 10000 * 1000;
    bool calm = false;
    while (!calm && monoUs() < calmDeadline) {
        qint64 last = 0;
        for (const Write &w : readWrites(s.writesPath(QStringLiteral("ticker")))) {
            if (w.node == standby.toUtf8())
                last = w.time;
        }
        calm = monoUs() - last > 200 * 1000;
        if (!calm)
            sleepMs(20);
    }
    if (!calm)
        s.note(QStringLiteral("round %1: %2 ran ticker runs back to back for 10 s; its leader "
                              "acquisition may not wait on the table")
                   .arg(round)
                   .arg(standby));
    if (!s.startBlock(4000))
        return;
    sleepMs(1000); // the standby polls every 500 ms: its acquisition is waiting now
    s.freeze(standby, tree);
    s.finishBlock();
    // Long enough for a lease granted to the frozen node to expire and pass to the other.
    sleepMs(kTtlMs + 2000);
    s.thaw(standby);
    const qint64 thawedAt = monoUs();
    ++s.rounds;
    sleepMs(kTtlMs);
    const QList<Write> writes = readWrites(s.writesPath(lock));
    std::optional<Write> began;
    qint64 othersMax = 0;
    for (const Write &w : writes) {
        if (w.time >= thawedAt && w.node == standby.toUtf8() && w.seq == 0) {
            began = w;
            break;
        }
        if (w.node != standby.toUtf8())
            othersMax = std::max(othersMax, w.token);
    }
    s.note(QStringLiteral("round %1: froze %2 %3(standing by for %4, its acquisition waiting on "
                          "the table locked for 4000 ms) until %5 ms after the table was free "
                          "again; %6")
               .arg(round)
               .arg(standby, tree ? QStringLiteral("with its tree ") : QString(), lock)
               .arg(kTtlMs + 2000)
               .arg(began ? QStringLiteral("after SIGCONT it began a run with token %1, %2 ms "
                                           "after SIGCONT, when the others had written up to "
                                           "token %3")
                                .arg(began->token)
                                .arg((began->time - thawedAt) / 1000)
                                .arg(othersMax)
                          : QStringLiteral("it began no run within %1 ms of SIGCONT, the lock is "
                                           "written by %2")
                                .arg(kTtlMs)
                                .arg(s.writersNow(lock))));
}

void tst_LeaseSafety::freezeRounds(const QString &backend, const QString &url, bool tree)
{
    Scenario s(tree ? QStringLiteral("freezeTree") : QStringLiteral("freezeWarden"), backend, url,
               m_dir.path());
    s.addNode(QStringLiteral("a"));
    s.addNode(QStringLiteral("b"));
    QVERIFY(s.startAll());
    QVERIFY(s.waitForHolder(QStringLiteral("leader")));
    const int rounds = envInt("WARDEN_LEASESAFETY_ROUNDS", 4);
    for (int round = 0; round < rounds; ++round) {
        sleepMs(between(500, 1500));
        // First, while the ticker still keeps its grid (after a freeze a node runs its ticks
        // back to back for a while), the leader's standby while its acquisition waits on the
        // locked table (freezeStandby); then the leader's holder; the node in the middle of a
        // ticker run; the node that has just finished a ticker run and keeps its lease until
        // shortly before its next tick.
        const int kind = round % 4;
        if (kind == 0) {
            freezeStandby(s, round, tree);
            continue;
        }
        QString lock = QStringLiteral("leader");
        QString phase = QStringLiteral("running");
        std::optional<Write> victim = s.holder(lock, 300);
        if (kind != 1) {
            const bool afterRun = kind == 3;
            const qint64 deadline = monoUs() + 9000 * 1000;
            std::optional<Write> found;
            std::optional<Write> running; // the fallback when no run ends in time
            while (!found && monoUs() < deadline) {
                const QList<Write> writes = readWrites(s.writesPath(QStringLiteral("ticker")));
                const qint64 now = monoUs();
                if (!writes.isEmpty()) {
                    const Write &last = writes.last();
                    const qint64 age = now - last.time;
                    if (age < 100 * 1000 && last.seq > 20 && last.seq < 200) {
                        running = last;
                        if (!afterRun)
                            found = last;
                    }
                    // A run that wrote for its whole length and ended just now.
                    if (afterRun && age > 60 * 1000 && age < 200 * 1000) {
                        qint64 began = last.time;
                        for (const Write &w : writes) {
                            if (w.node == last.node && w.pid == last.pid) {
                                began = w.time;
                                break;
                            }
                        }
                        if (last.time - began > (kTickerRunMs - 500) * 1000)
                            found = last;
                    }
                }
                if (!found)
                    QTest::qWait(10);
            }
            if (found) {
                lock = QStringLiteral("ticker");
                phase = afterRun ? QStringLiteral("just after its run") : QStringLiteral("running");
                victim = found;
            } else if (running && monoUs() - running->time < 1000 * 1000) {
                // After a freeze a node may run its ticks back to back: no run ends idle.
                lock = QStringLiteral("ticker");
                phase = QStringLiteral("running; no run ended idle within 9 s");
                victim = running;
            }
        }
        if (!victim) {
            s.failures << QStringLiteral("round %1: nobody holds %2").arg(round).arg(lock);
            continue;
        }
        const QString id = QString::fromUtf8(victim->node);
        const qint64 frozenAt = monoUs();
        s.freeze(id, tree);
        sleepMs(2 * kTtlMs);
        s.thaw(id);
        const qint64 thawedAt = monoUs();
        ++s.rounds;
        sleepMs(kTtlMs);
        // The figures of this round.
        const QList<Write> writes = readWrites(s.writesPath(lock));
        const auto next = takeover(writes, frozenAt, victim->node, victim->token);
        const auto last = lastOf(writes, victim->node, victim->token);
        QString text = QStringLiteral("round %1: froze %2 (%3 token %4, %5) %6for %7 ms; ")
                           .arg(round)
                           .arg(id, lock)
                           .arg(victim->token)
                           .arg(phase)
                           .arg(tree ? QStringLiteral("with its tree ") : QString())
                           .arg(2 * kTtlMs);
        text += next ? QStringLiteral("%1 took over with token %2 %3 ms after the freeze; ")
                           .arg(QString::fromUtf8(next->node))
                           .arg(next->token)
                           .arg((next->time - frozenAt) / 1000)
                     : QStringLiteral("nobody took over; ");
        if (last) {
            text += QStringLiteral("the frozen writer's last write came %1 ms after the freeze")
                        .arg((last->time - frozenAt) / 1000);
            if (next)
                text += QStringLiteral(", %1 ms after the takeover")
                            .arg((last->time - next->time) / 1000);
            if (tree && last->time >= thawedAt)
                text += QStringLiteral(", %1 ms after SIGCONT").arg((last->time - thawedAt) / 1000);
        }
        s.note(text);
    }
    sleepMs(1000);
    s.finish();
    verify(s);
}

// 2. warden alone is frozen for twice the ttl while its command runs: the keeper and the
//    command are not frozen, so something other than warden must stop the command before
//    the lease can pass to the other node. No overlap. The rounds freeze in turn the leader's
//    standby while its acquisition waits on the locked table (see freezeStandby), the leader's
//    holder, a node in the middle of a ticker run, and one that has just finished it.
void tst_LeaseSafety::freezeWarden()
{
    LEASESAFETY_URL(url);
    freezeRounds(backend, url, false);
}

// 3. warden and its whole tree (keeper, command) are frozen for twice the ttl: the writes of
//    the frozen node after the other took over may overlap in time but must carry a smaller
//    token, end soon after SIGCONT, and the frozen node must start no run on its lost lease.
//    The same rounds as in 2.
void tst_LeaseSafety::freezeTree()
{
    LEASESAFETY_URL(url);
    freezeRounds(backend, url, true);
}

// 4. The command ignores SIGTERM and kill_grace is 30 s, ten times the ttl. The holder loses
//    its lease (the table is locked past the ttl, or warden alone is frozen): the command must
//    be gone before the next holder's first write.
void tst_LeaseSafety::ignoreTerm()
{
    LEASESAFETY_URL(url);
    Scenario s(QStringLiteral("ignoreTerm"), backend, url, m_dir.path());
    NodeOptions options;
    options.ignoreTerm = true;
    options.killGrace = QStringLiteral("30s");
    s.addNode(QStringLiteral("a"), options);
    s.addNode(QStringLiteral("b"), options);
    QVERIFY(s.startAll());
    QVERIFY(s.waitForHolder(QStringLiteral("leader")));
    const int rounds = envInt("WARDEN_LEASESAFETY_ROUNDS", 2);
    for (int round = 0; round < rounds; ++round) {
        if (round > 0) {
            // Independent rounds: a command that outlived its lease in the round before must
            // not decide this one. SIGKILL of warden takes its commands along (the keeper).
            for (const QString &id : s.cluster.ids())
                s.kill(id);
            sleepMs(kTtlMs + 500); // the leases expire
            for (const QString &id : s.cluster.ids())
                QVERIFY(s.start(id));
            QVERIFY(s.waitForHolder(QStringLiteral("leader")));
        }
        sleepMs(between(500, 1500));
        const auto victim = s.holder(QStringLiteral("leader"));
        if (!victim) {
            s.failures << QStringLiteral("round %1: nobody holds the leader lease").arg(round);
            continue;
        }
        const bool byBlock = round % 2 == 0;
        const qint64 lostAt = monoUs();
        if (byBlock) {
            s.block(4500);
        } else {
            s.freeze(QString::fromUtf8(victim->node), false);
            sleepMs(2 * kTtlMs);
            s.thaw(QString::fromUtf8(victim->node));
        }
        ++s.rounds;
        sleepMs(kTtlMs + 2000);
        const QList<Write> writes = readWrites(s.writesPath(QStringLiteral("leader")));
        const auto next = takeover(writes, lostAt, victim->node, victim->token);
        const auto last = lastOf(writes, victim->node, victim->token);
        s.note(QStringLiteral("round %1: %2 (holder %3 token %4); next holder's first write %5; "
                              "old command's last write %6 (%7)")
                   .arg(round)
                   .arg(byBlock ? QStringLiteral("table locked 4500 ms")
                                : QStringLiteral("warden frozen %1 ms").arg(2 * kTtlMs))
                   .arg(QString::fromUtf8(victim->node))
                   .arg(victim->token)
                   .arg(next ? QStringLiteral("%1 ms after the fault began (%2 token %3)")
                                   .arg((next->time - lostAt) / 1000)
                                   .arg(QString::fromUtf8(next->node))
                                   .arg(next->token)
                             : QStringLiteral("none"))
                   .arg(last ? QStringLiteral("%1 ms after the fault began")
                                   .arg((last->time - lostAt) / 1000)
                             : QStringLiteral("none"))
                   .arg(next && last
                            ? (last->time < next->time ? QStringLiteral("gone %1 ms before")
                                                             .arg((next->time - last->time) / 1000)
                                                       : QStringLiteral("still writing %1 ms after")
                                                             .arg((last->time - next->time) / 1000))
                            : QStringLiteral("-")));
    }
    s.finish();
    verify(s);
}

namespace {

struct NodeView
{
    bool present = false;
    bool alive = false;
    qint64 offsetMs = 0;
    int heartbeatMs = 0;
};

//! `warden nodes --json`, run with the true clock.
QHash<QString, NodeView> nodesView(const QString &url)
{
    QHash<QString, NodeView> out;
    const Output result =
        run({QStringLiteral("nodes"), QStringLiteral("--database"), url, QStringLiteral("--json")});
    for (const QJsonValue &value : result.json().array()) {
        const QJsonObject o = value.toObject();
        NodeView v;
        v.present = true;
        v.alive = o.value(QStringLiteral("alive")).toBool();
        v.offsetMs = qint64(o.value(QStringLiteral("clock_offset_ms")).toDouble());
        v.heartbeatMs = o.value(QStringLiteral("heartbeat_interval_ms")).toInt();
        out.insert(o.value(QStringLiteral("id")).toString(), v);
    }
    return out;
}

} // namespace

// 5. Two nodes, one with its wall clock an hour ahead, one an hour behind (the database's
//    clock and the monotonic clock are true). `warden nodes` shows the live nodes alive and a
//    killed one not alive within about three heartbeats; nobody steals a held lease; after
//    SIGKILL of the leader the other takes over once the lease expired, after about the ttl.
void tst_LeaseSafety::skewedClocks()
{
    LEASESAFETY_URL(url);
    Scenario s(QStringLiteral("skewedClocks"), backend, url, m_dir.path());
    NodeOptions ahead;
    ahead.clockOffsetS = 3600;
    // Frequent renewals: the lease of a killed leader expires 2.7 to 3 s later, so that the
    // takeover time says something about the ttl and little about the renewal's phase.
    ahead.renewInterval = QStringLiteral("300ms");
    NodeOptions behind = ahead;
    behind.clockOffsetS = -3600;
    s.addNode(QStringLiteral("ahead"), ahead);
    s.addNode(QStringLiteral("behind"), behind);
    QVERIFY(s.startAll());
    QVERIFY(s.waitForHolder(QStringLiteral("leader")));
    auto db = openDatabase(url);
    QVERIFY(db);
    const QString leaderLock = QStringLiteral("leader");

    for (int round = 0; round < 2; ++round) {
        // Both nodes alive, as seen with the true clock.
        QHash<QString, NodeView> view;
        const qint64 aliveDeadline = monoUs() + 6000 * 1000;
        do {
            view = nodesView(url);
            if (view.value(QStringLiteral("ahead")).alive &&
                view.value(QStringLiteral("behind")).alive)
                break;
            sleepMs(500);
        } while (monoUs() < aliveDeadline);
        QSet<QString> silentBefore; // reported once per round
        for (const QString &id : {QStringLiteral("ahead"), QStringLiteral("behind")}) {
            const NodeView v = view.value(id);
            if (!v.alive)
                silentBefore.insert(id);
            s.note(QStringLiteral("round %1: nodes: %2 present %3 alive %4 clock_offset_ms %5")
                       .arg(round)
                       .arg(id)
                       .arg(v.present)
                       .arg(v.alive)
                       .arg(v.offsetMs));
            if (!v.alive)
                s.failures << QStringLiteral("round %1: `warden nodes` shows the live node %2 "
                                             "(clock_offset_ms %3) as not alive")
                                  .arg(round)
                                  .arg(id)
                                  .arg(v.offsetMs);
        }

        // Nobody steals the held lease: 2 ttl of one holder, one token.
        const auto holder = s.holder(leaderLock);
        QVERIFY(holder);
        const qint64 watchFrom = monoUs();
        sleepMs(2 * kTtlMs);
        for (const Write &w : readWrites(s.writesPath(leaderLock))) {
            if (w.time > watchFrom && (w.node != holder->node || w.token != holder->token)) {
                s.failures << QStringLiteral("round %1: %2 wrote token %3 at %4 while %5 held "
                                             "token %6 and was healthy")
                                  .arg(round)
                                  .arg(QString::fromUtf8(w.node))
                                  .arg(w.token)
                                  .arg(s.rel(w.time), QString::fromUtf8(holder->node))
                                  .arg(holder->token);
                break;
            }
        }

        // SIGKILL of the leader.
        const QString victim = QString::fromUtf8(s.holder(leaderLock)->node);
        const QString survivor =
            victim == QLatin1String("ahead") ? QStringLiteral("behind") : QStringLiteral("ahead");
        const qint64 token = s.holder(leaderLock)->token;
        const qint64 killedAt = s.kill(victim);
        // When the lease expires on the database's clock, on the monotonic clock.
        qint64 expiresMono = 0;
        qint64 renewedMono = 0;
        const auto leases = db->lockManager()->leases();
        if (leases.isOk()) {
            for (const Warden::Lease &l : leases.value()) {
                if (l.name == leaderLock && l.holder == victim && l.fencingToken == token) {
                    const qint64 now = monoUs();
                    const QDateTime wall = QDateTime::currentDateTimeUtc();
                    expiresMono = now + wall.msecsTo(l.expiresAt) * 1000;
                    renewedMono = now + wall.msecsTo(l.renewedAt) * 1000;
                }
            }
        }
        if (expiresMono == 0)
            s.failures << QStringLiteral("round %1: the lease of the killed leader %2 (token %3) "
                                         "was not found, or already taken")
                              .arg(round)
                              .arg(victim)
                              .arg(token);

        std::optional<Write> next;
        qint64 notAliveAfterMs = -1;
        bool survivorSilent = false;
        int heartbeatMs = 5000;
        const qint64 pollUntil = killedAt + (3 * 5000 + 4000) * 1000LL;
        while (monoUs() < pollUntil && (!next || notAliveAfterMs < 0)) {
            if (!next)
                next = takeover(readWrites(s.writesPath(leaderLock)), killedAt, victim.toUtf8(),
                                token);
            if (notAliveAfterMs < 0) {
                view = nodesView(url);
                const NodeView dead = view.value(victim);
                heartbeatMs = dead.heartbeatMs > 0 ? dead.heartbeatMs : heartbeatMs;
                if (dead.present && !dead.alive)
                    notAliveAfterMs = (monoUs() - killedAt) / 1000;
                if (!view.value(survivor).alive)
                    survivorSilent = true;
            }
            sleepMs(100);
        }
        const qint64 takeoverMs = next ? (next->time - killedAt) / 1000 : -1;
        s.note(QStringLiteral("round %1: killed leader %2 (token %3); %4 took over after %5 ms "
                              "(%6 ms after the lease's last renewal; it expired %7 ms after the "
                              "kill); %2 shown not alive after %8 ms (heartbeat %9 ms)")
                   .arg(round)
                   .arg(victim)
                   .arg(token)
                   .arg(survivor)
                   .arg(takeoverMs)
                   .arg(next && renewedMono ? (next->time - renewedMono) / 1000 : -1)
                   .arg(expiresMono ? (expiresMono - killedAt) / 1000 : -1)
                   .arg(notAliveAfterMs)
                   .arg(heartbeatMs));
        if (!next) {
            s.failures << QStringLiteral("round %1: %2 did not take over within %3 ms of the kill")
                              .arg(round)
                              .arg(survivor)
                              .arg((pollUntil - killedAt) / 1000);
        } else {
            if (takeoverMs < kTtlMs - 500 || takeoverMs > kTtlMs + 3000)
                s.failures << QStringLiteral(
                                  "round %1: takeover after %2 ms, not within [%3, %4] ms")
                                  .arg(round)
                                  .arg(takeoverMs)
                                  .arg(kTtlMs - 500)
                                  .arg(kTtlMs + 3000);
            if (expiresMono && next->time < expiresMono - 10000)
                s.failures << QStringLiteral("round %1: %2 wrote %3 ms before the killed "
                                             "leader's lease expired on the database's clock")
                                  .arg(round)
                                  .arg(survivor)
                                  .arg((expiresMono - next->time) / 1000);
        }
        if (notAliveAfterMs < 0 || notAliveAfterMs > 3 * heartbeatMs + 3000)
            s.failures << QStringLiteral("round %1: `warden nodes` still showed the killed node %2 "
                                         "alive %3 ms after the kill (heartbeat %4 ms)")
                              .arg(round)
                              .arg(victim)
                              .arg(notAliveAfterMs < 0 ? (monoUs() - killedAt) / 1000
                                                       : notAliveAfterMs)
                              .arg(heartbeatMs);
        if (survivorSilent && !silentBefore.contains(survivor))
            s.failures << QStringLiteral("round %1: `warden nodes` showed the live node %2 as not "
                                         "alive")
                              .arg(round)
                              .arg(survivor);
        ++s.rounds;
        QVERIFY(s.start(victim)); // it stands by; the next round kills the other
    }
    s.finish();
    verify(s);
}

// 6. Five nodes for WARDEN_CHAOS_SECONDS: random SIGKILL and restart, graceful restarts, warden
//    frozen alone or with its tree, the leases table locked. Then a graceful stop of all: no
//    overlap (except fenced stale writes of frozen trees), no token regression outside them,
//    no crash, nothing left running.
void tst_LeaseSafety::chaos()
{
    LEASESAFETY_URL(url);
    Scenario s(QStringLiteral("chaos"), backend, url, m_dir.path());
    QStringList ids;
    for (int i = 1; i <= 5; ++i) {
        ids << QStringLiteral("n%1").arg(i);
        s.addNode(ids.last());
    }
    QVERIFY(s.startAll());
    const int seconds = envInt("WARDEN_CHAOS_SECONDS", 60);
    QHash<QString, qint64> thawAt;
    QHash<QString, qint64> restartAt;
    int kills = 0, terms = 0, freezesAlone = 0, freezesTree = 0;
    const qint64 end = monoUs() + qint64(seconds) * 1000000;
    while (monoUs() < end) {
        sleepMs(between(500, 1500));
        const qint64 now = monoUs();
        for (const QString &id : ids) {
            if (thawAt.contains(id) && now >= thawAt.value(id)) {
                s.thaw(id);
                thawAt.remove(id);
            }
            if (restartAt.contains(id) && now >= restartAt.value(id)) {
                restartAt.remove(id);
                if (!s.start(id))
                    s.failures << QStringLiteral("%1 did not restart").arg(id);
            }
        }
        if (s.blocker && !s.isBlocking())
            s.finishBlock();
        QStringList candidates;
        for (const QString &id : ids) {
            if (s.cluster.isRunning(id) && !thawAt.contains(id))
                candidates << id;
        }
        if (candidates.size() < 2)
            continue; // keep someone around to take over
        const QString victim = candidates.at(int(chance().bounded(qsizetype(candidates.size()))));
        const int dice = between(0, 99);
        if (dice < 30) {
            s.kill(victim);
            ++kills;
            restartAt.insert(victim, monoUs() + between(300, 2000) * 1000LL);
        } else if (dice < 40) {
            s.stop(victim);
            ++terms;
            restartAt.insert(victim, monoUs() + between(300, 2000) * 1000LL);
        } else if (dice < 80) {
            const bool tree = dice >= 60;
            s.freeze(victim, tree);
            ++(tree ? freezesTree : freezesAlone);
            thawAt.insert(victim, monoUs() + between(1000, 2 * int(kTtlMs)) * 1000LL);
        } else if (!s.blocker) {
            s.startBlock(between(1000, 4500));
        }
        ++s.rounds;
    }
    for (const QString &id : thawAt.keys())
        s.thaw(id);
    s.note(QStringLiteral("%1 s: %2 kills, %3 graceful restarts, %4 freezes of warden alone, %5 of "
                          "the tree, %6 table locks")
               .arg(seconds)
               .arg(kills)
               .arg(terms)
               .arg(freezesAlone)
               .arg(freezesTree)
               .arg(s.blocks));
    s.finish();
    verify(s);
}

QTEST_GUILESS_MAIN(tst_LeaseSafety)
#include "tst_leasesafety.moc"
