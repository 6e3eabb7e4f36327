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
    struct Item
    {
        RunExecutor *executor;
        std::function<void()> task;
        std::chrono::steady_clock::time_point notBefore;
    };
    std::vector<Item> tasks;
};
thread_local Staged t_staged;
} // namespace

RunExecutor::BatchScope::BatchScope()
{
    ++t_staged.depth;
}

RunExecutor::BatchScope::~BatchScope()
{
    if (--t_staged.depth > 0 || t_staged.tasks.empty())
        return;
    auto staged = std::move(t_staged.tasks);
    t_staged.tasks.clear();
    const auto now = Clock::now();
    // Usually one executor; group consecutive tasks of the same one.
    std::vector<Task> group;
    for (size_t i = 0; i < staged.size(); ++i) {
        group.push_back(Task{std::move(staged[i].task), now, staged[i].notBefore});
        if (i + 1 == staged.size() || staged[i + 1].executor != staged[i].executor) {
            staged[i].executor->submitAll(std::move(group));
            group.clear();
        }
    }
}

void RunExecutor::submit(std::function<void()> task)
{
    submitAt(std::move(task), Clock::time_point());
}

void RunExecutor::submitAt(std::function<void()> task, Clock::time_point notBefore)
{
    if (t_staged.depth > 0) {
        t_staged.tasks.push_back(Staged::Item{this, std::move(task), notBefore});
        return;
    }
    std::vector<Task> one;
    one.push_back(Task{std::move(task), Clock::now(), notBefore});
    submitAll(std::move(one));
}

int RunExecutor::stuckRunnersLocked(Clock::time_point now) const
{
    int stuck = 0;
    for (const Clock::time_point &since : m_busySince)
        stuck += (since != Clock::time_point() && now - since > kHandOver) ? 1 : 0;
    return stuck;
}

void RunExecutor::submitAll(std::vector<Task> tasks)
{
    std::unique_lock<std::mutex> lock(m_mutex);
    for (Task &task : tasks)
        m_queue.push_back(std::move(task));
    // A runner that is awake takes it; only when none is do we wake (or start) one. A runner
    // stuck in a long run does not count as awake.
    const int awake = m_runners - m_idle + m_pendingWakes - stuckRunnersLocked(Clock::now());
    if (awake == 0)
        wakeOrSpawnLocked();
    if (m_monitorWaiting) {
        m_monitorWaiting = false;
        m_monitorWake.notify_one();
    }
}

void RunExecutor::complete(const std::shared_ptr<CompletionInbox> &inbox,
                           std::function<void()> callback, Clock::time_point neededBy)
{
    const auto now = Clock::now();
    const auto latest = std::min(neededBy, now + kResultDelay);
    std::lock_guard<std::mutex> lock(m_mutex);
    m_pending.push_back(Completion{inbox, std::move(callback), now, latest});
}

void RunExecutor::deliver(std::vector<Completion> completions)
{
    // One post per inbox and batch.
    std::vector<std::function<void()>> batch;
    auto latest = Clock::time_point::max();
    for (size_t i = 0; i < completions.size(); ++i) {
        batch.push_back(std::move(completions[i].callback));
        latest = std::min(latest, completions[i].latest);
        if (i + 1 == completions.size() || completions[i + 1].inbox != completions[i].inbox) {
            completions[i].inbox->postAll(std::move(batch), latest);
            batch.clear();
            latest = Clock::time_point::max();
        }
    }
}

void RunExecutor::wakeOrSpawnLocked()
{
    if (m_idle > m_pendingWakes) {
        ++m_pendingWakes;
        m_runnerWake.notify_one();
    } else if (m_runners < m_maximum) {
        spawnRunnerLocked();
    }
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
        if (m_queue.empty() && !m_pending.empty()) {
            // Nothing more to do here: hand the results back, one wake-up per thread.
            std::vector<Completion> completions;
            completions.swap(m_pending);
            lock.unlock();
            deliver(std::move(completions));
            lock.lock();
        }
        if (m_queue.empty() && m_active == 0 && m_pending.empty())
            m_done.notify_all();
    }
    --m_runners;
    m_freeSlot[slot] = true;
    QThread *self = QThread::currentThread();
    if (m_threads.removeOne(self))
        m_finished.append(self);
}

void RunExecutor::monitorLoop()
{
    // Checks the queue every other hand-over limit while work comes in, and sleeps until
    // notified once it has seen nothing queued for a while: a busy executor costs the monitor
    // at most a thousand wake-ups a second, and submit() need not wake it each time.
    constexpr int kIdleChecksBeforeSleep = 50;
    std::unique_lock<std::mutex> lock(m_mutex);
    int idleChecks = 0;
    while (!m_quit) {
        if (!m_pending.empty() && Clock::now() - m_pending.front().at >= kHandOver) {
            // A runner went on to a long run while results wait: hand them back now.
            std::vector<Completion> completions;
            completions.swap(m_pending);
            lock.unlock();
            deliver(std::move(completions));
            lock.lock();
            continue;
        }
        if (!m_queue.empty() || !m_pending.empty()) {
            idleChecks = 0;
            // The oldest queued run has waited past the hand-over limit: the awake runners
            // are busy (a long run, or more work than they do). Add one.
            if (Clock::now() - m_queue.front().queuedAt >= kHandOver && m_pendingWakes == 0)
                wakeOrSpawnLocked();
        } else if (++idleChecks > kIdleChecksBeforeSleep) {
            m_monitorWaiting = true;
            m_monitorWake.wait(lock, [this] { return m_quit || !m_monitorWaiting; });
            idleChecks = 0;
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
