// Scheduler benchmark. Prints, for the same run:
//  1. start lateness of a 100 ms periodic worker (p50/p99/max, cumulative drift) beside
//     std::this_thread::sleep_until and a re-armed Qt::PreciseTimer on the same grid;
//  2. a host with 10,000 periodic workers at 1 s: CPU per minute, peak RSS, threads and file
//     descriptors, beside 10,000 bare QTimers at 1 s in one thread;
//  3. lateness of a 20 ms worker while another worker's run blocks.
// Options: --seconds N (duration of parts 1 and 2, default 30), --workers N (default 10000),
//          --only lateness|host|blocking
#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/store.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFile>
#include <QtCore/QRandomGenerator>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <cstdio>
#include <mutex>
#include <sys/resource.h>
#include <thread>
#include <vector>

using namespace std::chrono;
using namespace std::chrono_literals;
using Clock = steady_clock;

namespace {

struct Stats
{
    double p50 = 0, p99 = 0, max = 0, drift = 0;
    size_t samples = 0;
};

Stats summarize(std::vector<double> lateMs, double driftMs)
{
    Stats s;
    if (lateMs.empty())
        return s;
    std::sort(lateMs.begin(), lateMs.end());
    s.samples = lateMs.size();
    s.p50 = lateMs[lateMs.size() / 2];
    s.p99 = lateMs[std::min(lateMs.size() - 1, lateMs.size() * 99 / 100)];
    s.max = lateMs.back();
    s.drift = driftMs;
    return s;
}

// Runs the event loop for \a msecs; it sleeps while nothing happens.
void pump(int msecs)
{
    QEventLoop loop;
    QTimer::singleShot(msecs, &loop, &QEventLoop::quit);
    loop.exec();
}

double ms(Clock::duration d)
{
    return duration<double, std::milli>(d).count();
}

void printRow(const char *name, const Stats &s, const Stats &base)
{
    std::printf("  %-34s %6zu  %8.3f  %8.3f  %8.3f  %9.3f   %6.2fx\n", name, s.samples, s.p50,
                s.p99, s.max, s.drift, base.p99 > 0 ? s.p99 / base.p99 : 0.0);
}

Stats sleepUntilBaseline(int seconds, milliseconds period)
{
    std::vector<double> late;
    const auto origin = Clock::now() + period;
    const int n = int(seconds * 1000 / period.count());
    Clock::time_point last{};
    for (int k = 0; k < n; ++k) {
        const auto due = origin + period * k;
        std::this_thread::sleep_until(due);
        last = Clock::now();
        late.push_back(ms(last - due));
    }
    return summarize(late, ms(last - (origin + period * (n - 1))));
}

Stats qtimerBaseline(int seconds, milliseconds period)
{
    // A plain QTimer, re-armed on the same grid each time (the best a QTimer can do: its
    // interval is in whole milliseconds).
    std::vector<double> late;
    QThread thread;
    QObject context;
    context.moveToThread(&thread);
    thread.start();
    const int n = int(seconds * 1000 / period.count());
    Clock::time_point origin;
    Clock::time_point last{};
    std::atomic<bool> done{false};
    QTimer *timer = nullptr;
    QMetaObject::invokeMethod(
        &context,
        [&] {
            timer = new QTimer;
            timer->setTimerType(Qt::PreciseTimer);
            timer->setSingleShot(true);
            origin = Clock::now() + period;
            auto k = std::make_shared<int>(0);
            QObject::connect(timer, &QTimer::timeout, [&, k] {
                const auto due = origin + period * *k;
                last = Clock::now();
                late.push_back(ms(last - due));
                if (++*k >= n) {
                    done = true;
                    return;
                }
                const auto next = origin + period * *k;
                timer->start(int(std::max<qint64>(
                    0, duration_cast<milliseconds>(next - Clock::now() + 999us).count())));
            });
            timer->start(int(period.count()));
        },
        Qt::BlockingQueuedConnection);
    while (!done)
        std::this_thread::sleep_for(10ms);
    QMetaObject::invokeMethod(
        &context, [&] { delete timer; }, Qt::BlockingQueuedConnection);
    thread.quit();
    thread.wait();
    return summarize(late, ms(last - (origin + period * (n - 1))));
}

Stats wardenWorker(int seconds, milliseconds period)
{
    std::vector<double> late;
    std::mutex mutex;
    Clock::time_point first{}, last{};
    const int n = int(seconds * 1000 / period.count());
    std::atomic<int> count{0};
    Warden::Host host;
    auto *worker =
        Warden::PeriodicWorker::create(QStringLiteral("grid"), [&](Warden::RunContext &context) {
            const auto now = Clock::now();
            std::lock_guard<std::mutex> lock(mutex);
            if (count == 0)
                first = context.scheduledSteady();
            if (count < n) {
                late.push_back(ms(now - context.scheduledSteady()));
                last = now;
                ++count;
            }
        });
    worker->setInterval(period);
    host.addWorker(worker);
    host.start();
    QElapsedTimer timer;
    timer.start();
    while (count < n && timer.elapsed() < seconds * 2000 + 5000)
        pump(50);
    host.stop();
    QElapsedTimer stopTimer;
    stopTimer.start();
    while (host.isRunning() && stopTimer.elapsed() < 5000)
        pump(50);
    std::lock_guard<std::mutex> lock(mutex);
    return summarize(late, ms(last - (first + period * (n - 1))));
}

double cpuSeconds()
{
    rusage usage{};
    getrusage(RUSAGE_SELF, &usage);
    return usage.ru_utime.tv_sec + usage.ru_utime.tv_usec / 1e6 + usage.ru_stime.tv_sec +
           usage.ru_stime.tv_usec / 1e6;
}

qint64 procStatusKb(const char *key)
{
    QFile f(QStringLiteral("/proc/self/status"));
    if (!f.open(QIODevice::ReadOnly))
        return -1;
    const QByteArray prefix = QByteArray(key) + ':';
    for (const QByteArray &line : f.readAll().split('\n')) {
        if (line.startsWith(prefix))
            return line.mid(prefix.size()).trimmed().split(' ').value(0).toLongLong();
    }
    return -1;
}

int countEntries(const char *dir)
{
    return int(
        QDir(QString::fromLatin1(dir)).entryList(QDir::NoDotAndDotDot | QDir::AllEntries).size());
}

struct HostFigures
{
    double cpuPerMinute = 0;
    double runsPerSecond = 0;
    int threads = 0, fds = 0;
    qint64 rssKb = 0;
};

HostFigures bareTimers(int workers, int seconds)
{
    HostFigures f;
    QThread thread;
    QObject context;
    context.moveToThread(&thread);
    thread.start();
    std::atomic<qint64> fired{0};
    std::vector<QTimer *> timers;
    QMetaObject::invokeMethod(
        &context,
        [&] {
            for (int i = 0; i < workers; ++i) {
                auto *t = new QTimer;
                t->setTimerType(Qt::PreciseTimer);
                QObject::connect(t, &QTimer::timeout, [&fired] { ++fired; });
                const int delay = int(QRandomGenerator::global()->bounded(1000));
                QTimer::singleShot(delay, t, [t] { t->start(1000); });
                timers.push_back(t);
            }
        },
        Qt::BlockingQueuedConnection);
    pump(3000);
    const double cpu0 = cpuSeconds();
    const qint64 fired0 = fired;
    pump(seconds * 1000);
    f.cpuPerMinute = (cpuSeconds() - cpu0) * 60.0 / seconds;
    f.runsPerSecond = double(fired - fired0) / seconds;
    f.threads = countEntries("/proc/self/task");
    f.fds = countEntries("/proc/self/fd");
    QMetaObject::invokeMethod(
        &context, [&] { qDeleteAll(timers); }, Qt::BlockingQueuedConnection);
    thread.quit();
    thread.wait();
    return f;
}

HostFigures manyWorkers(int workers, int seconds)
{
    HostFigures f;
    std::atomic<qint64> runs{0};
    auto store = std::make_shared<Warden::InMemoryStore>();
    store->setRetention(10000, 10000);
    auto host = std::make_unique<Warden::Host>();
    host->setStore(store);
    for (int i = 0; i < workers; ++i) {
        auto *w = Warden::PeriodicWorker::create(QStringLiteral("w%1").arg(i),
                                                 [&runs](Warden::RunContext &) { ++runs; });
        w->setInterval(1s);
        w->setInitialDelay(milliseconds(QRandomGenerator::global()->bounded(1000)));
        host->addWorker(w);
    }
    host->start();
    pump(3000);
    if (qEnvironmentVariableIsSet("BENCH_DEBUG")) {
        QMap<int, int> states;
        qint64 total = 0;
        for (const auto &s : host->snapshot()) {
            states[int(s.state)]++;
            total += s.runCount;
        }
        qInfo() << "DEBUG states" << states << "runs" << total << runs.load();
    }
    const double cpu0 = cpuSeconds();
    const qint64 runs0 = runs;
    pump(seconds * 1000);
    f.cpuPerMinute = (cpuSeconds() - cpu0) * 60.0 / seconds;
    f.runsPerSecond = double(runs - runs0) / seconds;
    f.threads = countEntries("/proc/self/task");
    f.fds = countEntries("/proc/self/fd");
    f.rssKb = procStatusKb("VmHWM");
    host->stop();
    pump(2000);
    host.reset();
    return f;
}

void blocking()
{
    Warden::Host host;
    std::mutex mutex;
    std::condition_variable cv;
    bool release = false;
    std::atomic<bool> blockingNow{false};
    auto *blocker =
        Warden::PeriodicWorker::create(QStringLiteral("blocker"), [&](Warden::RunContext &) {
            blockingNow = true;
            std::unique_lock<std::mutex> lock(mutex);
            cv.wait_for(lock, 10s, [&] { return release; });
        });
    blocker->setInterval(20ms);
    std::vector<double> late;
    std::mutex lateMutex;
    std::atomic<bool> measure{false};
    auto *ticker =
        Warden::PeriodicWorker::create(QStringLiteral("ticker"), [&](Warden::RunContext &c) {
            if (!measure)
                return;
            std::lock_guard<std::mutex> lock(lateMutex);
            late.push_back(ms(c.startLateness()));
        });
    ticker->setInterval(20ms);
    host.setSchedulerThreadCount(1);
    host.addWorker(blocker);
    host.addWorker(ticker);
    host.start();
    while (!blockingNow)
        pump(10);
    measure = true;
    pump(10000);
    measure = false;
    {
        std::lock_guard<std::mutex> lock(mutex);
        release = true;
    }
    cv.notify_all();
    host.stop();
    pump(500);
    std::lock_guard<std::mutex> lock(lateMutex);
    const Stats s = summarize(late, 0);
    std::printf("  a 20 ms worker while another's run blocks for 10 s (one scheduler thread):\n"
                "    %zu ticks, lateness p50 %.3f ms, p99 %.3f ms, max %.3f ms (requirement: "
                "max <= 5 ms)\n",
                s.samples, s.p50, s.p99, s.max);
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    auto option = [&](const QString &name, int fallback) {
        const int i = int(args.indexOf(name));
        return i >= 0 && i + 1 < args.size() ? args.at(i + 1).toInt() : fallback;
    };
    const int seconds = option(QStringLiteral("--seconds"), 30);
    const int workers = option(QStringLiteral("--workers"), 10000);
    const int onlyAt = int(args.indexOf(QStringLiteral("--only")));
    const QString only = onlyAt >= 0 && onlyAt + 1 < args.size() ? args.at(onlyAt + 1) : QString();

    if (only.isEmpty() || only == QLatin1String("lateness")) {
        std::printf("1. start lateness of a 100 ms periodic schedule over %d s (ms)\n", seconds);
        std::printf("  %-34s %6s  %8s  %8s  %8s  %9s   %s\n", "", "starts", "p50", "p99", "max",
                    "drift", "p99/base");
        const Stats base = sleepUntilBaseline(seconds, 100ms);
        printRow("std::this_thread::sleep_until", base, base);
        printRow("QTimer (PreciseTimer, re-armed)", qtimerBaseline(seconds, 100ms), base);
        printRow("Warden PeriodicWorker", wardenWorker(seconds, 100ms), base);
    }
    if (only.isEmpty() || only == QLatin1String("host")) {
        std::printf("2. %d periodic workers at 1 s each, measured over %d s\n", workers, seconds);
        const HostFigures bare = bareTimers(workers, seconds);
        const HostFigures w = manyWorkers(workers, seconds);
        std::printf("  %-34s %9s %12s %9s %7s %5s\n", "", "runs/s", "CPU s/min", "of a core",
                    "threads", "fds");
        std::printf("  %-34s %9.0f %12.2f %8.1f%% %7d %5d\n", "bare QTimers, one thread",
                    bare.runsPerSecond, bare.cpuPerMinute, bare.cpuPerMinute / 60 * 100,
                    bare.threads, bare.fds);
        std::printf("  %-34s %9.0f %12.2f %8.1f%% %7d %5d   (%.2fx the bare timers' CPU)\n",
                    "Warden host", w.runsPerSecond, w.cpuPerMinute, w.cpuPerMinute / 60 * 100,
                    w.threads, w.fds,
                    bare.cpuPerMinute > 0 ? w.cpuPerMinute / bare.cpuPerMinute : 0);
        std::printf("  peak RSS of the process: %.1f MB\n", w.rssKb / 1024.0);
    }
    if (only.isEmpty() || only == QLatin1String("blocking")) {
        std::printf("3. isolation of a blocking run\n");
        blocking();
    }
    return 0;
}
