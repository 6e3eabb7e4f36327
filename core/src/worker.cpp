#include "worker_p.h"

#include "logging_p.h"

#include <warden/logging.h>

#include <QtCore/QRandomGenerator>
#include <QtCore/QRegularExpression>
#include <QtCore/QThread>

namespace Warden {

// --- HostRuntime ----------------------------------------------------------------------------

void HostRuntime::log(QtMsgType level, const QString &worker, const QString &runId,
                      const QString &message) const
{
    const QLoggingCategory &category = worker.isEmpty() ? lcHost() : lcWorker();
    writeMessage(category, level, worker.isEmpty() ? nodeId : worker, message);
    if (!store || (level == QtDebugMsg && !category.isDebugEnabled()))
        return;
    LogLine line;
    line.time = QDateTime::currentDateTimeUtc();
    line.node = nodeId;
    line.worker = worker;
    line.runId = runId;
    line.level = level;
    line.category = QString::fromLatin1(category.categoryName());
    line.message = message;
    store->appendLog(line);
}

namespace {
// xoshiro256**: a fast generator of good statistical quality, one per thread, seeded from
// the system's generator; run ids need to be unique, not unpredictable.
class RunIdGenerator
{
public:
    RunIdGenerator() { QRandomGenerator::system()->fillRange(m_state, 4); }
    quint64 next()
    {
        const quint64 result = rotl(m_state[1] * 5, 7) * 9;
        const quint64 t = m_state[1] << 17;
        m_state[2] ^= m_state[0];
        m_state[3] ^= m_state[1];
        m_state[1] ^= m_state[2];
        m_state[0] ^= m_state[3];
        m_state[2] ^= t;
        m_state[3] = rotl(m_state[3], 45);
        return result;
    }

private:
    static quint64 rotl(quint64 x, int k) { return (x << k) | (x >> (64 - k)); }
    quint64 m_state[4];
};
} // namespace

QString HostRuntime::newRunId()
{
    // A version 4 UUID. QUuid::createUuid() asks the system generator, which costs a system
    // call per run; the global generator takes a lock.
    thread_local RunIdGenerator generator;
    quint64 parts[2] = {generator.next(), generator.next()};
    parts[0] = (parts[0] & 0xFFFFFFFFFFFF0FFFULL) | 0x0000000000004000ULL;
    parts[1] = (parts[1] & 0x3FFFFFFFFFFFFFFFULL) | 0x8000000000000000ULL;
    static const char hex[] = "0123456789abcdef";
    // Where the 32 digits go in "xxxxxxxx-xxxx-4xxx-yxxx-xxxxxxxxxxxx".
    static constexpr unsigned char at[32] = {0,  1,  2,  3,  4,  5,  6,  7,  9,  10, 11,
                                             12, 14, 15, 16, 17, 19, 20, 21, 22, 24, 25,
                                             26, 27, 28, 29, 30, 31, 32, 33, 34, 35};
    QString text(36, Qt::Uninitialized);
    QChar *out = text.data();
    out[8] = out[13] = out[18] = out[23] = QLatin1Char('-');
    for (int i = 0; i < 16; ++i) {
        out[at[i]] = QLatin1Char(hex[(parts[0] >> (60 - 4 * i)) & 0xF]);
        out[at[16 + i]] = QLatin1Char(hex[(parts[1] >> (60 - 4 * i)) & 0xF]);
    }
    return text;
}

// --- WorkerPrivate --------------------------------------------------------------------------

WorkerPrivate::WorkerPrivate(Worker *q, const QString &workerName, Worker::Kind workerKind)
    : q_ptr(q)
    , name(workerName)
    , kind(workerKind)
{
    statusData.worker = workerName;
    statusData.kind = workerKind == Worker::Kind::Periodic ? QStringLiteral("periodic")
                                                           : QStringLiteral("continuous");
}

WorkerPrivate::~WorkerPrivate() = default;

bool WorkerPrivate::isEffectivelyEnabled() const
{
    const bool hostOn = runtime ? runtime->hostEnabled.load() : true;
    const bool paused = pausedUntil.isValid() && pausedUntil > QDateTime::currentDateTimeUtc();
    return hostOn && localEnabled && clusterEnabled && !paused;
}

void WorkerPrivate::setState(WorkerState newState)
{
    const WorkerState old = state.exchange(newState);
    if (old == newState)
        return;
    updateStatus([&](WorkerStatus &s) {
        s.state = newState;
        s.enabled = isEffectivelyEnabled();
    });
    Q_EMIT q_ptr->stateChanged(newState);
    if (runtime && runtime->stateChanged)
        runtime->stateChanged(name, newState);
}

void WorkerPrivate::applyPause(const QDateTime &until)
{
    pausedUntil = until;
    if (!pauseTimer) {
        pauseTimer = new QTimer(q_ptr);
        pauseTimer->setSingleShot(true);
        pauseTimer->setTimerType(Qt::PreciseTimer);
        // Re-arms itself if it fired before the pause has really passed on the wall clock.
        QObject::connect(pauseTimer, &QTimer::timeout, q_ptr, [this] { applyPause(pausedUntil); });
    }
    pauseTimer->stop();
    const qint64 ms = until.isValid() ? QDateTime::currentDateTimeUtc().msecsTo(until) : 0;
    if (ms > 0) {
        // Long pauses are re-checked every hour so that a changed wall clock cannot strand them.
        pauseTimer->start(int(std::min<qint64>(ms + 1, 3600 * 1000)));
    }
    reevaluate();
}

void WorkerPrivate::standBy()
{
    setState(WorkerState::Waiting);
    Worker *worker = q_ptr;
    // Losing the lease stops the run bound to it (LeaseGuard) before this is called.
    runtime->keeper->requestLeadership(
        name, effectiveLockName(),
        [this, worker](const std::shared_ptr<LeaseGuard> &guard) {
            QMetaObject::invokeMethod(worker, [this, guard] { leadershipAcquired(guard); });
        },
        [this, worker] { QMetaObject::invokeMethod(worker, [this] { leadershipLost(); }); });
}

bool WorkerPrivate::takeLeadership(const std::shared_ptr<LeaseGuard> &guard, bool mayRun)
{
    if (!mayRun) {
        resignThen([] {});
        return false;
    }
    const Lease lease = guard->lease();
    if (!guard->isValid()) {
        // The lease ended before this thread heard of it (a slow or frozen process): it
        // grants nothing, and the candidacy ended with it. Stand by again.
        runtime->log(QtWarningMsg, name, QString(),
                     QStringLiteral("the leader lease %1 (fencing token %2) ended before the "
                                    "worker could take it; standing by again")
                         .arg(lease.name)
                         .arg(lease.fencingToken));
        standBy();
        return false;
    }
    leaderGuard = guard;
    isLeader = true;
    runtime->log(
        QtInfoMsg, name, QString(),
        QStringLiteral("leader of %1 (fencing token %2)").arg(lease.name).arg(lease.fencingToken));
    updateStatus([&](WorkerStatus &s) { s.lockName = lease.name; });
    return true;
}

bool WorkerPrivate::dropLeadership()
{
    if (!isLeader)
        return false;
    isLeader = false;
    leaderGuard.reset();
    runtime->log(QtWarningMsg, name, QString(), QStringLiteral("lost the leader lease"));
    return true;
}

void WorkerPrivate::resignThen(std::function<void()> next)
{
    if (lockMode != LockMode::Leader || !runtime || !runtime->keeper) {
        next();
        return;
    }
    isLeader = false;
    leaderGuard.reset();
    Worker *worker = q_ptr;
    runtime->keeper->resign(
        name, [worker, next = std::move(next)] { QMetaObject::invokeMethod(worker, next); });
}

void WorkerPrivate::releaseHeldLease()
{
    Lease held;
    {
        std::lock_guard<std::mutex> lock(runMutex);
        held = heldLease;
        heldLease = Lease();
    }
    if (held.isValid() && runtime && runtime->keeper)
        runtime->keeper->releaseLater(held);
}

void WorkerPrivate::finishStop()
{
    releaseHeldLease(); // a graceful stop releases at once
    resignThen([this] {
        setState(WorkerState::Stopped);
        updateStatus([](WorkerStatus &s) { s.nextRunAt = QDateTime(); });
        if (runtime && runtime->workerStopped)
            runtime->workerStopped(name);
    });
}

StopSource WorkerPrivate::beginRun(const RunRecord &record, Lease *takeHeldLease)
{
    std::lock_guard<std::mutex> lock(runMutex);
    runStop = StopSource();
    runActive = true;
    runAbandoned = false;
    currentRun = record;
    if (takeHeldLease)
        std::swap(*takeHeldLease, heldLease);
    return runStop;
}

bool WorkerPrivate::endRun(const RunRecord &record, bool ranElsewhere)
{
    {
        std::lock_guard<std::mutex> lock(runMutex);
        runActive = false;
        if (runAbandoned)
            return false;
    }
    const bool failed = isFailure(record.outcome);
    updateStatus([&](WorkerStatus &s) {
        if (ranElsewhere) {
            ++s.skipCount;
            return;
        }
        ++s.runCount;
        if (failed)
            ++s.failureCount;
        s.lastRunAt = record.startedAt;
        s.lastOutcome = record.outcome;
        s.lastDurationMs = record.durationMs();
        s.lastLatenessMs = record.isManual() ? 0 : record.latenessMs();
        s.lastError = record.error;
    });
    if (ranElsewhere)
        return true;
    if (runtime) {
        if (failed)
            runtime->log(QtWarningMsg, name, record.runId,
                         QStringLiteral("run %1: %2").arg(toKeyword(record.outcome), record.error));
        if (runtime->store)
            runtime->store->recordRun(record);
        if (runtime->runFinished)
            runtime->runFinished(record);
    }
    Q_EMIT q_ptr->runFinished(record);
    return true;
}

void WorkerPrivate::recordStart(const RunRecord &record, bool writeRow)
{
    {
        std::lock_guard<std::mutex> lock(runMutex);
        currentRun.startedAt = record.startedAt; // an abandoned run keeps its real start
        currentRun.fencingToken = record.fencingToken;
    }
    if (!runtime)
        return;
    RunRecord start = record;
    start.outcome = RunOutcome::Running;
    start.finishedAt = QDateTime();
    start.error.clear();
    if (writeRow && runtime->store)
        runtime->store->recordRun(start);
    if (runtime->runStarted)
        runtime->runStarted(start);
}

std::optional<RunRecord> WorkerPrivate::abandon()
{
    std::lock_guard<std::mutex> lock(runMutex);
    if (!runActive || runAbandoned)
        return std::nullopt;
    runAbandoned = true;
    runStop.requestStop(StopReason::Shutdown);
    RunRecord record = currentRun;
    record.outcome = RunOutcome::Abandoned;
    record.finishedAt = QDateTime::currentDateTimeUtc();
    if (!record.startedAt.isValid())
        record.startedAt = record.finishedAt;
    record.error = QStringLiteral("did not stop within the shutdown timeout");
    updateStatus([&](WorkerStatus &s) {
        ++s.runCount;
        ++s.failureCount;
        s.lastRunAt = record.startedAt;
        s.lastOutcome = RunOutcome::Abandoned;
        s.lastError = record.error;
    });
    return record;
}

RunContext::LogSink WorkerPrivate::logSink() const
{
    std::shared_ptr<HostRuntime> rt = runtime;
    return [rt](const RunContext &context, QtMsgType level, const QString &message) {
        rt->log(level, context.workerName(), context.runId(), message);
    };
}

// --- Worker ---------------------------------------------------------------------------------

Worker::Worker(const QString &name, Kind kind, QObject *parent)
    : QObject(parent)
{
    Q_UNUSED(kind)
    QString error;
    if (!isValidName(name, &error))
        qWarning("Warden::Worker: %s; a host will refuse this worker", qPrintable(error));
    setObjectName(name);
}

Worker::~Worker()
{
    if (d_ptr && d_ptr->ownedByHost.load())
        qFatal("Warden::Worker \"%s\" was deleted while a Host owns it (delete or deleteLater() "
               "of a worker given to Host::addWorker()); remove it with Host::removeWorker(), "
               "which stops it and deletes it once its run has ended",
               qPrintable(d_ptr->name));
}

QString Worker::name() const
{
    return d_ptr->name;
}
Worker::Kind Worker::kind() const
{
    return d_ptr->kind;
}
WorkerState Worker::state() const
{
    return d_ptr->state.load();
}

bool Worker::isValidName(const QString &name, QString *error)
{
    static const QRegularExpression valid(QStringLiteral("^[A-Za-z0-9._-]+$"));
    auto fail = [&](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (name.isEmpty())
        return fail(QStringLiteral("a worker name must not be empty"));
    if (name.size() > 128)
        return fail(QStringLiteral("worker name \"%1...\" is %2 characters long; at most 128 "
                                   "are allowed")
                        .arg(name.left(32))
                        .arg(name.size()));
    if (!valid.match(name).hasMatch()) {
        QChar bad;
        for (QChar c : name) {
            if (!(c.isLetterOrNumber() && c.unicode() < 128) && c != QLatin1Char('.') &&
                c != QLatin1Char('_') && c != QLatin1Char('-')) {
                bad = c;
                break;
            }
        }
        return fail(QStringLiteral("worker name \"%1\" contains '%2'; use only letters, digits, "
                                   "'.', '_' and '-'")
                        .arg(name, QString(bad)));
    }
    return true;
}

void Worker::setLock(LockMode mode, const QString &lockName)
{
    if (d_ptr->runtime) {
        qWarning("Warden::Worker::setLock: %s is already in a host; ignored",
                 qPrintable(d_ptr->name));
        return;
    }
    d_ptr->lockMode = mode;
    d_ptr->lockName = lockName;
    d_ptr->updateStatus([&](WorkerStatus &s) {
        s.lockMode = mode;
        s.lockName = mode == LockMode::None ? QString() : d_ptr->effectiveLockName();
    });
}

LockMode Worker::lockMode() const
{
    return d_ptr->lockMode;
}
QString Worker::lockName() const
{
    return d_ptr->lockMode == LockMode::None ? QString() : d_ptr->effectiveLockName();
}

bool Worker::isEnabled() const
{
    return d_ptr->localEnabled;
}

void Worker::setEnabled(bool enabled)
{
    if (d_ptr->runtime) {
        qWarning("Warden::Worker::setEnabled: %s is in a host; use Host::setWorkerEnabled()",
                 qPrintable(d_ptr->name));
        return;
    }
    d_ptr->localEnabled = enabled;
}

WorkerStatus Worker::status() const
{
    std::lock_guard<std::mutex> lock(d_ptr->statusMutex);
    WorkerStatus s = d_ptr->statusData;
    s.state = d_ptr->state.load();
    return s;
}

} // namespace Warden
