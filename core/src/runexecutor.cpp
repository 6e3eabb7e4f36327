#include "runexecutor_p.h"
#include "tickscheduler_p.h"

#include <warden/logging.h>

#include <QtCore/QThread>

#include <thread>

namespace Warden {

using namespace std::chrono;

RunExecutor::RunExecutor(int maximumThreads, QString name)
    : m_name(std::move(name))
    , m_maximum(qMax(1, maximumThreads))
{
    m_monitor = QThread::create([this] { monitorLoop(); });
    m_monitor->setObjectName(m_name + QStringLiteral("-monitor"));
    m_monitor->start();
}

RunExecutor::~RunExecutor()
{
    {
        std::unique_lock<std::mutex> lock(m_mutex);
        if (!m_detached)
            m_done.wait(lock,
                        [this] { return m_queue.empty() && m_active == 0 && m_pending.empty(); });
        m_quit = true;
    }
    m_runnerWake.notify_all();
    m_monitorWake.notify_all();
    m_monitor->wait();
    delete m_monitor;
    QList<QThread *> threads;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        threads = m_threads + m_finished;
        m_threads.clear();
        m_finished.clear();
    }
    for (QThread *t : std::as_const(threads)) {
        if (m_detached && t->isRunning())
            continue; // still inside an abandoned run
        t->wait();
        delete t;
    }
}

void RunExecutor::detach()
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_detached = true;
}

void RunExecutor::setMaximumThreads(int count)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    m_maximum = qMax(1, count);
}

int RunExecutor::maximumThreads() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_maximum;
}

int RunExecutor::threadCount() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_runners + 1;
}

namespace {
struct Staged
{
    int depth = 0;
    // Kept between bursts, with their capacity.
    std::vector<RunExecutor *> executors;
    std::vector<RunExecutor::Task> tasks;
};
thread_local Staged t_staged;

// In a runner thread: its executor, and the results of its current task.
struct Runner
{
    const RunExecutor *executor = nullptr;
    std::vector<RunExecutor::Completion> *finished = nullptr;
};
thread_local Runner t_runner;
} // namespace

RunExecutor::BatchScope::BatchScope()
{
    ++t_staged.depth;
}

RunExecutor::BatchScope::~BatchScope()
{
    if (--t_staged.depth > 0 || t_staged.tasks.empty())
        return;
    const auto now = Clock::now();
    auto &tasks = t_staged.tasks;
    auto &executors = t_staged.executors;
    for (Task &task : tasks)
        task.queuedAt = now;
    // Usually one executor; hand consecutive tasks of the same one over together.
    size_t begin = 0;
    for (size_t i = 0; i < tasks.size(); ++i) {
        if (i + 1 == tasks.size() || executors[i + 1] != executors[i]) {
            executors[i]->submitAll(tasks.data() + begin, tasks.data() + i + 1);
            begin = i + 1;
        }
    }
    tasks.clear();
    executors.clear();
}

void RunExecutor::submit(std::function<void()> task)
{
    submitAt(std::move(task), Clock::time_point());
}

void RunExecutor::submitAt(std::function<void()> task, Clock::time_point notBefore)
{
    if (t_staged.depth > 0) {
        t_staged.executors.push_back(this);
        t_staged.tasks.push_back(Task{std::move(task), Clock::time_point(), notBefore});
        return;
    }
    Task one{std::move(task), Clock::now(), notBefore};
    submitAll(&one, &one + 1);
}

int RunExecutor::stuckRunnersLocked(Clock::time_point now) const
{
    int stuck = 0;
    for (const Clock::time_point &since : m_busySince)
        stuck += (since != Clock::time_point() && now - since > kHandOver) ? 1 : 0;
    return stuck;
}

void RunExecutor::submitAll(Task *first, Task *last)
{
    bool notify = false;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (Task *task = first; task != last; ++task)
            m_queue.push_back(std::move(*task));
        // A runner that is awake takes it; only when none is do we wake (or start) one. A
        // runner stuck in a long run does not count as awake.
        const int awake = m_runners - m_idle + m_pendingWakes - stuckRunnersLocked(Clock::now());
        if (awake == 0)
            notify = wakeOrSpawnLocked(false);
        // A run queued alone goes to a runner woken for it, or to one between runs: nothing
        // to watch. Runs queued behind others, or behind a run in progress (which may block),
        // must be watched: by a scheduler thread that does, or else by the monitor.
        if (m_watchers == 0 && (m_queue.size() > 1 || (awake > 0 && m_active > 0)))
            wakeMonitorLocked();
    }
    // Told after the lock is released: the runner woken up does not then wait for it.
    if (notify)
        m_runnerWake.notify_one();
}

void RunExecutor::wakeMonitorLocked()
{
    if (m_monitorWaiting) {
        m_monitorWaiting = false;
        m_monitorWake.notify_one();
    }
}

void RunExecutor::watch()
{
    thread_local std::vector<Completion> completions;
    std::unique_lock<std::mutex> lock(m_mutex);
    m_lastWatch = Clock::now();
    checkLocked(lock, completions);
}

void RunExecutor::setWatching(bool watching)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (watching) {
        ++m_watchers;
        m_lastWatch = Clock::now();
        return;
    }
    if (--m_watchers == 0 && needsWatchLocked())
        wakeMonitorLocked();
}

void RunExecutor::checkLocked(std::unique_lock<std::mutex> &lock,
                              std::vector<Completion> &completions)
{
    const auto now = Clock::now();
    if (!m_pending.empty() && now - m_pending.front().at >= kHandOver) {
        // A runner went on to a long run while results wait: hand them back now.
        completions.swap(m_pending);
        lock.unlock();
        deliver(completions);
        lock.lock();
    }
    // The oldest queued run has waited past the hand-over limit: the awake runners are busy
    // (a long run, or more work than they do). Add one.
    if (!m_queue.empty() && now - m_queue.front().queuedAt >= kHandOver && m_pendingWakes == 0)
        wakeOrSpawnLocked(true);
}

void RunExecutor::complete(const std::shared_ptr<CompletionInbox> &inbox,
                           std::function<void()> callback, Clock::time_point neededBy)
{
    const auto now = Clock::now();
    const auto latest = std::min(neededBy, now + kResultDelay);
    if (t_runner.executor == this) {
        // From a task of ours: the runner adds it to m_pending under the lock it takes next.
        t_runner.finished->push_back(Completion{inbox, std::move(callback), now, latest});
        return;
    }
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pending.push_back(Completion{inbox, std::move(callback), now, latest});
}

void RunExecutor::deliver(std::vector<Completion> &completions)
{
    // One post per inbox and batch.
    thread_local std::vector<std::function<void()>> batch;
    auto latest = Clock::time_point::max();
    for (size_t i = 0; i < completions.size(); ++i) {
        batch.push_back(std::move(completions[i].callback));
        latest = std::min(latest, completions[i].latest);
        if (i + 1 == completions.size() || completions[i + 1].inbox != completions[i].inbox) {
            completions[i].inbox->postAll(batch, latest);
            batch.clear();
            latest = Clock::time_point::max();
        }
    }
    completions.clear();
}

bool RunExecutor::wakeOrSpawnLocked(bool notify)
{
    if (m_idle > m_pendingWakes) {
        ++m_pendingWakes;
        if (notify)
            m_runnerWake.notify_one();
        return !notify;
    }
    if (m_runners < m_maximum)
        spawnRunnerLocked();
    return false;
}

void RunExecutor::spawnRunnerLocked()
{
    for (QThread *t : std::as_const(m_finished)) {
        t->wait();
        delete t;
    }
    m_finished.clear();
    ++m_runners;
    QThread *thread = QThread::create([this] { runnerLoop(); });
    thread->setObjectName(QStringLiteral("%1-%2").arg(m_name).arg(m_nextRunnerNumber++));
    m_threads.append(thread);
    thread->start();
}

void RunExecutor::runnerLoop()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    // A slot of our own for the start of the current run (a default time point: none).
    size_t slot = 0;
    while (slot < m_freeSlot.size() && !m_freeSlot[slot])
        ++slot;
    if (slot == m_freeSlot.size()) {
        m_freeSlot.push_back(false);
        m_busySince.push_back(Clock::time_point());
    }
    m_freeSlot[slot] = false;
    std::vector<Completion> completions;
    std::vector<Completion> finished; // by the current task, see complete()
    t_runner = Runner{this, &finished};
    for (;;) {
        if (m_queue.empty()) {
            if (m_quit)
                break;
            ++m_idle;
            // Woken by a token (which any idle runner may take), by quit, or by the expiry.
            const bool woken = m_runnerWake.wait_for(
                lock, kExpiry, [this] { return m_quit || m_pendingWakes > 0; });
            --m_idle;
            if (woken && m_pendingWakes > 0)
                --m_pendingWakes;
            if (!woken && m_queue.empty())
                break; // idle for the expiry time: end this runner
            continue;
        }
        Task task = std::move(m_queue.front());
        m_queue.pop_front();
        ++m_active;
        m_busySince[slot] = Clock::now();
        lock.unlock();
        // Handed over a little ahead of its time (see TickScheduler): start on the dot.
        if (task.notBefore > Clock::now())
            std::this_thread::sleep_until(task.notBefore);
        try {
            task.function();
        } catch (...) {
            qCCritical(lcHost, "an exception escaped a run task; ignored");
        }
        task.function = nullptr; // destroy captures outside the lock
        lock.lock();
        --m_active;
        m_busySince[slot] = Clock::time_point();
        for (Completion &completion : finished)
            m_pending.push_back(std::move(completion));
        finished.clear();
        if (m_queue.empty() && !m_pending.empty()) {
            // Nothing more to do here: hand the results back, one wake-up per thread.
            completions.swap(m_pending); // m_pending keeps the capacity of the last batch
            lock.unlock();
            deliver(completions);
            lock.lock();
        }
        if (m_queue.empty() && m_active == 0 && m_pending.empty())
            m_done.notify_all();
    }
    t_runner = Runner();
    --m_runners;
    m_freeSlot[slot] = true;
    QThread *self = QThread::currentThread();
    if (m_threads.removeOne(self))
        m_finished.append(self);
}

void RunExecutor::monitorLoop()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    std::vector<Completion> completions;
    while (!m_quit) {
        checkLocked(lock, completions);
        if (m_quit)
            break;
        if (!needsWatchLocked()) {
            // Nothing waits: sleep until submitAll() or setWatching() says something does.
            m_monitorWaiting = true;
            m_monitorWake.wait(lock, [this] { return m_quit || !m_monitorWaiting; });
            continue;
        }
        if (m_watchers > 0 && Clock::now() - m_lastWatch < kWatchHorizon + kHandOver) {
            // Scheduler threads look often enough; make sure now and then that they still do
            // (one could be held up in a slot connected to a worker's signal).
            m_monitorWaiting = true;
            m_monitorWake.wait_for(lock, kWatchCheck,
                                   [this] { return m_quit || !m_monitorWaiting; });
            m_monitorWaiting = false;
            continue;
        }
        // Every 2 ms: a run held up behind a blocking one starts within 3 ms.
        m_monitorWake.wait_for(lock, 2 * kHandOver);
    }
}

bool RunExecutor::waitForDone(milliseconds timeout)
{
    std::unique_lock<std::mutex> lock(m_mutex);
    return m_done.wait_for(
        lock, timeout, [this] { return m_queue.empty() && m_active == 0 && m_pending.empty(); });
}

} // namespace Warden
