#include "worker_p.h"

#include <warden/logging.h>

#include <QtCore/QThread>

#include <algorithm>
#include <exception>
#include <thread>

namespace Warden {

using namespace std::chrono;

namespace {

// A calendar schedule's timer is re-armed at least this often, so that a changed wall clock
// or a suspended machine cannot make it sleep past its time for long.
constexpr milliseconds kMaximumCalendarWait(60000);
// How many missed calendar times a misfire scan walks at most.
constexpr int kMaximumMisfireScan(100000);

QDateTime wallNow()
{
    return QDateTime::currentDateTimeUtc();
}

QString describeException(std::exception_ptr error)
{
    try {
        std::rethrow_exception(error);
    } catch (const std::exception &e) {
        return QStringLiteral("exception: %1").arg(QString::fromLocal8Bit(e.what()));
    } catch (const QString &text) {
        return QStringLiteral("exception: %1").arg(text);
    } catch (const char *text) {
        return QStringLiteral("exception: %1").arg(QString::fromLocal8Bit(text));
    } catch (...) {
        return QStringLiteral("exception of an unknown type");
    }
}

} // namespace

// --- PeriodicWorkerPrivate ------------------------------------------------------------------

PeriodicWorkerPrivate::PeriodicWorkerPrivate(PeriodicWorker *q, const QString &workerName)
    : WorkerPrivate(q, workerName, Worker::Kind::Periodic)
{
    setSchedule(std::make_shared<IntervalSchedule>(seconds(60)));
    statusData.schedule = schedule->toString();
}

PeriodicWorkerPrivate::~PeriodicWorkerPrivate()
{
    if (ticks)
        ticks->removeSlot(tickSlot);
}

microseconds PeriodicWorkerPrivate::effectiveTolerance() const
{
    if (startTolerance.count() >= 0)
        return startTolerance;
    // A thousandth of the interval, at most a millisecond: unnoticeable for the schedule, and
    // enough for ticks that fall close together to share a wake-up of the thread.
    if (const IntervalSchedule *iv = interval())
        return std::min<microseconds>(microseconds(1000),
                                      duration_cast<microseconds>(iv->interval()) / 1000);
    return microseconds(1000);
}

void PeriodicWorkerPrivate::disarm()
{
    if (ticks)
        ticks->cancel(tickSlot);
}

void PeriodicWorkerPrivate::ensureTimers()
{
    if (ticks)
        return;
    ticks = TickScheduler::forCurrentThread();
    tickSlot = ticks->addSlot([this] { onTick(); }, runtime ? runtime->runs : nullptr, this,
                              sizeof(*this));
    inbox = ticks->inbox();
}

void PeriodicWorkerPrivate::startTimeoutTimer()
{
    // Made when first needed: most workers have no run timeout.
    if (!timeoutTimer) {
        timeoutTimer = new QTimer(q_ptr);
        timeoutTimer->setSingleShot(true);
        timeoutTimer->setTimerType(Qt::PreciseTimer);
        QObject::connect(timeoutTimer, &QTimer::timeout, q_ptr, [this] {
            std::lock_guard<std::mutex> lock(runMutex);
            if (runActive)
                runStop.requestStop(StopReason::Timeout);
        });
    }
    timeoutTimer->start(runTimeout);
}

void PeriodicWorkerPrivate::start()
{
    if (active)
        return;
    ensureTimers();
    active = true;
    if (lockMode == LockMode::Leader) {
        if (isEffectivelyEnabled())
            standBy();
        else
            setState(WorkerState::Disabled);
        return;
    }
    beginSchedule();
}

void PeriodicWorkerPrivate::beginSchedule()
{
    if (!isEffectivelyEnabled()) {
        disarm();
        hasNext = false;
        updateStatus([](WorkerStatus &s) { s.nextRunAt = QDateTime(); });
        setState(WorkerState::Disabled);
        return;
    }
    if (interval()) {
        if (lockMode != LockMode::None && runtime->store) {
            // A cluster-wide worker: one grid for the cluster, anchored at its last scheduled
            // run in the store, so that a restart, a node starting later or a failover goes
            // on with the same grid and runs nothing extra.
            loadClusterGrid();
            return;
        }
        startGridHere();
    } else if (!setNextWall(schedule->nextFireTime(wallNow()))) {
        return;
    }
    setState(WorkerState::Idle);
    if (catchUp && !catchUpChecked && !interval()) {
        catchUpChecked = true;
        checkCatchUp();
    }
    arm();
}

void PeriodicWorkerPrivate::loadClusterGrid()
{
    disarm();
    hasNext = false;
    setState(WorkerState::Idle);
    const quint64 request = ++gridRequest;
    std::shared_ptr<HostRuntime> rt = runtime;
    QPointer<QObject> worker = q_ptr;
    const QString workerName = name;
    runtime->runs->submit([this, rt, worker, workerName, request] {
        const auto last = rt->store->lastScheduledRun(workerName);
        QDateTime lastScheduled;
        QString error;
        if (!last.isOk())
            error = last.errorString();
        else if (last.value().has_value())
            lastScheduled = last.value()->scheduledAt;
        QMetaObject::invokeMethod(worker, [this, request, lastScheduled, error] {
            if (request == gridRequest)
                startClusterGrid(lastScheduled, error);
        });
    });
}

void PeriodicWorkerPrivate::startGridHere()
{
    const IntervalSchedule *iv = interval();
    anchor = SteadyClock::now() + iv->initialDelay();
    anchorWall = wallNow().addMSecs(iv->initialDelay().count());
    nextTick = 0;
    nextDeadline = anchor;
    nextWall = anchorWall;
    hasNext = true;
}

void PeriodicWorkerPrivate::startClusterGrid(const QDateTime &lastScheduled, const QString &error)
{
    if (!active || running || hasNext)
        return;
    if (!isEffectivelyEnabled() || (lockMode == LockMode::Leader && !mayRunAsLeader()))
        return; // the switch or the leadership took over meanwhile
    const IntervalSchedule *iv = interval();
    if (!error.isEmpty())
        runtime->log(QtWarningMsg, name, QString(),
                     QStringLiteral("cannot read the last run from the store (%1); the grid "
                                    "starts here")
                         .arg(error));
    if (!lastScheduled.isValid()) {
        // The first run in the cluster: the grid starts here.
        startGridHere();
        setState(WorkerState::Idle);
        arm();
        return;
    }
    const auto now = SteadyClock::now();
    const QDateTime wall = wallNow();
    anchorWall = lastScheduled;
    anchor = now - milliseconds(lastScheduled.msecsTo(wall));
    hasNext = true;
    if (iv->mode() == IntervalSchedule::Mode::FixedDelay) {
        // The next run comes an interval after the last one, and not before now.
        const QDateTime due = lastScheduled.addMSecs(iv->interval().count());
        nextWall = due > wall ? due : wall;
        nextDeadline = now + milliseconds(wall.msecsTo(nextWall));
        setState(WorkerState::Idle);
        arm();
        return;
    }
    // The grid goes on after the last run. Ticks that passed while no node ran the worker
    // are missed ticks like any other: resume() applies the misfire policy to them.
    nextTick = 1;
    nextDeadline = anchor + iv->interval();
    nextWall = anchorWall.addMSecs(iv->interval().count());
    resume();
}

bool PeriodicWorkerPrivate::setNextWall(const QDateTime &wall)
{
    if (!wall.isValid()) {
        hasNext = false;
        runtime->log(QtWarningMsg, name, QString(),
                     QStringLiteral("schedule %1 never fires again").arg(schedule->toString()));
        updateStatus([](WorkerStatus &s) {
            s.nextRunAt = QDateTime();
            s.lastError = QStringLiteral("the schedule never fires again");
        });
        setState(WorkerState::Failed);
        return false;
    }
    nextWall = wall;
    nextDeadline = SteadyClock::now() + milliseconds(wallNow().msecsTo(wall));
    hasNext = true;
    return true;
}

void PeriodicWorkerPrivate::arm()
{
    if (!hasNext || running)
        return;
    updateStatus([&](WorkerStatus &s) { s.nextRunAt = nextWall; });
    if (interval()) {
        ticks->arm(tickSlot, nextDeadline, effectiveTolerance());
        return;
    }
    // Calendar schedules follow the wall clock: recompute from it, and look again at least
    // every kMaximumCalendarWait in case the wall clock is changed meanwhile.
    const auto now = SteadyClock::now();
    nextDeadline = now + milliseconds(wallNow().msecsTo(nextWall));
    ticks->arm(tickSlot, std::min(nextDeadline, now + kMaximumCalendarWait), effectiveTolerance());
}

void PeriodicWorkerPrivate::onTick()
{
    if (!active || running || !hasNext)
        return;
    if (lockMode == LockMode::Leader && !mayRunAsLeader())
        return; // leadershipLost() is on its way
    if (!interval()) {
        const qint64 left = wallNow().msecsTo(nextWall);
        nextDeadline = SteadyClock::now() + milliseconds(left);
    }
    const auto now = SteadyClock::now();
    if (nextDeadline - now > TickScheduler::kPreciseWindow) {
        arm();
        return;
    }
    // Up to TickScheduler::kLead early: the runner waits for the deadline itself.
    const auto scheduled = nextDeadline;
    const QDateTime scheduledWall = nextWall;
    // The tick after this one; a run never overlaps, so it is armed when this run ends.
    if (const IntervalSchedule *iv = interval()) {
        if (iv->mode() == IntervalSchedule::Mode::FixedRate) {
            ++nextTick;
            nextDeadline = anchor + iv->interval() * nextTick;
            nextWall = anchorWall.addMSecs(iv->interval().count() * nextTick);
        } else {
            hasNext = false; // fixed delay: set when the run ends
        }
    } else {
        const QDateTime following = schedule->nextFireTime(scheduledWall);
        if (following.isValid()) {
            nextWall = following;
            nextDeadline = scheduled + milliseconds(scheduledWall.msecsTo(following));
        } else {
            hasNext = false;
        }
    }
    dispatch(scheduled, scheduledWall, RunTrigger::Schedule);
}

void PeriodicWorkerPrivate::resume()
{
    if (!active)
        return;
    if (!isEffectivelyEnabled()) {
        beginSchedule(); // sets Disabled
        return;
    }
    if (lockMode == LockMode::Leader && !mayRunAsLeader()) {
        dropLeadership(); // the loss may still be on its way: it finds nothing to drop
        standBy();
        return;
    }
    const auto now = SteadyClock::now();
    const IntervalSchedule *iv = interval();
    if (iv && iv->mode() == IntervalSchedule::Mode::FixedDelay) {
        nextDeadline = now + iv->interval();
        nextWall = wallNow().addMSecs(iv->interval().count());
        hasNext = true;
    } else if (iv) {
        if (!hasNext) {
            beginSchedule();
            return;
        }
        if (nextDeadline < now) {
            // Ticks were missed while the run went on (or the process was stopped).
            const qint64 step = duration_cast<nanoseconds>(iv->interval()).count();
            const qint64 latest = duration_cast<nanoseconds>(now - anchor).count() / step;
            const qint64 missed = latest - nextTick + 1;
            updateStatus([&](WorkerStatus &s) { s.misfireCount += missed; });
            if (misfire == MisfirePolicy::RunOnce) {
                const auto scheduled = anchor + iv->interval() * latest;
                const QDateTime scheduledWall =
                    anchorWall.addMSecs(iv->interval().count() * latest);
                nextTick = latest + 1;
                nextDeadline = anchor + iv->interval() * nextTick;
                nextWall = anchorWall.addMSecs(iv->interval().count() * nextTick);
                dispatch(scheduled, scheduledWall, RunTrigger::CatchUp);
                return;
            }
            nextTick = latest + 1;
            nextDeadline = anchor + iv->interval() * nextTick;
            nextWall = anchorWall.addMSecs(iv->interval().count() * nextTick);
        }
    } else {
        if (!hasNext) {
            if (!setNextWall(schedule->nextFireTime(wallNow())))
                return;
        }
        const QDateTime wall = wallNow();
        if (nextWall <= wall) {
            QDateTime latest = nextWall;
            qint64 missed = 1;
            for (int i = 0; i < kMaximumMisfireScan; ++i) {
                const QDateTime following = schedule->nextFireTime(latest);
                if (!following.isValid() || following > wall)
                    break;
                latest = following;
                ++missed;
            }
            updateStatus([&](WorkerStatus &s) { s.misfireCount += missed; });
            if (misfire == MisfirePolicy::RunOnce) {
                const auto scheduled = now - milliseconds(latest.msecsTo(wall));
                const QDateTime following = schedule->nextFireTime(latest);
                hasNext = following.isValid();
                if (hasNext) {
                    nextWall = following;
                    nextDeadline = now + milliseconds(wall.msecsTo(following));
                }
                dispatch(scheduled, latest, RunTrigger::CatchUp);
                return;
            }
            if (!setNextWall(schedule->nextFireTime(wall)))
                return;
        }
    }
    setState(WorkerState::Idle);
    arm();
}

void PeriodicWorkerPrivate::dispatch(SteadyClock::time_point scheduled,
                                     const QDateTime &scheduledWall, RunTrigger trigger)
{
    running = true;
    disarm();
    RunRecord record;
    record.runId = HostRuntime::newRunId();
    record.worker = name;
    record.node = runtime->nodeId;
    record.scheduledAt = scheduledWall;
    record.trigger = trigger;
    // The leader lease, when this worker leads: the run binds to it when it starts.
    std::shared_ptr<LeaseGuard> leader = lockMode == LockMode::Leader ? leaderGuard : nullptr;
    record.fencingToken = leader ? leader->lease().fencingToken : 0;
    // A per-run lock: the lease this node kept since its last tick; this run continues with it.
    Lease held;
    StopSource stopSource = beginRun(record, lockMode == LockMode::PerRun ? &held : nullptr);
    setState(WorkerState::Running);
    Q_EMIT q_ptr->runStarted(record.runId, scheduledWall);
    if (runTimeout.count() > 0)
        startTimeoutTimer();

    const LockMode mode = lockMode;
    QString lock = mode == LockMode::None ? QString() : effectiveLockName();
    // One node per tick. Where the lock manager records runs with their leases, the lease's
    // transaction refuses a tick the ledger has already (within half an interval: a fixed
    // delay's ticks differ a little from node to node), and the lease is released after
    // the run, so that a node that dies leaves it for no longer than its ttl. Elsewhere a
    // per-run lease is kept after a scheduled run until shortly before this worker's next
    // tick, so that a node whose tick of the same time comes a little later (another grid,
    // a clock a little off, a slower start) finds it taken and skips.
    LockManager::Tick tick = LockManager::Tick::any();
    if (trigger != RunTrigger::RunNow) {
        const IntervalSchedule *iv = interval();
        tick = LockManager::Tick::once(iv ? iv->interval() / 2 : milliseconds(0));
    }
    SteadyClock::time_point holdUntil{};
    milliseconds holdAfterRun{0};
    if (trigger != RunTrigger::RunNow && mode == LockMode::PerRun && !runtime->startRowsWithLease) {
        const IntervalSchedule *iv = interval();
        if (iv && iv->mode() == IntervalSchedule::Mode::FixedDelay)
            holdAfterRun = iv->interval();
        else if (hasNext)
            holdUntil = nextDeadline;
    }
    // The result must be back in this thread in time to arm the next tick.
    const SteadyClock::time_point resultBy =
        hasNext ? nextDeadline - TickScheduler::kPreciseWindow : SteadyClock::time_point::max();
    // Moved, not copied, into the run: strings shared between threads cost more to copy.
    auto job = [this, rt = runtime, record = std::move(record), stopSource = std::move(stopSource),
                scheduled, mode, lock = std::move(lock), holdUntil, holdAfterRun, tick,
                held = std::move(held), resultBy, leader = std::move(leader)]() mutable {
        // The lease this run holds, if any. Nothing runs on a lease that is not valid by
        // this node's monotonic clock at the moment the work starts (LeaseGuard::bind()).
        std::shared_ptr<LeaseGuard> guard = std::move(leader);
        std::shared_ptr<LeaseGuard> perRunGuard;
        Lease lease;
        // A tick that did not run: another node ran it (counted, not a run of this node), or
        // the lock could not be reached or used (recorded as missed, with the reason).
        auto notRun = [&](RunOutcome outcome, const QString &why) {
            record.startedAt = wallNow();
            record.finishedAt = record.startedAt;
            record.outcome = outcome;
            record.error = why;
            const bool elsewhere = outcome == RunOutcome::Skipped;
            rt->runs->complete(
                inbox,
                [this, record = std::move(record), elsewhere] { onRunFinished(record, elsewhere); },
                resultBy);
        };
        // Where the lock manager can, the run's row is written in the acquire's transaction,
        // as started when the lease was taken; the run's start then corrects the time.
        bool startRecorded = false;
        if (mode == LockMode::PerRun) {
            LockManager::Attempt attempt;
            SteadyClock::time_point sentAt = SteadyClock::now();
            const RunRecord *startRow = nullptr;
            if (rt->startRowsWithLease) {
                record.startedAt = wallNow();
                startRow = &record;
            }
            // A lease kept since the last tick: only where no start rows go with leases (no
            // hold is taken then, see holdUntil).
            if (held.isValid())
                attempt = rt->lockManager->renew(held, rt->leaseTtl);
            if (attempt.status != LockManager::Status::Acquired)
                attempt = rt->keeper->acquire(lock, &sentAt, startRow, tick);
            startRecorded = attempt.runRecorded;
            if (attempt.status != LockManager::Status::Acquired) {
                if (attempt.tickRanElsewhere)
                    notRun(RunOutcome::Skipped, attempt.error);
                else if (attempt.status == LockManager::Status::Busy &&
                         record.trigger != RunTrigger::RunNow)
                    notRun(RunOutcome::Skipped,
                           QStringLiteral("lock %1 is held by %2").arg(lock, attempt.lease.holder));
                else if (attempt.status == LockManager::Status::Busy)
                    // Asked for by someone: say that it did not run, and why.
                    notRun(RunOutcome::Missed,
                           QStringLiteral("run now: lock %1 is held by %2 (until %3)")
                               .arg(lock, attempt.lease.holder,
                                    attempt.lease.expiresAt.toString(Qt::ISODateWithMs)));
                else
                    notRun(RunOutcome::Missed,
                           QStringLiteral("cannot acquire lock %1: %2").arg(lock, attempt.error));
                return;
            }
            lease = attempt.lease;
            record.fencingToken = lease.fencingToken;
            perRunGuard = rt->keeper->track(lease, sentAt);
            if (!perRunGuard) {
                rt->keeper->release(lease);
                notRun(
                    RunOutcome::Missed,
                    QStringLiteral("acquiring lock %1 took longer than its ttl allows").arg(lock));
                return;
            }
            guard = perRunGuard;
        }
        if (guard && !guard->bind(stopSource)) {
            if (perRunGuard) {
                rt->keeper->untrack(perRunGuard);
                rt->keeper->release(lease);
            }
            notRun(RunOutcome::Missed,
                   QStringLiteral("lease %1 ended before the run could start").arg(lock));
            return;
        }
        // A run on the leader lease: its row is written with a renewal of that lease, in one
        // transaction, before the work starts.
        if (mode == LockMode::Leader && guard && rt->startRowsWithLease) {
            record.startedAt = wallNow();
            const LockManager::Attempt attempt =
                rt->lockManager->renewForRun(guard->lease(), rt->leaseTtl, record, tick);
            if (attempt.tickRanElsewhere) {
                notRun(RunOutcome::Skipped, attempt.error);
                return;
            }
            if (attempt.status != LockManager::Status::Acquired) {
                notRun(RunOutcome::Missed,
                       attempt.status == LockManager::Status::Lost
                           ? QStringLiteral("lease %1 ended before the run could start").arg(lock)
                           : QStringLiteral("cannot start the run on lease %1: %2")
                                 .arg(lock, attempt.error));
                return;
            }
            startRecorded = attempt.runRecorded;
        }

        RunContext::Data data;
        data.runId = record.runId;
        data.workerName = record.worker;
        data.nodeId = record.node;
        data.scheduledAt = record.scheduledAt;
        data.scheduledSteady = scheduled;
        data.fencingToken = record.fencingToken;
        data.lockName = lock;
        data.lease = guard;
        data.trigger = record.trigger;
        data.startedSteady = SteadyClock::now();
        data.startedAt = wallNow();
        record.startedAt = data.startedAt;
        recordStart(record, !startRecorded);
        RunContext context(std::move(data), stopSource.token());
        // This run holds the runtime (rt) until it ends: the sink need not.
        context.setLogSink(
            [runtime = rt.get()](const RunContext &c, QtMsgType level, const QString &message) {
                runtime->log(level, c.workerName(), c.runId(), message);
            });

        QString failure;
        try {
            if (function)
                function(context);
            else
                q()->doWork(context);
            if (context.hasFailed())
                failure = context.errorString();
        } catch (...) {
            failure = describeException(std::current_exception());
        }
        record.finishedAt = workEnd(context, wallNow(), record.startedAt);
        // A run that ended after its lease's fence time ended on a lost lease, even if the
        // watchdog has not said so yet (a process resumed after a freeze; a command ended by
        // its keeper).
        if (guard && !guard->isValid())
            stopSource.requestStop(StopReason::LeaseLost);

        const StopToken token = stopSource.token();
        if (token.isStopRequested()) {
            switch (token.stopReason()) {
            case StopReason::Timeout:
                record.outcome = RunOutcome::TimedOut;
                record.error = QStringLiteral("timed out");
                break;
            case StopReason::LeaseLost:
                record.outcome = RunOutcome::Cancelled;
                record.error = QStringLiteral("lease %1 lost").arg(lock);
                break;
            default:
                record.outcome = RunOutcome::Cancelled;
                record.error = QStringLiteral("stopped");
                break;
            }
            if (!failure.isEmpty())
                record.error += QStringLiteral(": ") + failure;
        } else if (!failure.isEmpty()) {
            record.outcome = RunOutcome::Failed;
            record.error = failure;
        } else {
            record.outcome = RunOutcome::Succeeded;
        }

        if (perRunGuard) {
            const Lease current = rt->keeper->untrack(perRunGuard);
            const auto now = SteadyClock::now();
            const auto until = holdAfterRun.count() > 0 ? now + holdAfterRun : holdUntil;
            // Leave a margin before the next tick: a tenth of the period, 50 ms to 2 s.
            const auto margin = std::clamp<SteadyClock::duration>((until - scheduled) / 10,
                                                                  milliseconds(50), seconds(2));
            const auto hold = duration_cast<milliseconds>(until - margin - now);
            // A run cut short by a stop (shutdown, disable, lost lease) releases at once.
            bool kept = false;
            if (!token.isStopRequested() && perRunGuard->isValid() &&
                until != SteadyClock::time_point() && hold >= milliseconds(50)) {
                const LockManager::Attempt extended = rt->lockManager->renew(current, hold);
                kept = extended.status == LockManager::Status::Acquired;
                if (kept) {
                    std::lock_guard<std::mutex> locked(runMutex);
                    heldLease = extended.lease;
                }
            }
            QString error;
            if (!kept && !rt->keeper->release(current, &error))
                rt->log(QtWarningMsg, record.worker, record.runId,
                        QStringLiteral("cannot release lock %1: %2").arg(lock, error));
        }
        rt->runs->complete(
            inbox, [this, record = std::move(record)] { onRunFinished(record); }, resultBy);
    };
    runtime->runs->submitAt(std::move(job), scheduled);
}

void PeriodicWorkerPrivate::onRunFinished(const RunRecord &record, bool ranElsewhere)
{
    running = false;
    if (timeoutTimer)
        timeoutTimer->stop();
    endRun(record, ranElsewhere);
    if (!active) {
        finishStop();
        return;
    }
    if (lockMode == LockMode::Leader && !mayRunAsLeader()) {
        dropLeadership(); // the loss may still be on its way: it finds nothing to drop
        standBy();
        return;
    }
    if (runNowPending) {
        runNowPending = false;
        const auto now = SteadyClock::now();
        dispatch(now, wallNow(), RunTrigger::RunNow);
        return;
    }
    resume();
}

void PeriodicWorkerPrivate::stop()
{
    if (!active) {
        finishStop(); // reports the stop even when the worker never started
        return;
    }
    active = false;
    runNowPending = false;
    disarm();
    if (running) {
        setState(WorkerState::Stopping);
        std::lock_guard<std::mutex> lock(runMutex);
        runStop.requestStop(StopReason::Shutdown);
        return; // finishStop() follows when the run ends
    }
    finishStop();
}

void PeriodicWorkerPrivate::reevaluate()
{
    if (!active)
        return;
    const bool enabled = isEffectivelyEnabled();
    updateStatus([&](WorkerStatus &s) { s.enabled = enabled; });
    if (running)
        return; // takes effect when the run ends
    if (!enabled) {
        releaseHeldLease(); // a disabled worker keeps no lease
        if (state != WorkerState::Disabled) {
            disarm();
            hasNext = false;
            updateStatus([](WorkerStatus &s) { s.nextRunAt = QDateTime(); });
            resignThen([this] {
                if (active && !isEffectivelyEnabled())
                    setState(WorkerState::Disabled);
            });
            setState(WorkerState::Disabled);
        }
        return;
    }
    if (state == WorkerState::Disabled) {
        if (lockMode == LockMode::Leader)
            standBy();
        else
            beginSchedule();
    }
}

bool PeriodicWorkerPrivate::runNow(QString *error)
{
    if (!active) {
        if (error)
            *error = QStringLiteral("worker %1 is not running").arg(name);
        return false;
    }
    if (lockMode == LockMode::Leader && !mayRunAsLeader()) {
        if (error)
            *error = QStringLiteral("worker %1 is on standby; the leader node runs it").arg(name);
        return false;
    }
    if (running) {
        runNowPending = true;
        return true;
    }
    dispatch(SteadyClock::now(), wallNow(), RunTrigger::RunNow);
    return true;
}

void PeriodicWorkerPrivate::leadershipAcquired(const std::shared_ptr<LeaseGuard> &guard)
{
    if (takeLeadership(guard, active && isEffectivelyEnabled()))
        beginSchedule();
}

void PeriodicWorkerPrivate::leadershipLost()
{
    if (!dropLeadership())
        return;
    disarm();
    hasNext = false;
    if (running)
        return; // stands by again when the run has ended
    if (active)
        standBy();
}

void PeriodicWorkerPrivate::checkCatchUp()
{
    if (!runtime->store)
        return;
    std::shared_ptr<HostRuntime> rt = runtime;
    std::shared_ptr<const Schedule> sched = schedule;
    const QString workerName = name;
    runtime->runs->submit([this, rt, sched, workerName] {
        const auto last = rt->store->lastScheduledRun(workerName);
        if (!last.isOk() || !last.value().has_value())
            return;
        // The last time the schedule fired before now.
        const QDateTime now = wallNow();
        QDateTime missed;
        QDateTime cursor = last.value()->scheduledAt;
        for (int i = 0; i < kMaximumMisfireScan; ++i) {
            cursor = sched->nextFireTime(cursor);
            if (!cursor.isValid() || cursor > now)
                break;
            missed = cursor;
        }
        if (!missed.isValid())
            return;
        QMetaObject::invokeMethod(q_ptr, [this, missed] {
            if (!active || running || !isEffectivelyEnabled() ||
                (lockMode == LockMode::Leader && !mayRunAsLeader()))
                return;
            runtime->log(QtInfoMsg, name, QString(),
                         QStringLiteral("catching up the run due at %1")
                             .arg(missed.toString(Qt::ISODateWithMs)));
            dispatch(SteadyClock::now() - milliseconds(missed.msecsTo(wallNow())), missed,
                     RunTrigger::CatchUp);
        });
    });
}

// --- PeriodicWorker -------------------------------------------------------------------------

PeriodicWorker::PeriodicWorker(const QString &name, QObject *parent)
    : Worker(name, Kind::Periodic, parent)
{
    d_ptr = std::make_unique<PeriodicWorkerPrivate>(this, name);
}

PeriodicWorker::~PeriodicWorker() = default;

PeriodicWorkerPrivate *PeriodicWorker::d_func()
{
    return static_cast<PeriodicWorkerPrivate *>(d_ptr.get());
}
const PeriodicWorkerPrivate *PeriodicWorker::d_func() const
{
    return static_cast<const PeriodicWorkerPrivate *>(d_ptr.get());
}

namespace {
class FunctionPeriodicWorker final : public PeriodicWorker
{
public:
    using PeriodicWorker::PeriodicWorker;

protected:
    void doWork(RunContext &) override {}
};
} // namespace

PeriodicWorker *PeriodicWorker::create(const QString &name, std::function<void(RunContext &)> work)
{
    auto *worker = new FunctionPeriodicWorker(name);
    worker->d_func()->function = std::move(work);
    return worker;
}

void PeriodicWorker::setInterval(milliseconds interval, IntervalSchedule::Mode mode)
{
    if (interval.count() <= 0) {
        qWarning("Warden::PeriodicWorker::setInterval: %s: the interval must be positive, not "
                 "%lld ms; ignored",
                 qPrintable(name()), static_cast<long long>(interval.count()));
        return;
    }
    const IntervalSchedule *current = d_func()->interval();
    setSchedule(
        IntervalSchedule(interval, current ? current->initialDelay() : milliseconds(0), mode));
}

void PeriodicWorker::setInitialDelay(milliseconds delay)
{
    const IntervalSchedule *current = d_func()->interval();
    if (!current) {
        qWarning("Warden::PeriodicWorker::setInitialDelay: %s has a calendar schedule; ignored",
                 qPrintable(name()));
        return;
    }
    if (delay.count() < 0) {
        qWarning("Warden::PeriodicWorker::setInitialDelay: %s: the delay must not be negative; "
                 "ignored",
                 qPrintable(name()));
        return;
    }
    setSchedule(IntervalSchedule(current->interval(), delay, current->mode()));
}

void PeriodicWorker::setSchedule(const Schedule &schedule)
{
    auto *d = d_func();
    if (d->active) {
        qWarning("Warden::PeriodicWorker::setSchedule: %s is running; ignored", qPrintable(name()));
        return;
    }
    if (const auto *interval = dynamic_cast<const IntervalSchedule *>(&schedule);
        interval && !interval->isValid()) {
        qWarning("Warden::PeriodicWorker::setSchedule: %s: an interval must be positive and an "
                 "initial delay not negative (%s); ignored",
                 qPrintable(name()), qPrintable(interval->toString()));
        return;
    }
    d->setSchedule(std::shared_ptr<const Schedule>(schedule.clone()));
    d->updateStatus([&](WorkerStatus &s) { s.schedule = d->schedule->toString(); });
}

std::shared_ptr<const Schedule> PeriodicWorker::schedule() const
{
    return d_func()->schedule;
}

void PeriodicWorker::setMisfirePolicy(MisfirePolicy policy)
{
    d_func()->misfire = policy;
}
void PeriodicWorker::setStartTolerance(microseconds tolerance)
{
    d_func()->startTolerance = tolerance; // negative: back to the default
}
microseconds PeriodicWorker::startTolerance() const
{
    return d_func()->effectiveTolerance();
}
MisfirePolicy PeriodicWorker::misfirePolicy() const
{
    return d_func()->misfire;
}
void PeriodicWorker::setRunTimeout(milliseconds timeout)
{
    if (timeout.count() < 0) {
        qWarning("Warden::PeriodicWorker::setRunTimeout: %s: the timeout must not be negative "
                 "(0: none); ignored",
                 qPrintable(name()));
        return;
    }
    d_func()->runTimeout = timeout;
}
milliseconds PeriodicWorker::runTimeout() const
{
    return d_func()->runTimeout;
}
void PeriodicWorker::setCatchUp(bool catchUp)
{
    d_func()->catchUp = catchUp;
}
bool PeriodicWorker::isCatchUp() const
{
    return d_func()->catchUp;
}

} // namespace Warden
