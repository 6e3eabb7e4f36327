#include "worker_p.h"

#include <warden/logging.h>

#include <QtCore/QThread>

#include <exception>

namespace Warden {

using namespace std::chrono;

ContinuousWorkerPrivate::ContinuousWorkerPrivate(ContinuousWorker *q, const QString &workerName)
    : WorkerPrivate(q, workerName, Worker::Kind::Continuous)
{}

void ContinuousWorkerPrivate::ensureTimers()
{
    if (restartTimer)
        return;
    restartTimer = new QTimer(q_ptr);
    restartTimer->setSingleShot(true);
    restartTimer->setTimerType(Qt::PreciseTimer); // a coarse timer may fire 5% early
    QObject::connect(restartTimer, &QTimer::timeout, q_ptr, [this] {
        if (active && !running && isEffectivelyEnabled() &&
            (lockMode != LockMode::Leader || mayRunAsLeader()))
            launch();
    });
}

void ContinuousWorkerPrivate::start()
{
    if (active)
        return;
    ensureTimers();
    active = true;
    backoff = milliseconds(0);
    if (!isEffectivelyEnabled()) {
        setState(WorkerState::Disabled);
        return;
    }
    if (lockMode == LockMode::Leader)
        standBy();
    else
        launch();
}

void ContinuousWorkerPrivate::launch()
{
    running = true;
    updateStatus([](WorkerStatus &s) { s.nextRunAt = QDateTime(); });
    RunRecord record;
    record.runId = HostRuntime::newRunId();
    record.worker = name;
    record.node = runtime->nodeId;
    record.scheduledAt = QDateTime::currentDateTimeUtc();
    record.startedAt = record.scheduledAt;
    std::shared_ptr<LeaseGuard> lease = lockMode == LockMode::Leader ? leaderGuard : nullptr;
    record.fencingToken = lease ? lease->lease().fencingToken : 0;
    const StopSource stopSource = beginRun(record);
    // Bound before the thread starts: losing the lease from now on stops this run, and a
    // lease that is already over starts nothing (leadershipLost() is on its way).
    if (lease && !lease->bind(stopSource)) {
        running = false;
        {
            std::lock_guard<std::mutex> guard(runMutex);
            runActive = false;
        }
        runtime->log(QtWarningMsg, name, QString(),
                     QStringLiteral("the leader lease %1 ended before the run could start")
                         .arg(lease->lease().name));
        setState(WorkerState::Waiting);
        return;
    }
    setState(WorkerState::Running);
    Q_EMIT q_ptr->runStarted(record.runId, record.scheduledAt);

    const QString lock = lockMode == LockMode::None ? QString() : effectiveLockName();
    QThread *thread = QThread::create([this, record, stopSource, lock, lease]() mutable {
        RunContext::Data data;
        data.runId = record.runId;
        data.workerName = record.worker;
        data.nodeId = record.node;
        data.scheduledAt = record.scheduledAt;
        data.startedAt = QDateTime::currentDateTimeUtc();
        data.scheduledSteady = data.startedSteady = SteadyClock::now();
        data.fencingToken = record.fencingToken;
        data.lockName = lock;
        data.lease = lease;
        record.startedAt = data.startedAt;
        // A leader's run: its row is written with a renewal of the leader lease, in one
        // transaction, before the work starts, so that no run holds a lease without a row.
        bool rowWritten = false;
        if (lease && runtime->startRowsWithLease) {
            const LockManager::Attempt attempt = runtime->lockManager->renewForRun(
                lease->lease(), runtime->leaseTtl, record, LockManager::Tick::any());
            if (attempt.status == LockManager::Status::Acquired) {
                rowWritten = attempt.runRecorded;
            } else if (attempt.status == LockManager::Status::Lost) {
                stopSource.requestStop(StopReason::LeaseLost);
            } else {
                record.finishedAt = QDateTime::currentDateTimeUtc();
                record.outcome = RunOutcome::Missed;
                record.error =
                    QStringLiteral("cannot start the run on lease %1: %2").arg(lock, attempt.error);
                QMetaObject::invokeMethod(q_ptr, [this, record] {
                    onExecuteFinished(record, SteadyClock::duration::zero());
                });
                return;
            }
        }
        recordStart(record, !rowWritten);
        const auto began = data.startedSteady;
        RunContext runContext(std::move(data), stopSource.token());
        runContext.setLogSink(logSink());
        context = &runContext;
        QString failure;
        try {
            if ((lease && !lease->isValid()) || stopSource.token().isStopRequested())
                stopSource.requestStop(StopReason::LeaseLost); // lost before it could start
            else if (function)
                function(runContext);
            else
                q()->execute(stopSource.token());
            if (runContext.hasFailed())
                failure = runContext.errorString();
        } catch (const std::exception &e) {
            failure = QStringLiteral("exception: %1").arg(QString::fromLocal8Bit(e.what()));
        } catch (...) {
            failure = QStringLiteral("exception of an unknown type");
        }
        context = nullptr;
        if (lease && !lease->isValid())
            stopSource.requestStop(StopReason::LeaseLost); // see PeriodicWorkerPrivate::dispatch
        record.finishedAt = workEnd(runContext, QDateTime::currentDateTimeUtc(), record.startedAt);
        const StopToken token = stopSource.token();
        if (token.isStopRequested()) {
            record.outcome = RunOutcome::Cancelled;
            record.error = token.stopReason() == StopReason::LeaseLost
                               ? QStringLiteral("lease %1 lost").arg(lock)
                               : QStringLiteral("stopped (%1)").arg(toKeyword(token.stopReason()));
            if (!failure.isEmpty())
                record.error += QStringLiteral(": ") + failure;
        } else {
            record.outcome = RunOutcome::Failed;
            record.error = failure.isEmpty()
                               ? QStringLiteral("execute() returned while no stop was requested")
                               : failure;
        }
        const auto ranFor = SteadyClock::now() - began;
        QMetaObject::invokeMethod(q_ptr,
                                  [this, record, ranFor] { onExecuteFinished(record, ranFor); });
    });
    thread->setObjectName(QStringLiteral("warden-") + name.left(8));
    QObject::connect(thread, &QThread::finished, thread, &QObject::deleteLater);
    thread->start();
}

void ContinuousWorkerPrivate::onExecuteFinished(const RunRecord &record,
                                                SteadyClock::duration ranFor)
{
    running = false;
    const bool cutShort = record.outcome == RunOutcome::Cancelled;
    endRun(record);
    if (!active) {
        finishStop();
        return;
    }
    if (lockMode == LockMode::Leader && !mayRunAsLeader()) {
        dropLeadership(); // the loss may still be on its way: it finds nothing to drop
        standBy();
        return;
    }
    if (!isEffectivelyEnabled()) {
        reevaluate();
        return;
    }
    // Returned early or threw: restart after a back-off that doubles up to the maximum, and
    // starts over after a run that went well for longer than the maximum.
    if (ranFor > maximumBackoff || backoff.count() == 0)
        backoff = initialBackoff;
    else
        backoff = std::min(maximumBackoff, backoff * 2);
    if (cutShort)
        backoff = initialBackoff;
    runtime->log(QtWarningMsg, name, record.runId,
                 QStringLiteral("restarting in %1").arg(IntervalSchedule::formatDuration(backoff)));
    updateStatus([&](WorkerStatus &s) {
        s.nextRunAt = QDateTime::currentDateTimeUtc().addMSecs(backoff.count());
    });
    setState(WorkerState::Idle);
    restartTimer->start(backoff);
}

void ContinuousWorkerPrivate::stop()
{
    if (!active) {
        finishStop(); // reports the stop even when the worker never started
        return;
    }
    active = false;
    if (restartTimer)
        restartTimer->stop();
    if (running) {
        setState(WorkerState::Stopping);
        std::lock_guard<std::mutex> lock(runMutex);
        runStop.requestStop(StopReason::Shutdown);
        return;
    }
    finishStop();
}

void ContinuousWorkerPrivate::reevaluate()
{
    if (!active)
        return;
    const bool enabled = isEffectivelyEnabled();
    updateStatus([&](WorkerStatus &s) { s.enabled = enabled; });
    if (!enabled) {
        restartTimer->stop();
        if (running) {
            std::lock_guard<std::mutex> lock(runMutex);
            runStop.requestStop(StopReason::Disabled);
            return; // comes back here when execute() has returned
        }
        if (state != WorkerState::Disabled) {
            setState(WorkerState::Disabled);
            resignThen([] {});
        }
        return;
    }
    if (state == WorkerState::Disabled) {
        backoff = milliseconds(0);
        if (lockMode == LockMode::Leader)
            standBy();
        else
            launch();
    }
}

bool ContinuousWorkerPrivate::runNow(QString *error)
{
    if (error)
        *error = QStringLiteral("worker %1 is continuous; it runs all the time").arg(name);
    return false;
}

void ContinuousWorkerPrivate::leadershipAcquired(const std::shared_ptr<LeaseGuard> &guard)
{
    if (!takeLeadership(guard, active && isEffectivelyEnabled() && !running))
        return;
    backoff = milliseconds(0);
    launch();
}

void ContinuousWorkerPrivate::leadershipLost()
{
    if (!dropLeadership())
        return;
    restartTimer->stop();
    if (!running && active)
        standBy();
}

// --- ContinuousWorker -----------------------------------------------------------------------

ContinuousWorker::ContinuousWorker(const QString &name, QObject *parent)
    : Worker(name, Kind::Continuous, parent)
{
    d_ptr = std::make_unique<ContinuousWorkerPrivate>(this, name);
}

ContinuousWorker::~ContinuousWorker() = default;

ContinuousWorkerPrivate *ContinuousWorker::d_func()
{
    return static_cast<ContinuousWorkerPrivate *>(d_ptr.get());
}
const ContinuousWorkerPrivate *ContinuousWorker::d_func() const
{
    return static_cast<const ContinuousWorkerPrivate *>(d_ptr.get());
}

namespace {
class FunctionContinuousWorker final : public ContinuousWorker
{
public:
    using ContinuousWorker::ContinuousWorker;

protected:
    void execute(StopToken) override {}
};
} // namespace

ContinuousWorker *ContinuousWorker::create(const QString &name,
                                           std::function<void(RunContext &)> execute)
{
    auto *worker = new FunctionContinuousWorker(name);
    worker->d_func()->function = std::move(execute);
    return worker;
}

void ContinuousWorker::setRestartBackoff(milliseconds initial, milliseconds maximum)
{
    if (initial.count() <= 0 || maximum < initial) {
        qWarning("Warden::ContinuousWorker::setRestartBackoff: %s: the initial back-off must be "
                 "positive and the maximum at least as long (%lld ms, %lld ms); ignored",
                 qPrintable(name()), static_cast<long long>(initial.count()),
                 static_cast<long long>(maximum.count()));
        return;
    }
    d_func()->initialBackoff = initial;
    d_func()->maximumBackoff = maximum;
}

milliseconds ContinuousWorker::initialBackoff() const
{
    return d_func()->initialBackoff;
}
milliseconds ContinuousWorker::maximumBackoff() const
{
    return d_func()->maximumBackoff;
}

RunContext &ContinuousWorker::context()
{
    Q_ASSERT_X(d_func()->context, "ContinuousWorker::context", "called outside execute()");
    return *d_func()->context;
}

} // namespace Warden
