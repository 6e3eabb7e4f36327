#include "leasekeeper_p.h"

#include <warden/logging.h>

#include <QtCore/QThread>

#include <vector>

namespace Warden {

using namespace std::chrono;

LeaseKeeper::LeaseKeeper(std::shared_ptr<LockManager> lockManager, Options options)
    : m_lockManager(std::move(lockManager))
    , m_options(std::move(options))
{
    m_renewTimer = new QTimer(this);
    m_renewTimer->setTimerType(Qt::PreciseTimer);
    connect(m_renewTimer, &QTimer::timeout, this, &LeaseKeeper::renewAll);
    m_standbyTimer = new QTimer(this);
    m_standbyTimer->setTimerType(Qt::PreciseTimer);
    connect(m_standbyTimer, &QTimer::timeout, this, [this] { tryCandidates(); });
    connect(
        m_lockManager.get(), &LockManager::released, this,
        [this](const QString &name) { tryCandidates(name); }, Qt::QueuedConnection);
    m_watchdog = std::thread([this] { watchdogLoop(); });
}

LeaseKeeper::~LeaseKeeper()
{
    shutdown();
}

milliseconds LeaseKeeper::safetyMargin(milliseconds ttl)
{
    return std::max(milliseconds(50), ttl / 10);
}

void LeaseKeeper::shutdown()
{
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_quit = true;
    }
    m_changed.notify_all();
    if (m_watchdog.joinable())
        m_watchdog.join();
}

int LeaseKeeper::track(const Lease &lease, Clock::time_point sentAt, std::function<void()> onLost)
{
    int id = 0;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        id = m_nextId++;
        Tracked &t = m_tracked[id];
        t.lease = lease;
        t.validUntil = sentAt + m_options.ttl;
        t.fenceAt = t.validUntil - safetyMargin(m_options.ttl);
        t.onLost = std::move(onLost);
    }
    m_changed.notify_all();
    // Start renewing from the keeper's own thread.
    QMetaObject::invokeMethod(this, [this] {
        if (!m_renewTimer->isActive())
            m_renewTimer->start(m_options.renewInterval);
    });
    qCDebug(lcLease, "tracking %s token %lld", qPrintable(lease.name),
            static_cast<long long>(lease.fencingToken));
    return id;
}

Lease LeaseKeeper::untrack(int id)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    auto it = m_tracked.find(id);
    if (it == m_tracked.end())
        return Lease();
    Lease lease = it->second.lease;
    m_tracked.erase(it);
    return lease;
}

void LeaseKeeper::markLost(int id)
{
    std::function<void()> callback;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto it = m_tracked.find(id);
        if (it == m_tracked.end() || it->second.lost)
            return;
        it->second.lost = true;
        callback = it->second.onLost;
        qCWarning(lcLease, "lease %s (token %lld) lost: stopping its run",
                  qPrintable(it->second.lease.name),
                  static_cast<long long>(it->second.lease.fencingToken));
    }
    if (callback)
        callback();
}

void LeaseKeeper::renewAll()
{
    std::vector<std::pair<int, Lease>> work;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (const auto &[id, t] : m_tracked) {
            if (!t.lost)
                work.emplace_back(id, t.lease);
        }
    }
    if (work.empty()) {
        m_renewTimer->stop();
        return;
    }
    bool anyError = false;
    for (const auto &[id, lease] : work) {
        const Clock::time_point sentAt = Clock::now();
        const LockManager::Attempt attempt = m_lockManager->renew(lease, m_options.ttl);
        switch (attempt.status) {
        case LockManager::Status::Acquired: {
            std::lock_guard<std::mutex> lock(m_mutex);
            auto it = m_tracked.find(id);
            if (it != m_tracked.end() && !it->second.lost) {
                it->second.lease = attempt.lease;
                it->second.validUntil = sentAt + m_options.ttl;
                it->second.fenceAt = it->second.validUntil - safetyMargin(m_options.ttl);
            }
            break;
        }
        case LockManager::Status::Lost:
        case LockManager::Status::Busy:
            markLost(id);
            break;
        case LockManager::Status::Error:
            anyError = true;
            qCWarning(lcLease, "cannot renew lease %s: %s", qPrintable(lease.name),
                      qPrintable(attempt.error));
            break;
        }
    }
    m_changed.notify_all();
    // After an error, retry sooner than the regular interval, as long as that helps.
    const milliseconds next =
        anyError ? std::min(m_options.renewInterval, std::max(milliseconds(50), m_options.ttl / 20))
                 : m_options.renewInterval;
    m_renewTimer->start(next);
}

void LeaseKeeper::watchdogLoop()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    while (!m_quit) {
        Clock::time_point earliest = Clock::time_point::max();
        std::vector<int> due;
        const Clock::time_point now = Clock::now();
        for (const auto &[id, t] : m_tracked) {
            if (t.lost)
                continue;
            if (t.fenceAt <= now)
                due.push_back(id);
            else
                earliest = std::min(earliest, t.fenceAt);
        }
        if (!due.empty()) {
            lock.unlock();
            for (int id : due)
                markLost(id);
            lock.lock();
            continue;
        }
        if (earliest == Clock::time_point::max())
            m_changed.wait(lock);
        else
            m_changed.wait_until(lock, earliest);
    }
}

void LeaseKeeper::requestLeadership(const QString &key, const QString &lockName,
                                    std::function<void(const Lease &)> onAcquired,
                                    std::function<void()> onLost)
{
    QMetaObject::invokeMethod(this, [this, key, lockName, onAcquired = std::move(onAcquired),
                                     onLost = std::move(onLost)]() mutable {
        Candidate &c = m_candidates[key];
        c.lockName = lockName;
        c.onAcquired = std::move(onAcquired);
        c.onLost = std::move(onLost);
        c.trackId = 0;
        if (!m_standbyTimer->isActive())
            m_standbyTimer->start(m_options.standbyPollInterval);
        tryCandidates(lockName);
    });
}

void LeaseKeeper::resign(const QString &key, std::function<void()> done)
{
    QMetaObject::invokeMethod(this, [this, key, done = std::move(done)] {
        const auto it = m_candidates.find(key);
        if (it != m_candidates.end()) {
            const int trackId = it->trackId;
            m_candidates.erase(it);
            if (trackId != 0) {
                const Lease lease = untrack(trackId);
                if (lease.isValid()) {
                    QString error;
                    if (!m_lockManager->release(lease, &error))
                        qCWarning(lcLease, "cannot release lease %s: %s", qPrintable(lease.name),
                                  qPrintable(error));
                    else
                        qCDebug(lcLease, "released %s", qPrintable(lease.name));
                }
            }
        }
        if (done)
            done();
    });
}

void LeaseKeeper::releaseLater(const Lease &lease)
{
    QMetaObject::invokeMethod(this, [this, lease] {
        QString error;
        if (!m_lockManager->release(lease, &error))
            qCWarning(lcLease, "cannot release lease %s: %s", qPrintable(lease.name),
                      qPrintable(error));
    });
}

void LeaseKeeper::tryCandidates(const QString &onlyLock)
{
    bool waiting = false;
    for (auto it = m_candidates.begin(); it != m_candidates.end(); ++it) {
        Candidate &c = it.value();
        if (c.trackId != 0)
            continue;
        waiting = true;
        if (!onlyLock.isEmpty() && c.lockName != onlyLock)
            continue;
        const Clock::time_point sentAt = Clock::now();
        const LockManager::Attempt attempt =
            m_lockManager->tryAcquire(c.lockName, m_options.holder, m_options.ttl);
        if (attempt.status == LockManager::Status::Error) {
            qCWarning(lcLease, "cannot try leader lease %s: %s", qPrintable(c.lockName),
                      qPrintable(attempt.error));
            continue;
        }
        if (attempt.status != LockManager::Status::Acquired)
            continue;
        const QString key = it.key();
        std::function<void()> onLost = c.onLost;
        // On loss the candidacy ends; the worker stands by again once its run has ended.
        c.trackId = track(attempt.lease, sentAt, [this, key, onLost] {
            if (onLost)
                onLost();
            QMetaObject::invokeMethod(this, [this, key] {
                const auto found = m_candidates.find(key);
                if (found != m_candidates.end() && found->trackId != 0) {
                    untrack(found->trackId);
                    m_candidates.erase(found);
                }
            });
        });
        qCInfo(lcLease, "%s is leader of %s (token %lld)", qPrintable(m_options.holder),
               qPrintable(c.lockName), static_cast<long long>(attempt.lease.fencingToken));
        if (c.onAcquired)
            c.onAcquired(attempt.lease);
    }
    if (!waiting && m_standbyTimer->isActive())
        m_standbyTimer->stop();
    else if (waiting && !m_standbyTimer->isActive())
        m_standbyTimer->start(m_options.standbyPollInterval);
}

} // namespace Warden
