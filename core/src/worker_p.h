#pragma once

#include "leasekeeper_p.h"
#include "runexecutor_p.h"
#include "tickscheduler_p.h"

#include <warden/continuousworker.h>
#include <warden/lockmanager.h>
#include <warden/periodicworker.h>
#include <warden/store.h>
#include <warden/worker.h>

#include <QtCore/QPointer>
#include <QtCore/QTimer>

#include <atomic>
#include <chrono>
#include <functional>
#include <mutex>

namespace Warden {

using SteadyClock = std::chrono::steady_clock;

/*!
    \internal
    What a host shares with its workers and their runs. Held by shared_ptr so that a run that
    outlives its host's stop (an abandoned run) still finds it.
*/
/*!
    When a run's work ended, on the wall clock: \a now, or earlier when the work said when it
    really ended (RunContext::setWorkEndedAt(); a command ended by its keeper while this
    process was frozen); never before \a started.
*/
inline QDateTime workEnd(const RunContext &context, const QDateTime &now, const QDateTime &started)
{
    const auto ended = context.workEndedAt();
    const auto steadyNow = std::chrono::steady_clock::now();
    if (ended == std::chrono::steady_clock::time_point() || ended >= steadyNow)
        return now;
    const QDateTime end = now.addMSecs(
        -std::chrono::duration_cast<std::chrono::milliseconds>(steadyNow - ended).count());
    return started.isValid() && end < started ? started : end;
}

struct HostRuntime
{
    QString nodeId;
    std::shared_ptr<LockManager> lockManager;
    std::shared_ptr<Store> store;
    RunExecutor *runs = nullptr;
    LeaseKeeper *keeper = nullptr;
    std::chrono::milliseconds leaseTtl{30000};
    /*!
        The lock manager writes a per-run lease's run row in the acquire's own transaction
        (LockManager::recordsRunsOf() the store): no run holds a lease without a row.
    */
    bool startRowsWithLease = false;
    std::atomic<bool> hostEnabled{true};

    // Called (from worker threads) when a worker has stopped / changed state / finished a run.
    std::function<void(const QString &)> workerStopped;
    std::function<void(const QString &, WorkerState)> stateChanged;
    std::function<void(const RunRecord &)> runStarted;
    std::function<void(const RunRecord &)> runFinished;

    void log(QtMsgType level, const QString &worker, const QString &runId,
             const QString &message) const;
    static QString newRunId();
};

class WorkerPrivate
{
public:
    WorkerPrivate(Worker *q, const QString &name, Worker::Kind kind);
    virtual ~WorkerPrivate();

    Worker *q_ptr;
    const QString name;
    const Worker::Kind kind;
    LockMode lockMode = LockMode::None;
    QString lockName;
    std::shared_ptr<HostRuntime> runtime;

    // Switches; written in the worker's thread (or before it was added), read anywhere.
    std::atomic<bool> localEnabled{true};
    std::atomic<bool> clusterEnabled{true};
    QDateTime pausedUntil; // worker thread
    QTimer *pauseTimer = nullptr;

    std::atomic<WorkerState> state{WorkerState::Stopped};
    /*!
        Set while a Host owns the worker: deleting it then from outside the host would leave
        the host and its threads with a dangling pointer, so ~Worker() stops the process
        with a message instead. The host clears it right before it deletes the worker.
    */
    std::atomic<bool> ownedByHost{false};
    std::atomic<bool> statusDirty{true};
    mutable std::mutex statusMutex;
    WorkerStatus statusData;

    // The run in progress, shared with the run's thread and with abandon().
    std::mutex runMutex;
    bool runActive = false;
    bool runAbandoned = false;
    StopSource runStop;
    RunRecord currentRun;
    Lease heldLease; // a per-run lease kept between ticks (see PeriodicWorkerPrivate::dispatch)

    // Worker thread only.
    bool active = false;                     // started and not stopping
    std::shared_ptr<LeaseGuard> leaderGuard; // the leader lease while this node leads
    // Written in the worker's thread; read by the host (runNow) as a hint.
    std::atomic<bool> isLeader{false};

    /*!
        A leader that has lost (or not yet won) its lease must not start a run. Worker thread
        only. The run itself binds to the lease again when it starts (LeaseGuard::bind()).
    */
    bool mayRunAsLeader() const { return isLeader && leaderGuard && leaderGuard->isValid(); }

    bool isEffectivelyEnabled() const;
    QString effectiveLockName() const { return lockName.isEmpty() ? name : lockName; }

    void setState(WorkerState newState);
    template<typename Change> void updateStatus(const Change &change)
    {
        std::lock_guard<std::mutex> lock(statusMutex);
        change(statusData);
        statusDirty = true; // updatedAt is stamped when the status is published
    }

    // Worker thread: the life cycle.
    virtual void start() = 0;
    virtual void stop() = 0;
    //! The effective enabled switch may have changed.
    virtual void reevaluate() = 0;
    virtual bool runNow(QString *error) = 0;

    void applyPause(const QDateTime &until);
    void standBy();
    void resignThen(std::function<void()> next);
    void finishStop();
    //! Releases a per-run lease kept between ticks, if any (through the lease keeper).
    void releaseHeldLease();

    /*!
        Starts a run: marks it active and returns the stop token for it. Moves the per-run
        lease kept between ticks, if any, to \a takeHeldLease.
    */
    StopSource beginRun(const RunRecord &record, Lease *takeHeldLease = nullptr);
    /*!
        Ends the run in the worker's thread: counts and records it. Returns false when the
        run had been abandoned (already recorded). A tick that another node ran
        (\a ranElsewhere) is not a run of this node: it is counted, not recorded.
    */
    bool endRun(const RunRecord &record, bool ranElsewhere = false);
    /*!
        The run has started (its thread): puts its row in the run ledger (unless \a writeRow
        is false: the lease's acquire wrote it) and keeps the start time for abandon().
        Thread-safe.
    */
    void recordStart(const RunRecord &record, bool writeRow = true);
    //! Called by the host when the shutdown timeout expired; thread-safe.
    std::optional<RunRecord> abandon();

    //! The run's log lines go to the host (category and store).
    RunContext::LogSink logSink() const;

    /*!
        Takes the leader lease when the worker may run (\a mayRun); otherwise resigns it.
        Returns whether the worker is now the leader.
    */
    bool takeLeadership(const std::shared_ptr<LeaseGuard> &guard, bool mayRun);
    //! Gives the lost leader lease up; returns false when the worker was not the leader.
    bool dropLeadership();

    // Leadership callbacks, implemented by the kinds.
    virtual void leadershipAcquired(const std::shared_ptr<LeaseGuard> &guard) = 0;
    virtual void leadershipLost() = 0;

    static WorkerPrivate *get(Worker *worker) { return worker->d_ptr.get(); }
};

class PeriodicWorkerPrivate final : public WorkerPrivate
{
public:
    PeriodicWorkerPrivate(PeriodicWorker *q, const QString &name);

    PeriodicWorker *q() const { return static_cast<PeriodicWorker *>(q_ptr); }

    std::shared_ptr<const Schedule> schedule;
    std::chrono::milliseconds runTimeout{0};
    MisfirePolicy misfire = MisfirePolicy::RunOnce;
    bool catchUp = false;
    std::function<void(RunContext &)> function; // PeriodicWorker::create()

    ~PeriodicWorkerPrivate() override;

    // Worker thread only.
    QPointer<TickScheduler> ticks;                // the worker thread's deadline heap
    int tickSlot = -1;                            // this worker's slot in it
    std::shared_ptr<CompletionInbox> inbox;       // where runs hand back their results
    std::chrono::microseconds startTolerance{-1}; // negative: derived from the schedule
    std::chrono::microseconds effectiveTolerance() const;
    QTimer *timeoutTimer = nullptr; // while a run with a timeout goes on: its deadline
    bool running = false;
    bool runNowPending = false;
    bool catchUpChecked = false;
    // The pending tick: on the monotonic clock and on the wall clock.
    SteadyClock::time_point nextDeadline;
    QDateTime nextWall;
    bool hasNext = false;
    // Interval schedules: the grid.
    SteadyClock::time_point anchor;
    QDateTime anchorWall;
    qint64 nextTick = 0;

    const IntervalSchedule *intervalSchedule = nullptr; // schedule, when it is an interval
    const IntervalSchedule *interval() const { return intervalSchedule; }
    void setSchedule(std::shared_ptr<const Schedule> newSchedule)
    {
        schedule = std::move(newSchedule);
        intervalSchedule = dynamic_cast<const IntervalSchedule *>(schedule.get());
    }

    void ensureTimers();
    void startTimeoutTimer();
    void start() override;
    void stop() override;
    void reevaluate() override;
    bool runNow(QString *error) override;
    void leadershipAcquired(const std::shared_ptr<LeaseGuard> &guard) override;
    void leadershipLost() override;

    void beginSchedule();
    //! A cluster-wide interval worker: reads the grid's anchor from the store (async).
    void loadClusterGrid();
    //! Interval schedules: the grid starts now, after the initial delay.
    void startGridHere();
    void startClusterGrid(const QDateTime &lastScheduled, const QString &error);
    quint64 gridRequest = 0; // the newest loadClusterGrid() whose answer counts
    void resume();
    void arm();
    void disarm();
    void onTick();
    void dispatch(SteadyClock::time_point scheduled, const QDateTime &scheduledWall,
                  RunTrigger trigger);
    void onRunFinished(const RunRecord &record, bool ranElsewhere = false);
    void checkCatchUp();
    //! Sets the pending tick from the wall-clock time of the calendar schedule.
    bool setNextWall(const QDateTime &wall);
};

class ContinuousWorkerPrivate final : public WorkerPrivate
{
public:
    ContinuousWorkerPrivate(ContinuousWorker *q, const QString &name);

    ContinuousWorker *q() const { return static_cast<ContinuousWorker *>(q_ptr); }

    std::chrono::milliseconds initialBackoff{1000};
    std::chrono::milliseconds maximumBackoff{60000};
    std::function<void(RunContext &)> function; // ContinuousWorker::create()

    // Worker thread only.
    QTimer *restartTimer = nullptr;
    std::chrono::milliseconds backoff{0};
    bool running = false;
    RunContext *context = nullptr; // valid while execute() runs, in its thread

    void ensureTimers();
    void start() override;
    void stop() override;
    void reevaluate() override;
    bool runNow(QString *error) override;
    void leadershipAcquired(const std::shared_ptr<LeaseGuard> &guard) override;
    void leadershipLost() override;

    void launch();
    void onExecuteFinished(const RunRecord &record, SteadyClock::duration ranFor);
};

} // namespace Warden
