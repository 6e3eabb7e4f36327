#include "host_p.h"

#include <warden/adminactions.h>
#include <warden/logging.h>
#include <warden/schedule.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QMetaMethod>
#include <QtCore/QSysInfo>

#include <thread>

namespace Warden {

using namespace std::chrono;

// --- HostControl ----------------------------------------------------------------------------

HostControl::HostControl(HostPrivate *host)
    : m_host(host)
{}

void HostControl::begin()
{
    if (!m_settingsTimer) {
        m_settingsTimer = new QTimer(this);
        connect(m_settingsTimer, &QTimer::timeout, this, &HostControl::pollSettings);
        m_statusTimer = new QTimer(this);
        connect(m_statusTimer, &QTimer::timeout, this, &HostControl::publishStatuses);
        m_heartbeatTimer = new QTimer(this);
        connect(m_heartbeatTimer, &QTimer::timeout, this, &HostControl::publishHeartbeat);
        connect(m_host->store.get(), &Store::workerSettingsChanged, this,
                &HostControl::pollSettings, Qt::QueuedConnection);
    }
    closeOwnLeftovers(); // before the heartbeat: the old one tells when the last process ended
    publishHeartbeat();
    pollSettings();
    QList<Worker *> workers;
    m_host->forEachWorker([&](Worker *w) { workers.append(w); });
    for (Worker *w : workers)
        adopt(w);
    m_settingsTimer->start(m_host->settingsPoll);
    m_statusTimer->start(m_host->statusInterval);
    m_heartbeatTimer->start(m_host->heartbeatInterval);
    QMetaObject::invokeMethod(m_host->q, [host = m_host] {
        host->runtime->log(QtInfoMsg, QString(), QString(),
                           QStringLiteral("node %1 started with %2 workers")
                               .arg(host->nodeId)
                               .arg(host->workers.size()));
        Q_EMIT host->q->started();
    });
}

void HostControl::adopt(Worker *worker)
{
    const auto it = m_settings.constFind(worker->name());
    if (it != m_settings.cend())
        applySettings(worker, *it, true);
    else
        m_triggerSeen.insert(worker->name(), 0); // no row yet: its first request counts
    WorkerPrivate *wd = WorkerPrivate::get(worker);
    QMetaObject::invokeMethod(worker, [wd] { wd->start(); });
}

void HostControl::applySettings(Worker *worker, const WorkerSettings &settings, bool initial)
{
    WorkerPrivate *wd = WorkerPrivate::get(worker);
    wd->clusterEnabled = settings.enabled;
    const QDateTime paused = settings.pausedUntil;
    QMetaObject::invokeMethod(worker, [wd, paused] { wd->applyPause(paused); });
    // "Run now" requests: only those made after this host adopted the worker (a worker
    // without a settings row then starts from 0, so its first request counts).
    const qint64 seen = m_triggerSeen.value(worker->name(), 0);
    if (initial) {
        m_triggerSeen.insert(worker->name(), settings.triggerSequence);
    } else if (settings.triggerSequence > seen) {
        m_triggerSeen.insert(worker->name(), settings.triggerSequence);
        QMetaObject::invokeMethod(worker, [wd] {
            // Only the node that may run it: the leader, or (per-run lock) whoever wins it.
            if (wd->lockMode == LockMode::Leader && !wd->mayRunAsLeader())
                return;
            QString error;
            if (!wd->runNow(&error))
                wd->runtime->log(QtInfoMsg, wd->name, QString(),
                                 QStringLiteral("run-now request not taken: %1").arg(error));
        });
    }
}

void HostControl::pollSettings()
{
    const auto result = m_host->store->workerSettings();
    if (!result.isOk()) {
        qCWarning(lcHost, "cannot read worker settings: %s", qPrintable(result.errorString()));
        return;
    }
    QHash<QString, WorkerSettings> next;
    for (const WorkerSettings &s : result.value())
        next.insert(s.worker, s);
    const bool initial = !m_haveSettings;
    m_haveSettings = true;
    m_host->forEachWorker([&](Worker *w) {
        const auto it = next.constFind(w->name());
        const auto old = m_settings.constFind(w->name());
        if (it == next.cend()) {
            if (old != m_settings.cend()) {
                // Settings removed: back to the defaults.
                WorkerSettings defaults;
                defaults.worker = w->name();
                applySettings(w, defaults, initial);
            }
            return;
        }
        if (old != m_settings.cend() && old->enabled == it->enabled &&
            old->pausedUntil == it->pausedUntil && old->triggerSequence == it->triggerSequence)
            return;
        applySettings(w, *it, initial && old == m_settings.cend());
    });
    m_settings = next;
}

void HostControl::publishStatuses()
{
    const QString node = m_host->nodeId;
    Store *store = m_host->store.get();
    m_host->forEachWorker([&](Worker *w) {
        WorkerPrivate *wd = WorkerPrivate::get(w);
        if (!wd->statusDirty.exchange(false))
            return;
        WorkerStatus status = w->status();
        status.node = node;
        status.updatedAt = QDateTime::currentDateTimeUtc();
        store->publishWorkerStatus(status);
    });
}

void HostControl::publishHeartbeat()
{
    m_host->store->publishNode(m_host->nodeInfo());
    closeRunsOfDeadNodes();
}

void HostControl::closeOwnLeftovers()
{
    const auto closed = m_host->store->closeRunningRuns(
        m_host->nodeId,
        QStringLiteral("node %1 stopped while the run went on (it was killed or its machine "
                       "went down); the run ended with it, some time after its last heartbeat "
                       "(recorded as its end: the true end is not known)")
            .arg(m_host->nodeId));
    if (!closed.isOk())
        qCWarning(lcHost, "cannot close the runs left by this node's last process: %s",
                  qPrintable(closed.errorString()));
    else if (closed.value() > 0)
        m_host->runtime->log(QtWarningMsg, QString(), QString(),
                             QStringLiteral("closed %1 run(s) that this node's last process left "
                                            "running as lost")
                                 .arg(closed.value()));
}

void HostControl::closeRunsOfDeadNodes()
{
    const auto nodes = m_host->store->nodes();
    if (!nodes.isOk())
        return;
    QList<NodeInfo> dead;
    for (const NodeInfo &node : nodes.value()) {
        if (node.id != m_host->nodeId && node.heartbeatAgeMs >= 0 && !node.isAlive())
            dead.append(node);
    }
    if (dead.isEmpty())
        return;
    // One live node closes them: whoever holds this lease; it lapses by itself.
    if (m_host->lockManager) {
        const auto attempt = m_host->lockManager->tryAcquire(
            QStringLiteral("warden.ledger"), m_host->nodeId, m_host->heartbeatInterval * 2);
        if (attempt.status != LockManager::Status::Acquired)
            return;
    }
    for (const NodeInfo &node : std::as_const(dead)) {
        const auto closed = m_host->store->closeRunningRuns(
            node.id,
            QStringLiteral("node %1 stopped answering (last heartbeat %2); the run ended with it, "
                           "at most a heartbeat interval after that heartbeat. Recorded as its "
                           "end: that heartbeat, or the run's start if it started later; the "
                           "true end is not known")
                .arg(node.id, node.heartbeatAt.toString(Qt::ISODateWithMs)));
        if (closed.isOk() && closed.value() > 0)
            m_host->runtime->log(QtWarningMsg, QString(), QString(),
                                 QStringLiteral("closed %1 run(s) of dead node %2 as lost")
                                     .arg(closed.value())
                                     .arg(node.id));
        // Dead for longer than the retention: out of the views, as an admin's
        // "warden nodes forget" would do it, and audited the same way.
        const qint64 retention = m_host->deadNodeRetention.count();
        // Counted from the moment it counted as dead, not from its last heartbeat.
        if (retention > 0 && node.heartbeatAgeMs - node.deadThresholdMs() > retention) {
            AdminActions admin(m_host->store, m_host->lockManager,
                               QStringLiteral("node %1").arg(m_host->nodeId));
            admin.setUser(QStringLiteral("warden"));
            const auto forgotten = admin.forgetNode(
                node.id, QStringLiteral("dead for longer than the dead-node retention (%1)")
                             .arg(IntervalSchedule::formatDuration(m_host->deadNodeRetention)));
            if (forgotten.isOk())
                m_host->runtime->log(
                    QtInfoMsg, QString(), QString(),
                    QStringLiteral("forgot node %1: silent since %2")
                        .arg(node.id, node.heartbeatAt.toString(Qt::ISODateWithMs)));
            else
                qCWarning(lcHost, "cannot forget dead node %s: %s", qPrintable(node.id),
                          qPrintable(forgotten.errorString()));
        }
    }
}

void HostControl::finish()
{
    if (m_settingsTimer) {
        m_settingsTimer->stop();
        m_statusTimer->stop();
        m_heartbeatTimer->stop();
    }
    publishStatuses();
    m_host->store->removeNode(m_host->nodeId);
    if (!m_host->store->flush(seconds(5)))
        qCWarning(lcHost, "the store did not write everything within 5 s");
}

// --- HostPrivate ----------------------------------------------------------------------------

HostPrivate::HostPrivate(Host *host)
    : q(host)
    , nodeId(QSysInfo::machineHostName())
    , runtime(std::make_shared<HostRuntime>())
{
    if (!Worker::isValidName(nodeId))
        nodeId = QStringLiteral("node-%1").arg(QCoreApplication::applicationPid());
}

bool HostPrivate::inHostThread(const char *member, QString *error) const
{
    if (QThread::currentThread() == q->thread())
        return true;
    const QString message =
        QStringLiteral("Warden::Host::%1: called from another thread than the host's; ignored. "
                       "Call it in the thread the host lives in (for example with "
                       "QMetaObject::invokeMethod(host, ...))")
            .arg(QLatin1String(member));
    qWarning("%s", qPrintable(message));
    if (error)
        *error = message;
    return false;
}

NodeInfo HostPrivate::nodeInfo() const
{
    NodeInfo info;
    info.id = nodeId;
    info.hostName = QSysInfo::machineHostName();
    info.pid = QCoreApplication::applicationPid();
    info.version = Warden::version();
    info.startedAt = startedAt;
    info.heartbeatAt = QDateTime::currentDateTimeUtc();
    info.heartbeatIntervalMs = int(heartbeatInterval.count());
    info.deadAfterMs = deadNodeThreshold.count();
    return info;
}

void HostPrivate::ensureThreads()
{
    if (!runs)
        runs = new RunExecutor(maximumRunThreads);
    if (schedulerThreads.isEmpty()) {
        for (int i = 0; i < qMax(1, schedulerThreadCount); ++i) {
            auto *thread = new QThread;
            thread->setObjectName(QStringLiteral("warden-sched-%1").arg(i));
            thread->start();
            schedulerThreads.append(thread);
        }
    }
    if (!leaseThread) {
        LeaseKeeper::Options options;
        options.holder = nodeId;
        options.ttl = leaseTtl;
        options.renewInterval = renewInterval.count() > 0 ? renewInterval : leaseTtl / 3;
        options.standbyPollInterval = standbyPoll;
        keeper = new LeaseKeeper(lockManager, options);
        leaseThread = new QThread;
        leaseThread->setObjectName(QStringLiteral("warden-leases"));
        keeper->moveToThread(leaseThread);
        leaseThread->start();
    }
    if (!controlThread) {
        control = new HostControl(this);
        controlThread = new QThread;
        controlThread->setObjectName(QStringLiteral("warden-control"));
        control->moveToThread(controlThread);
        controlThread->start();
    }
}

QThread *HostPrivate::pickSchedulerThread()
{
    QThread *thread = schedulerThreads.at(nextSchedulerThread % schedulerThreads.size());
    ++nextSchedulerThread;
    return thread;
}

void HostPrivate::onWorkerStopped(const QString &name)
{
    if (Worker *worker = removing.take(name)) {
        store->removeWorkerStatus(nodeId, name);
        WorkerPrivate::get(worker)->ownedByHost = false;
        worker->deleteLater();
        Q_EMIT q->workerRemoved(name);
    }
    if (stopping && pendingStops.remove(name) && pendingStops.isEmpty())
        completeStop();
}

void HostPrivate::onShutdownTimeout()
{
    if (!stopping)
        return;
    for (const QString &name : std::as_const(pendingStops)) {
        Worker *worker = nullptr;
        {
            std::lock_guard<std::mutex> lock(workersMutex);
            worker = workers.value(name);
        }
        if (!worker)
            worker = removing.value(name);
        if (!worker)
            continue;
        if (const auto record = WorkerPrivate::get(worker)->abandon()) {
            anyAbandoned = true;
            runtime->log(QtCriticalMsg, name, record->runId,
                         QStringLiteral("run abandoned: it did not stop within the shutdown "
                                        "timeout of %1")
                             .arg(IntervalSchedule::formatDuration(shutdownTimeout)));
            store->recordRun(*record);
            Q_EMIT q->runAbandoned(*record);
        }
    }
    pendingStops.clear();
    completeStop();
}

void HostPrivate::completeStop()
{
    shutdownTimer->stop();
    running = false;
    QMetaObject::invokeMethod(control, [this] {
        control->finish();
        QMetaObject::invokeMethod(q, [this] {
            stopping = false;
            Q_EMIT q->stopped();
        });
    });
}

// --- Host -----------------------------------------------------------------------------------

Host::Host(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<HostPrivate>(this))
{
    d->shutdownTimer = new QTimer(this);
    d->shutdownTimer->setSingleShot(true);
    connect(d->shutdownTimer, &QTimer::timeout, this, [this] { d->onShutdownTimeout(); });
    HostRuntime *rt = d->runtime.get();
    rt->workerStopped = [this](const QString &name) {
        QMetaObject::invokeMethod(this, [this, name] { d->onWorkerStopped(name); });
    };
    rt->stateChanged = [this](const QString &name, WorkerState state) {
        static const QMetaMethod signal = QMetaMethod::fromSignal(&Host::workerStateChanged);
        if (isSignalConnected(signal))
            QMetaObject::invokeMethod(
                this, [this, name, state] { Q_EMIT workerStateChanged(name, state); });
    };
    rt->runStarted = [this](const RunRecord &run) {
        static const QMetaMethod signal = QMetaMethod::fromSignal(&Host::runStarted);
        if (isSignalConnected(signal))
            QMetaObject::invokeMethod(this, [this, run] { Q_EMIT runStarted(run); });
    };
    rt->runFinished = [this](const RunRecord &run) {
        static const QMetaMethod signal = QMetaMethod::fromSignal(&Host::runFinished);
        if (isSignalConnected(signal))
            QMetaObject::invokeMethod(this, [this, run] { Q_EMIT runFinished(run); });
    };
}

Host::~Host()
{
    // Stop synchronously: the owner is going away, so waiting here is the lesser evil.
    if (d->running || d->stopping) {
        QList<Worker *> all;
        d->forEachWorker([&](Worker *w) { all.append(w); });
        for (Worker *w : all) {
            WorkerPrivate *wd = WorkerPrivate::get(w);
            QMetaObject::invokeMethod(w, [wd] { wd->stop(); });
        }
        const auto deadline = steady_clock::now() + d->shutdownTimeout;
        for (;;) {
            bool allStopped = true;
            for (Worker *w : all)
                allStopped = allStopped && w->state() == WorkerState::Stopped;
            if (allStopped || steady_clock::now() >= deadline)
                break;
            std::this_thread::sleep_for(milliseconds(5));
        }
        for (Worker *w : all) {
            if (w->state() == WorkerState::Stopped)
                continue;
            if (const auto record = WorkerPrivate::get(w)->abandon()) {
                d->anyAbandoned = true;
                d->runtime->log(QtCriticalMsg, w->name(), record->runId,
                                QStringLiteral("run abandoned at shutdown"));
                d->store->recordRun(*record);
            }
        }
        if (d->control) {
            HostControl *control = d->control;
            QMetaObject::invokeMethod(
                control, [control] { control->finish(); }, Qt::BlockingQueuedConnection);
        }
    }
    // The runtime must not call back into this host any more.
    d->runtime->workerStopped = nullptr;
    d->runtime->stateChanged = nullptr;
    d->runtime->runStarted = nullptr;
    d->runtime->runFinished = nullptr;

    if (d->controlThread) {
        d->controlThread->quit();
        d->controlThread->wait();
        delete d->control;
        delete d->controlThread;
    }
    // No run may outlive its worker: wait for what is still queued or running (a start that
    // raced with this stop). Runs abandoned earlier may have ended since; if every worker
    // has stopped and nothing runs, everything can be cleaned up after all.
    bool settled =
        !d->runs || d->runs->waitForDone(d->anyAbandoned ? milliseconds(0) : d->shutdownTimeout);
    if (d->anyAbandoned) {
        d->forEachWorker(
            [&](Worker *w) { settled = settled && w->state() == WorkerState::Stopped; });
        for (Worker *w : std::as_const(d->removing))
            settled = settled && w->state() == WorkerState::Stopped;
    }
    d->anyAbandoned = !settled;
    if (d->anyAbandoned) {
        // A run that never returned still uses its worker, the run pool and the lease keeper:
        // leave them to the process's exit rather than pull them from under it.
        qCWarning(lcHost, "runs were abandoned; their threads are left to the process's exit");
        for (QThread *t : std::as_const(d->schedulerThreads))
            t->quit();
        if (d->runs)
            d->runs->detach(); // and leaked: an abandoned run may still use it
        return;
    }
    {
        std::lock_guard<std::mutex> lock(d->workersMutex);
        for (Worker *w : std::as_const(d->workers)) {
            WorkerPrivate::get(w)->ownedByHost = false;
            w->deleteLater();
        }
        d->workers.clear();
    }
    for (Worker *w : std::as_const(d->removing)) {
        WorkerPrivate::get(w)->ownedByHost = false;
        w->deleteLater();
    }
    d->removing.clear();
    // Deferred deletes are processed as each thread finishes.
    for (QThread *t : std::as_const(d->schedulerThreads)) {
        t->quit();
        t->wait();
        delete t;
    }
    delete d->runs; // waits for the runs that are still going
    if (d->leaseThread) {
        d->keeper->shutdown();
        QMetaObject::invokeMethod(
            d->keeper, [k = d->keeper] { delete k; }, Qt::BlockingQueuedConnection);
        d->leaseThread->quit();
        d->leaseThread->wait();
        delete d->leaseThread;
    }
}

QString Host::nodeId() const
{
    return d->nodeId;
}

namespace {
//! Refuses (with a warning naming the setter) a negative duration, or a zero one when \a positive.
bool acceptDuration(const char *setter, milliseconds value, bool positive)
{
    if (value.count() > 0 || (!positive && value.count() == 0))
        return true;
    qWarning("Warden::Host::%s: %lld ms: the duration must be %s; ignored", setter,
             static_cast<long long>(value.count()), positive ? "positive" : "zero or more");
    return false;
}
} // namespace

void Host::setNodeId(const QString &nodeId)
{
    if (!d->inHostThread("setNodeId"))
        return;
    QString error;
    if (!Worker::isValidName(nodeId, &error)) {
        qWarning("Warden::Host::setNodeId: invalid node id: %s", qPrintable(error));
        return;
    }
    if (d->running || d->leaseThread) {
        qWarning("Warden::Host::setNodeId: the host has started; ignored");
        return;
    }
    d->nodeId = nodeId;
}

std::shared_ptr<LockManager> Host::lockManager() const
{
    return d->lockManager;
}

void Host::setLockManager(std::shared_ptr<LockManager> lockManager)
{
    if (!d->inHostThread("setLockManager"))
        return;
    if (d->leaseThread) {
        qWarning("Warden::Host::setLockManager: the host has started; ignored");
        return;
    }
    d->lockManager = std::move(lockManager);
}

std::shared_ptr<Store> Host::store() const
{
    return d->store;
}

void Host::setStore(std::shared_ptr<Store> store)
{
    if (!d->inHostThread("setStore"))
        return;
    if (d->controlThread) {
        qWarning("Warden::Host::setStore: the host has started; ignored");
        return;
    }
    d->store = std::move(store);
}

milliseconds Host::shutdownTimeout() const
{
    return d->shutdownTimeout;
}
void Host::setShutdownTimeout(milliseconds timeout)
{
    if (!d->inHostThread("setShutdownTimeout"))
        return;
    if (!acceptDuration("setShutdownTimeout", timeout, false))
        return;
    d->shutdownTimeout = timeout;
}
milliseconds Host::leaseTimeToLive() const
{
    return d->leaseTtl;
}
void Host::setLeaseTimeToLive(milliseconds ttl)
{
    if (!d->inHostThread("setLeaseTimeToLive"))
        return;
    if (ttl.count() < 100) {
        qWarning("Warden::Host::setLeaseTimeToLive: %lld ms is too short; at least 100 ms",
                 static_cast<long long>(ttl.count()));
        return;
    }
    d->leaseTtl = ttl;
}
milliseconds Host::leaseRenewInterval() const
{
    return d->renewInterval.count() > 0 ? d->renewInterval : d->leaseTtl / 3;
}
void Host::setLeaseRenewInterval(milliseconds interval)
{
    if (!d->inHostThread("setLeaseRenewInterval"))
        return;
    if (!acceptDuration("setLeaseRenewInterval", interval, true))
        return;
    d->renewInterval = interval;
}
void Host::setStandbyPollInterval(milliseconds interval)
{
    if (!d->inHostThread("setStandbyPollInterval"))
        return;
    if (!acceptDuration("setStandbyPollInterval", interval, true))
        return;
    d->standbyPoll = std::max(milliseconds(10), interval);
}
milliseconds Host::standbyPollInterval() const
{
    return d->standbyPoll;
}
void Host::setHeartbeatInterval(milliseconds interval)
{
    if (!d->inHostThread("setHeartbeatInterval"))
        return;
    if (!acceptDuration("setHeartbeatInterval", interval, true))
        return;
    d->heartbeatInterval = std::max(milliseconds(100), interval);
}
milliseconds Host::heartbeatInterval() const
{
    return d->heartbeatInterval;
}
void Host::setDeadNodeThreshold(milliseconds threshold)
{
    if (!d->inHostThread("setDeadNodeThreshold"))
        return;
    if (!acceptDuration("setDeadNodeThreshold", threshold, false))
        return;
    d->deadNodeThreshold = threshold;
}
milliseconds Host::deadNodeThreshold() const
{
    return d->deadNodeThreshold;
}
void Host::setDeadNodeRetention(milliseconds retention)
{
    if (!d->inHostThread("setDeadNodeRetention"))
        return;
    if (!acceptDuration("setDeadNodeRetention", retention, false))
        return;
    d->deadNodeRetention = retention;
}
milliseconds Host::deadNodeRetention() const
{
    return d->deadNodeRetention;
}
void Host::setSettingsPollInterval(milliseconds interval)
{
    if (!d->inHostThread("setSettingsPollInterval"))
        return;
    d->settingsPoll = std::max(milliseconds(50), interval);
}
void Host::setMaximumRunThreads(int count)
{
    if (!d->inHostThread("setMaximumRunThreads"))
        return;
    if (count < 1) {
        qWarning("Warden::Host::setMaximumRunThreads: %d: at least one thread; ignored", count);
        return;
    }
    d->maximumRunThreads = count;
    if (d->runs)
        d->runs->setMaximumThreads(d->maximumRunThreads);
}
int Host::maximumRunThreads() const
{
    return d->maximumRunThreads;
}
void Host::setSchedulerThreadCount(int count)
{
    if (!d->inHostThread("setSchedulerThreadCount"))
        return;
    if (!d->schedulerThreads.isEmpty()) {
        qWarning("Warden::Host::setSchedulerThreadCount: the host has started; ignored");
        return;
    }
    if (count < 1 || count > 64) {
        qWarning("Warden::Host::setSchedulerThreadCount: %d: between 1 and 64; ignored", count);
        return;
    }
    d->schedulerThreadCount = count;
}

bool Host::addWorker(Worker *worker, QString *error)
{
    auto fail = [&](const QString &message) {
        if (error)
            *error = message;
        qCWarning(lcHost, "cannot add worker: %s", qPrintable(message));
        delete worker;
        return false;
    };
    if (!worker)
        return fail(QStringLiteral("no worker given"));
    if (QThread::currentThread() != thread())
        return fail(QStringLiteral("Host::addWorker() was called from another thread than the "
                                   "host's; call it in the host's thread"));
    QString nameError;
    if (!Worker::isValidName(worker->name(), &nameError))
        return fail(nameError);
    if (worker->thread() != QThread::currentThread())
        return fail(QStringLiteral("worker %1 belongs to another thread; create it in the "
                                   "host's thread")
                        .arg(worker->name()));
    if (worker->parent())
        return fail(QStringLiteral("worker %1 has a parent; the host owns its workers")
                        .arg(worker->name()));
    {
        std::lock_guard<std::mutex> lock(d->workersMutex);
        if (d->workers.contains(worker->name()) || d->removing.contains(worker->name()))
            return fail(QStringLiteral("a worker named %1 exists already").arg(worker->name()));
    }
    WorkerPrivate *wd = WorkerPrivate::get(worker);
    wd->ownedByHost = true;
    wd->runtime = d->runtime;
    wd->updateStatus([&](WorkerStatus &s) { s.node = d->nodeId; });
    if (d->running) {
        worker->moveToThread(d->pickSchedulerThread());
        {
            std::lock_guard<std::mutex> lock(d->workersMutex);
            d->workers.insert(worker->name(), worker);
        }
        HostControl *control = d->control;
        QMetaObject::invokeMethod(control, [control, worker] { control->adopt(worker); });
    } else {
        std::lock_guard<std::mutex> lock(d->workersMutex);
        d->workers.insert(worker->name(), worker);
    }
    Q_EMIT workerAdded(worker->name());
    return true;
}

bool Host::removeWorker(const QString &name, QString *error)
{
    if (!d->inHostThread("removeWorker", error))
        return false;
    Worker *worker = nullptr;
    {
        std::lock_guard<std::mutex> lock(d->workersMutex);
        worker = d->workers.take(name);
    }
    if (!worker) {
        if (error)
            *error = QStringLiteral("no worker named %1").arg(name);
        return false;
    }
    if (!d->running && worker->state() == WorkerState::Stopped) {
        if (d->store) // none before the first start()
            d->store->removeWorkerStatus(d->nodeId, name);
        WorkerPrivate::get(worker)->ownedByHost = false;
        delete worker;
        Q_EMIT workerRemoved(name);
        return true;
    }
    d->removing.insert(name, worker);
    WorkerPrivate *wd = WorkerPrivate::get(worker);
    // Through the control thread, so that the stop is queued after the worker's start.
    QMetaObject::invokeMethod(
        d->control, [worker, wd] { QMetaObject::invokeMethod(worker, [wd] { wd->stop(); }); });
    return true;
}

bool Host::hasWorker(const QString &name) const
{
    std::lock_guard<std::mutex> lock(d->workersMutex);
    return d->workers.contains(name);
}

QStringList Host::workerNames() const
{
    std::lock_guard<std::mutex> lock(d->workersMutex);
    return d->workers.keys();
}

void Host::start()
{
    if (!d->inHostThread("start"))
        return;
    if (d->running) {
        qWarning("Warden::Host::start: already running");
        return;
    }
    if (d->stopping) {
        qWarning("Warden::Host::start: still stopping; start again after stopped()");
        return;
    }
    if (!d->lockManager)
        d->lockManager = std::make_shared<InProcessLockManager>();
    if (!d->store)
        d->store = std::make_shared<InMemoryStore>();
    HostRuntime *rt = d->runtime.get();
    rt->nodeId = d->nodeId;
    rt->lockManager = d->lockManager;
    rt->store = d->store;
    rt->leaseTtl = d->leaseTtl;
    rt->startRowsWithLease = d->lockManager->recordsRunsOf(d->store.get());
    d->ensureThreads();
    rt->runs = d->runs;
    rt->keeper = d->keeper;
    d->startedAt = QDateTime::currentDateTimeUtc();
    d->running = true;
    d->forEachWorker([&](Worker *w) {
        if (w->thread() == thread())
            w->moveToThread(d->pickSchedulerThread());
    });
    HostControl *control = d->control;
    QMetaObject::invokeMethod(control, [control] { control->begin(); });
}

void Host::stop()
{
    if (!d->inHostThread("stop"))
        return;
    if (!d->running || d->stopping)
        return;
    d->stopping = true;
    d->pendingStops.clear();
    QList<Worker *> all;
    d->forEachWorker([&](Worker *w) { all.append(w); });
    for (Worker *w : std::as_const(d->removing))
        all.append(w);
    for (Worker *w : all)
        d->pendingStops.insert(w->name());
    // Through the control thread, so that each stop is queued after the worker's start.
    QMetaObject::invokeMethod(d->control, [all] {
        for (Worker *w : all) {
            WorkerPrivate *wd = WorkerPrivate::get(w);
            QMetaObject::invokeMethod(w, [wd] { wd->stop(); });
        }
    });
    d->runtime->log(QtInfoMsg, QString(), QString(),
                    QStringLiteral("stopping %1 workers").arg(all.size()));
    if (d->pendingStops.isEmpty()) {
        d->completeStop();
        return;
    }
    d->shutdownTimer->start(d->shutdownTimeout);
}

bool Host::isRunning() const
{
    return d->running;
}

bool Host::isEnabled() const
{
    return d->runtime->hostEnabled;
}

void Host::setEnabled(bool enabled)
{
    if (!d->inHostThread("setEnabled"))
        return;
    if (d->runtime->hostEnabled.exchange(enabled) == enabled)
        return;
    d->forEachWorker([](Worker *w) {
        WorkerPrivate *wd = WorkerPrivate::get(w);
        QMetaObject::invokeMethod(w, [wd] { wd->reevaluate(); });
    });
    Q_EMIT enabledChanged(enabled);
}

bool Host::setWorkerEnabled(const QString &name, bool enabled, QString *error)
{
    if (!d->inHostThread("setWorkerEnabled", error))
        return false;
    std::lock_guard<std::mutex> lock(d->workersMutex);
    Worker *w = d->workers.value(name);
    if (!w) {
        if (error)
            *error = QStringLiteral("no worker named %1").arg(name);
        return false;
    }
    WorkerPrivate *wd = WorkerPrivate::get(w);
    wd->localEnabled = enabled;
    QMetaObject::invokeMethod(w, [wd] { wd->reevaluate(); });
    return true;
}

bool Host::pauseWorker(const QString &name, const QDateTime &until, QString *error)
{
    if (!d->inHostThread("pauseWorker", error))
        return false;
    std::lock_guard<std::mutex> lock(d->workersMutex);
    Worker *w = d->workers.value(name);
    if (!w) {
        if (error)
            *error = QStringLiteral("no worker named %1").arg(name);
        return false;
    }
    WorkerPrivate *wd = WorkerPrivate::get(w);
    const QDateTime at = until.toUTC();
    QMetaObject::invokeMethod(w, [wd, at] { wd->applyPause(at); });
    return true;
}

bool Host::runNow(const QString &name, QString *error)
{
    if (!d->inHostThread("runNow", error))
        return false;
    std::lock_guard<std::mutex> lock(d->workersMutex);
    Worker *w = d->workers.value(name);
    auto fail = [&](const QString &message) {
        if (error)
            *error = message;
        return false;
    };
    if (!w)
        return fail(QStringLiteral("no worker named %1").arg(name));
    WorkerPrivate *wd = WorkerPrivate::get(w);
    if (wd->kind == Worker::Kind::Continuous)
        return fail(QStringLiteral("worker %1 is continuous; it runs all the time").arg(name));
    if (!d->running)
        return fail(QStringLiteral("the host is not running"));
    if (wd->lockMode == LockMode::Leader && !wd->isLeader)
        return fail(
            QStringLiteral("worker %1 is on standby here; its leader node runs it").arg(name));
    QMetaObject::invokeMethod(w, [wd] {
        QString reason;
        if (!wd->runNow(&reason))
            wd->runtime->log(QtInfoMsg, wd->name, QString(),
                             QStringLiteral("run now refused: %1").arg(reason));
    });
    return true;
}

QList<WorkerStatus> Host::snapshot() const
{
    QList<WorkerStatus> out;
    d->forEachWorker([&](Worker *w) {
        WorkerStatus s = w->status();
        s.node = d->nodeId;
        out.append(s);
    });
    return out;
}

} // namespace Warden
