// bench_console: the console stays responsive on a large cluster behind a slow database.
//
// A store with 1,000 workers on each of 20 nodes (20,000 statuses), 100,000 log lines, run
// history and leases; the console reads it through a store whose every read sleeps 500 ms
// (in the query thread). Measured in the GUI thread:
//   - the longest gap between ticks of a 1 ms precise timer (the event loop never stalls
//     for more than 50 ms), against the same figure for an idle window;
//   - the time spent applying each snapshot to the models (under 5 ms per refresh);
//   - the peak resident memory (VmHWM, under 200 MB).
// Figures (with PASS/FAIL against the bounds) go to stdout and to /tmp/console-bench.md.
//
//   build/tests/gui/bench_console [--seconds N] [--delay MS]

#include "decoratedstore.h"

#include "logmodel.h"
#include "mainwindow.h"
#include "rowtablemodel.h"

#include <warden/sql/database.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QSettings>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTextStream>
#include <QtCore/QTimer>
#include <QtWidgets/QApplication>
#include <QtWidgets/QTableView>

#include <algorithm>
#include <cstdio>

using namespace Warden;
using namespace Warden::Console;
using namespace std::chrono_literals;

namespace {

qint64 vmHwmKb()
{
    QFile status(QStringLiteral("/proc/self/status"));
    if (!status.open(QIODevice::ReadOnly))
        return -1;
    for (const QByteArray &line : status.readAll().split('\n')) {
        if (line.startsWith("VmHWM:"))
            return line.mid(6).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

//! The longest gap between ticks of a 1 ms precise timer in the GUI thread.
class GapMeter : public QObject
{
public:
    GapMeter()
    {
        m_timer.setTimerType(Qt::PreciseTimer);
        m_timer.setInterval(1);
        connect(&m_timer, &QTimer::timeout, this, [this] {
            const qint64 now = m_clock.nsecsElapsed();
            if (m_last > 0)
                m_longest = std::max(m_longest, now - m_last);
            m_last = now;
            ++m_ticks;
        });
    }
    void start()
    {
        m_longest = 0;
        m_last = 0;
        m_ticks = 0;
        m_clock.start();
        m_timer.start();
    }
    void stop() { m_timer.stop(); }
    double longestMs() const { return double(m_longest) / 1e6; }
    qint64 ticks() const { return m_ticks; }

private:
    QTimer m_timer;
    QElapsedTimer m_clock;
    qint64 m_last = 0;
    qint64 m_longest = 0;
    qint64 m_ticks = 0;
};

void runFor(int ms)
{
    QEventLoop loop;
    QTimer::singleShot(ms, &loop, &QEventLoop::quit);
    loop.exec();
}

bool populate(const QString &url)
{
    DatabaseOptions options;
    options.maximumQueuedLogLines = 200000;
    options.maximumQueuedRuns = 200000;
    auto db = Database::open(url, options);
    if (!db) {
        std::fprintf(stderr, "bench_console: %s\n", qPrintable(db.errorString()));
        return false;
    }
    auto store = db.value().store();
    auto locks = db.value().lockManager();
    const QDateTime now = QDateTime::currentDateTimeUtc();
    const WorkerState states[] = {WorkerState::Idle, WorkerState::Running, WorkerState::Waiting,
                                  WorkerState::Idle, WorkerState::Disabled};
    for (int n = 0; n < 20; ++n) {
        NodeInfo node;
        node.id = QStringLiteral("node-%1").arg(n, 2, 10, QLatin1Char('0'));
        node.hostName = QStringLiteral("host%1.example.net").arg(n);
        node.pid = 1000 + n;
        node.version = QStringLiteral("0.1.0");
        node.startedAt = now.addSecs(-3600);
        node.heartbeatIntervalMs = 1000;
        node.clockOffsetMs = n - 10;
        store->publishNode(node);
        for (int w = 0; w < 1000; ++w) {
            WorkerStatus s;
            s.worker = QStringLiteral("worker-%1").arg(w, 4, 10, QLatin1Char('0'));
            s.node = node.id;
            s.kind = QStringLiteral("periodic");
            s.state = states[(w + n) % 5];
            s.schedule = w % 3 == 0 ? QStringLiteral("cron \"*/5 * * * *\" UTC")
                                    : QStringLiteral("every %1s").arg(5 + w % 50);
            s.lockMode = w % 2 ? LockMode::Leader : LockMode::None;
            s.lockName = s.lockMode == LockMode::Leader ? s.worker : QString();
            s.nextRunAt = now.addSecs(5 + w % 50);
            s.lastRunAt = now.addSecs(-(w % 50));
            s.lastOutcome = w % 17 == 0 ? RunOutcome::Failed : RunOutcome::Succeeded;
            s.lastDurationMs = 10 + w % 900;
            s.lastLatenessMs = w % 7;
            s.runCount = 100 + w;
            s.failureCount = w % 17;
            store->publishWorkerStatus(s);
        }
    }
    for (int i = 0; i < 100000; ++i) {
        LogLine line;
        line.time = now.addMSecs(-100000 + i);
        line.node = QStringLiteral("node-%1").arg(i % 20, 2, 10, QLatin1Char('0'));
        line.worker = QStringLiteral("worker-%1").arg(i % 1000, 4, 10, QLatin1Char('0'));
        line.level = i % 50 == 0 ? QtWarningMsg : QtInfoMsg;
        line.message = QStringLiteral("processed batch %1 of the queue").arg(i);
        store->appendLog(line);
    }
    for (int i = 0; i < 300; ++i) {
        RunRecord run;
        run.runId = QStringLiteral("run-%1").arg(i);
        run.worker = QStringLiteral("worker-0000");
        run.node = QStringLiteral("node-00");
        run.scheduledAt = now.addSecs(-300 + i);
        run.startedAt = run.scheduledAt.addMSecs(3);
        run.finishedAt = run.startedAt.addMSecs(50 + (i * 37) % 400);
        run.outcome = i % 13 == 0 ? RunOutcome::Failed : RunOutcome::Succeeded;
        store->recordRun(run);
    }
    if (!store->flush(120s)) {
        std::fprintf(stderr, "bench_console: the store did not flush\n");
        return false;
    }
    for (int i = 0; i < 200; ++i)
        locks->tryAcquire(QStringLiteral("worker-%1").arg(2 * i + 1, 4, 10, QLatin1Char('0')),
                          QStringLiteral("node-%1").arg(i % 20, 2, 10, QLatin1Char('0')), 600s);
    return true;
}

struct Stats
{
    QList<double> values;
    void add(double v) { values.append(v); }
    double max() const
    {
        return values.isEmpty() ? 0 : *std::max_element(values.begin(), values.end());
    }
    double median() const
    {
        if (values.isEmpty())
            return 0;
        QList<double> sorted = values;
        std::sort(sorted.begin(), sorted.end());
        return sorted.at(sorted.size() / 2);
    }
};

} // namespace

int main(int argc, char **argv)
{
    if (qEnvironmentVariableIsEmpty("QT_QPA_PLATFORM") && qEnvironmentVariableIsEmpty("DISPLAY"))
        qputenv("QT_QPA_PLATFORM", "offscreen");
    qputenv("QT_LOGGING_RULES", "warden.*.info=false");
    QApplication app(argc, argv);
    int seconds = 20;
    const QStringList args = app.arguments();
    if (const int i = int(args.indexOf(QStringLiteral("--seconds"))); i > 0 && i + 1 < args.size())
        seconds = args.at(i + 1).toInt();
    // --delay 0 for profiling (valgrind --tool=callgrind): more refreshes in the same time.
    int delayMs = 500;
    if (const int i = int(args.indexOf(QStringLiteral("--delay"))); i > 0 && i + 1 < args.size())
        delayMs = args.at(i + 1).toInt();

    QTemporaryDir dir;
    QSettings::setDefaultFormat(QSettings::IniFormat);
    QSettings::setPath(QSettings::IniFormat, QSettings::UserScope,
                       dir.filePath(QStringLiteral("settings")));
    const QString url = QStringLiteral("sqlite://") + dir.filePath(QStringLiteral("bench.db"));
    QElapsedTimer setup;
    setup.start();
    if (!populate(url))
        return 2;
    std::printf("store: 1,000 workers x 20 nodes, 100,000 log lines, 300 runs, 200 leases "
                "(written in %.1f s)\n",
                double(setup.elapsed()) / 1000.0);

    auto faults = std::make_shared<ConsoleTest::Faults>();
    faults->delayMs = delayMs;
    const Connector connector = [faults](const QString &u, const QString &p) -> Result<Backend> {
        auto opened = openDatabase(u, p);
        if (!opened)
            return opened;
        Backend b = opened.value();
        b.store = std::make_shared<ConsoleTest::DecoratedStore>(b.store, faults);
        b.lockManager = std::make_shared<ConsoleTest::DecoratedLockManager>(b.lockManager, faults);
        return b;
    };

    MainWindow window(connector);
    window.resize(1280, 800);
    window.show();
    GapMeter meter;

    // Baseline: the idle window, not connected.
    runFor(500);
    const qint64 hwmIdle = vmHwmKb();
    meter.start();
    runFor(3000);
    meter.stop();
    const double idleGap = meter.longestMs();

    Stats snapshotCost, logCost;
    double firstSnapshotMs = -1;
    double firstLogMs = -1;
    QObject::connect(&window, &MainWindow::snapshotApplied, [&](qint64 ns) {
        if (firstSnapshotMs < 0)
            firstSnapshotMs = double(ns) / 1e6;
        else
            snapshotCost.add(double(ns) / 1e6);
    });
    QObject::connect(&window, &MainWindow::logApplied, [&](qint64 ns) {
        if (firstLogMs < 0)
            firstLogMs = double(ns) / 1e6;
        else
            logCost.add(double(ns) / 1e6);
    });
    // Under load: connected, a worker with history selected, an action on the way, the log tail
    // shown for a while.
    meter.start();
    window.openStore(url);
    QTimer::singleShot(4000, &window, [&window] {
        window.selectWorker(QStringLiteral("worker-0000"));
        window.client()->disableWorker(QStringLiteral("worker-0002"), QStringLiteral("bench"));
    });
    QTimer::singleShot(seconds * 500, &window,
                       [&window] { window.setView(MainWindow::View::Log); });
    runFor(seconds * 1000);
    meter.stop();
    const double loadGap = meter.longestMs();
    const qint64 hwm = vmHwmKb();
    const int workerRows = window.workerModel()->rowCount();
    const int logRows = window.logModel()->rowCount();
    const qint64 reads = faults->reads.load();

    const bool gapOk = loadGap < 50.0;
    const bool costOk = !snapshotCost.values.isEmpty() && snapshotCost.max() < 5.0;
    const bool memoryOk = hwm > 0 && hwm < 200 * 1024;
    QString report;
    QTextStream out(&report);
    out << "# bench_console\n\n"
        << "Command: `" << QCoreApplication::applicationFilePath() << " --seconds " << seconds
        << (delayMs != 500 ? QStringLiteral(" --delay %1").arg(delayMs) : QString())
        << "` (QT_QPA_PLATFORM=" << qEnvironmentVariable("QT_QPA_PLATFORM") << ")\n\n"
        << "Store: SQLite, 1,000 workers on each of 20 nodes (20,000 statuses), 100,000 log lines, "
           "300 runs of the selected worker, 200 held leases. Every read of the console's store "
           "sleeps "
        << delayMs << " ms (in the query thread); " << reads << " reads in " << seconds << " s.\n\n"
        << "| figure | measured | baseline (same run) | bound |\n|---|---|---|---|\n"
        << "| longest event-loop gap (1 ms precise timer) | " << QString::number(loadGap, 'f', 1)
        << " ms | " << QString::number(idleGap, 'f', 1)
        << " ms (idle window, not connected) | < 50 ms " << (gapOk ? "PASS" : "FAIL") << " |\n"
        << "| snapshot applied to the models, steady state (max / median of "
        << snapshotCost.values.size() << ") | " << QString::number(snapshotCost.max(), 'f', 2)
        << " / " << QString::number(snapshotCost.median(), 'f', 2)
        << " ms | first snapshot (1,000 rows inserted): "
        << QString::number(firstSnapshotMs, 'f', 2) << " ms | < 5 ms " << (costOk ? "PASS" : "FAIL")
        << " |\n"
        << "| log lines applied (max of " << logCost.values.size() << " tails) | "
        << QString::number(logCost.max(), 'f', 2)
        << " ms | first slice of the tail: " << QString::number(firstLogMs, 'f', 2) << " ms | |\n"
        << "| peak memory (VmHWM) | " << hwm / 1024 << " MB | " << hwmIdle / 1024
        << " MB (idle window) | < 200 MB " << (memoryOk ? "PASS" : "FAIL") << " |\n\n"
        << "Rows shown: " << workerRows << " workers, " << logRows << " log lines.\n";
    out.flush();
    std::fputs(qPrintable(report), stdout);
    QFile file(QStringLiteral("/tmp/console-bench.md"));
    if (file.open(QIODevice::WriteOnly | QIODevice::Truncate))
        file.write(report.toUtf8());
    // The verdicts are in the figures; ./dev bench goes on to the next benchmark either way.
    return workerRows == 1000 ? 0 : 1;
}
