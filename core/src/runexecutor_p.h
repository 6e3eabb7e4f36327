#pragma once

#include <QtCore/QList>
#include <QtCore/QString>

#include <chrono>
#include <condition_variable>
#include <deque>
#include <functional>
#include <mutex>

#include <memory>
#include <vector>

class QThread;

namespace Warden {

class CompletionInbox;

/*!
    \internal
    The threads that runs execute in: a bounded, elastic pool tuned for many short runs.

    QThreadPool wakes one thread per task, which costs a few context switches for every run;
    with ten thousand runs a second that is most of a core. Here one awake runner drains
    what is queued, one run after another, and another runner is woken only when a queued
    run has waited longer than the hand-over limit (a run ahead of it blocks, or there is more
    work than one runner does). So runs that come together cost one wake-up, and a run that
    blocks for minutes delays the others by at most the hand-over limit.

    Someone must look at the queue while runs wait behind a run in progress, to hand them to
    another runner should that run block. A monitor thread does, every other hand-over limit
    and only while runs wait or results are held back. A thread that hands runs over often
    can look instead (watch()): a busy scheduler thread wakes up every millisecond or so
    anyway, and while it says it will look again soon (setWatching()), the monitor sleeps,
    waking only now and then to make sure it still does. So a busy host pays nothing for the
    monitor, and a quiet one only while a run waits. Runners that stayed idle for the expiry
    time end.
*/
class RunExecutor
{
public:
    using Clock = std::chrono::steady_clock;

    explicit RunExecutor(int maximumThreads, QString name = QStringLiteral("warden-run"));
    //! Waits for the queued and running runs; see detach().
    ~RunExecutor();

    void submit(std::function<void()> task);
    //! Like submit(); the runner calls \a task no earlier than \a notBefore.
    void submitAt(std::function<void()> task, Clock::time_point notBefore);

    /*!
        While one of these lives on a thread, submit() from that thread queues runs aside;
        the outermost scope hands them over together, under one lock and with at most one
        wake-up. A scheduler thread wraps each burst of ticks in one.
    */
    class BatchScope
    {
    public:
        BatchScope();
        ~BatchScope();
        BatchScope(const BatchScope &) = delete;
        BatchScope &operator=(const BatchScope &) = delete;
    };
    /*!
        Hands \a callback to \a inbox (the thread of the run's worker) when the runner has no
        more queued work, or within the hand-over limit, whichever comes first: runs that end
        together wake their worker's thread once. The thread calls it by \a neededBy, and at
        most kResultDelay after now (see CompletionInbox). Call from inside a task.
    */
    void complete(const std::shared_ptr<CompletionInbox> &inbox, std::function<void()> callback,
                  Clock::time_point neededBy = Clock::time_point::max());
    /*!
        Does the monitor's checks now: hands queued runs that waited past the hand-over limit
        to another runner, and results held back as long to their threads. Thread-safe.
    */
    void watch();
    /*!
        The calling thread will, or will no longer, call watch() again within about
        kWatchHorizon. Calls must alternate, starting with true.
    */
    void setWatching(bool watching);
    void setMaximumThreads(int count);
    int maximumThreads() const;
    //! Threads that exist now (runners and the monitor).
    int threadCount() const;
    //! Waits up to \a timeout for the queue to drain and every run to end.
    bool waitForDone(std::chrono::milliseconds timeout);
    /*!
        Lets the destructor return without waiting for runs that never end (abandoned at
        shutdown): their threads are left to the process's exit.
    */
    void detach();

    static constexpr std::chrono::microseconds kHandOver{1000};
    /*!
        How long a worker's thread may take to pick up a run's result: a busy scheduler thread
        wakes up for its next ticks within this time anyway and takes the results then.
    */
    static constexpr std::chrono::microseconds kResultDelay{2000};
    static constexpr std::chrono::seconds kExpiry{60};
    //! How soon a thread that watches looks again, at most (see setWatching()).
    static constexpr std::chrono::microseconds kWatchHorizon{2000};
    //! While threads watch, the monitor checks this often that they still do.
    static constexpr std::chrono::milliseconds kWatchCheck{20};

    struct Task
    {
        std::function<void()> function;
        Clock::time_point queuedAt;
        Clock::time_point notBefore;
    };
    struct Completion
    {
        std::shared_ptr<CompletionInbox> inbox;
        std::function<void()> callback;
        Clock::time_point at;
        Clock::time_point latest; // when the worker's thread must have it
    };

private:
    //! Runners inside one run for longer than the hand-over limit: they take nothing new.
    int stuckRunnersLocked(Clock::time_point now) const;
    //! Moves the tasks in [first, last) to the queue.
    void submitAll(Task *first, Task *last);
    void runnerLoop();
    void monitorLoop();
    void spawnRunnerLocked();
    //! Hands \a completions back to their inboxes and clears it (keeping its capacity).
    static void deliver(std::vector<Completion> &completions);
    /*!
        Wakes an idle runner, or starts one. With \a notify false, returns true when the
        caller must notify m_runnerWake once it has released the lock.
    */
    bool wakeOrSpawnLocked(bool notify);
    //! The monitor's checks (see watch()); may unlock \a lock to deliver results.
    void checkLocked(std::unique_lock<std::mutex> &lock, std::vector<Completion> &completions);
    //! Runs wait behind a run in progress, or results are held back.
    bool needsWatchLocked() const { return !m_queue.empty() || !m_pending.empty(); }
    void wakeMonitorLocked();

    mutable std::mutex m_mutex;
    std::condition_variable m_runnerWake;
    std::condition_variable m_monitorWake;
    std::condition_variable m_done;
    std::deque<Task> m_queue;
    std::vector<Completion> m_pending; // completions not yet handed back
    QList<QThread *> m_threads;        // runners that exist (finished ones are reaped)
    QList<QThread *> m_finished;
    std::vector<Clock::time_point> m_busySince; // per runner slot: start of its run, or none
    std::vector<bool> m_freeSlot;
    QThread *m_monitor = nullptr;
    QString m_name;
    int m_maximum;
    int m_runners = 0;      // runner threads alive
    int m_idle = 0;         // runners waiting for work
    int m_active = 0;       // runs in progress
    int m_pendingWakes = 0; // wake tokens: idle runners told to get up, not yet up
    bool m_monitorWaiting = false;
    int m_watchers = 0;            // threads that said they watch (setWatching())
    Clock::time_point m_lastWatch; // when one last did
    bool m_quit = false;
    bool m_detached = false;
    int m_nextRunnerNumber = 0;
};

} // namespace Warden
