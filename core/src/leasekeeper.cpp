#include "leasekeeper_p.h"

#include <warden/logging.h>

#include <QtCore/QThread>

#include <vector>

namespace Warden {

using namespace std::chrono;

// --- LeaseGuard -----------------------------------------------------------------------------

LeaseGuard::LeaseGuard(const Lease &lease, Clock::time_point sentAt, milliseconds ttl)
    : m_ttl(ttl)
    , m_lease(lease)
    , m_validUntil(sentAt + ttl)
    , m_fenceAt(m_validUntil - LeaseKeeper::safetyMargin(ttl))
{}

Lease LeaseGuard::lease() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_lease;
}

bool LeaseGuard::isValid() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return !m_lost && Clock::now() < m_fenceAt;
}

bool LeaseGuard::isLost() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_lost;
}

LeaseGuard::Clock::time_point LeaseGuard::validUntil() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_validUntil;
}

LeaseGuard::Clock::time_point LeaseGuard::fenceAt() const
{
    std::lock_guard<std::mutex> lock(m_mutex);
    return m_fenceAt;
}

bool LeaseGuard::bind(const StopSource &stop)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    // The clock, not only the flag: after a freeze the watchdog may not have run yet.
    if (m_lost || Clock::now() >= m_fenceAt)
        return false;
    m_bound = stop;
    return true;
}

bool LeaseGuard::extend(const Lease &renewed, Clock::time_point sentAt)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    if (m_lost)
        return false;
    const Clock::time_point validUntil = sentAt + m_ttl;
    const Clock::time_point fenceAt = validUntil - LeaseKeeper::safetyMargin(m_ttl);
    if (Clock::now() >= fenceAt)
        return false; // the answer came too late to count
    m_lease = renewed;
    m_validUntil = std::max(m_validUntil, validUntil);
    m_fenceAt = std::max(m_fenceAt, fenceAt);
    return true;
}

bool LeaseGuard::markLost()
{
    std::optional<StopSource> bound;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        if (m_lost)
            return false;
        m_lost = true;
        bound.swap(m_bound);
    }
    if (bound)
        bound->requestStop(StopReason::LeaseLost);
    return true;
}

// --- LeaseKeeper ----------------------------------------------------------------------------

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

LockManager::Attempt LeaseKeeper::acquire(const QString &name, Clock::time_point *sentAt,
                                          const RunRecord *run, LockManager::Tick tick)
{
    Lease ours;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        ours = m_unreleased.take(name);
    }
    if (ours.isValid()) {
        // Our own lease, whose release failed: take it back rather than wait for it.
        *sentAt = Clock::now();
        LockManager::Attempt attempt =
            run ? m_lockManager->renewForRun(ours, m_options.ttl, *run, tick)
                : m_lockManager->renew(ours, m_options.ttl);
        if (attempt.status == LockManager::Status::Acquired)
            return attempt;
        if (attempt.status == LockManager::Status::Error || attempt.tickRanElsewhere) {
            std::lock_guard<std::mutex> lock(m_mutex);
            m_unreleased.insert(name, ours);
            return attempt;
        }
        // Expired meanwhile (or taken over): an ordinary acquire decides.
    }
    *sentAt = Clock::now();
    return run ? m_lockManager->tryAcquireForRun(name, m_options.holder, m_options.ttl, *run, tick)
               : m_lockManager->tryAcquire(name, m_options.holder, m_options.ttl);
}

std::shared_ptr<LeaseGuard> LeaseKeeper::track(const Lease &lease, Clock::time_point sentAt,
                                               std::function<void()> onLost)
{
    auto guard = std::make_shared<LeaseGuard>(lease, sentAt, m_options.ttl);
    const Clock::time_point now = Clock::now();
    if (now >= guard->fenceAt()) {
        // The answer came back too late: by this node's clock the lease may already be
        // another node's. It grants nothing; the caller releases it.
        qCWarning(lcLease,
                  "acquiring lease %s (token %lld) took %lld ms, past its fence time (ttl %lld "
                  "ms): not taken",
                  qPrintable(lease.name), static_cast<long long>(lease.fencingToken),
                  static_cast<long long>(duration_cast<milliseconds>(now - sentAt).count()),
                  static_cast<long long>(m_options.ttl.count()));
        return nullptr;
    }
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_tracked[guard.get()] = Tracked{guard, std::move(onLost)};
    }
    m_changed.notify_all();
    // Start renewing from the keeper's own thread.
    QMetaObject::invokeMethod(this, [this] {
        if (!m_renewTimer->isActive())
            m_renewTimer->start(m_options.renewInterval);
    });
    qCDebug(lcLease, "tracking %s token %lld", qPrintable(lease.name),
            static_cast<long long>(lease.fencingToken));
    return guard;
}

Lease LeaseKeeper::untrack(const std::shared_ptr<LeaseGuard> &guard)
{
    if (!guard)
        return Lease();
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_tracked.erase(guard.get());
    }
    return guard->lease();
}

bool LeaseKeeper::release(const Lease &lease, QString *error)
{
    QString why;
    if (m_lockManager->release(lease, &why)) {
        forgetUnreleased(lease);
        return true;
    }
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        m_unreleased.insert(lease.name, lease);
    }
    // Retried with the renewals.
    QMetaObject::invokeMethod(this, [this] {
        if (!m_renewTimer->isActive())
            m_renewTimer->start(m_options.renewInterval);
    });
    if (error)
        *error = why;
    return false;
}

void LeaseKeeper::forgetUnreleased(const Lease &lease)
{
    std::lock_guard<std::mutex> lock(m_mutex);
    const auto it = m_unreleased.constFind(lease.name);
    if (it != m_unreleased.cend() && it->fencingToken == lease.fencingToken)
        m_unreleased.erase(it);
}

void LeaseKeeper::markLost(LeaseGuard *guard)
{
    std::function<void()> callback;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        auto it = m_tracked.find(guard);
        if (it == m_tracked.end())
            return; // untracked, or lost already
        callback = std::move(it->second.onLost);
        m_tracked.erase(it); // the guard lives on with its holders
    }
    // Fence first: the bound run is asked to stop before anything else happens.
    if (!guard->markLost())
        return;
    const Lease lease = guard->lease();
    qCWarning(lcLease, "lease %s (token %lld) lost: stopping its run", qPrintable(lease.name),
              static_cast<long long>(lease.fencingToken));
    if (callback)
        callback();
}

void LeaseKeeper::renewAll()
{
    std::vector<std::shared_ptr<LeaseGuard>> work;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        for (const auto &entry : m_tracked)
            work.push_back(entry.second.guard);
    }
    const bool pendingReleases = [this] {
        std::lock_guard<std::mutex> lock(m_mutex);
        return !m_unreleased.isEmpty();
    }();
    if (work.empty() && !pendingReleases) {
        m_renewTimer->stop();
        return;
    }
    bool anyError = false;
    for (const std::shared_ptr<LeaseGuard> &guard : work) {
        if (guard->isLost())
            continue;
        const Lease lease = guard->lease();
        const Clock::time_point sentAt = Clock::now();
        const LockManager::Attempt attempt = m_lockManager->renew(lease, m_options.ttl);
        switch (attempt.status) {
        case LockManager::Status::Acquired:
            if (!guard->extend(attempt.lease, sentAt))
                markLost(guard.get()); // the answer came too late to count
            break;
        case LockManager::Status::Lost:
        case LockManager::Status::Busy:
            markLost(guard.get());
            break;
        case LockManager::Status::Error:
            anyError = true;
            qCWarning(lcLease, "cannot renew lease %s: %s", qPrintable(lease.name),
                      qPrintable(attempt.error));
            break;
        }
    }
    m_changed.notify_all();
    if (pendingReleases)
        retryReleases();
    // After an error, retry sooner than the regular interval, as long as that helps.
    const milliseconds next =
        anyError ? std::min(m_options.renewInterval, std::max(milliseconds(50), m_options.ttl / 20))
                 : m_options.renewInterval;
    m_renewTimer->start(next);
}

void LeaseKeeper::retryReleases()
{
    QList<Lease> pending;
    {
        std::lock_guard<std::mutex> lock(m_mutex);
        pending = m_unreleased.values();
    }
    for (const Lease &lease : pending) {
        QString error;
        if (m_lockManager->release(lease, &error))
            forgetUnreleased(lease);
    }
}

void LeaseKeeper::watchdogLoop()
{
    std::unique_lock<std::mutex> lock(m_mutex);
    while (!m_quit) {
        Clock::time_point earliest = Clock::time_point::max();
        std::vector<LeaseGuard *> due;
        const Clock::time_point now = Clock::now();
        for (const auto &entry : m_tracked) {
            LeaseGuard *guard = entry.first;
            const Clock::time_point fenceAt = guard->fenceAt();
            if (fenceAt <= now)
                due.push_back(guard);
            else
                earliest = std::min(earliest, fenceAt);
        }
        if (!due.empty()) {
            lock.unlock();
            for (LeaseGuard *guard : due)
                markLost(guard);
            lock.lock();
            continue;
        }
        if (earliest == Clock::time_point::max())
            m_changed.wait(lock);
        else
            m_changed.wait_until(lock, earliest);
    }
}

void LeaseKeeper::requestLeadership(
    const QString &key, const QString &lockName,
    std::function<void(const std::shared_ptr<LeaseGuard> &)> onAcquired,
    std::function<void()> onLost)
{
    QMetaObject::invokeMethod(this, [this, key, lockName, onAcquired = std::move(onAcquired),
                                     onLost = std::move(onLost)]() mutable {
        Candidate &c = m_candidates[key];
        if (c.guard) {
            // Asked again while holding: the worker gave the lease up (it ended for it).
            const Lease lease = untrack(c.guard);
            if (!c.guard->isLost())
                release(lease);
        }
        c.lockName = lockName;
        c.onAcquired = std::move(onAcquired);
        c.onLost = std::move(onLost);
        c.guard.reset();
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
            const std::shared_ptr<LeaseGuard> guard = it->guard;
            m_candidates.erase(it);
            if (guard) {
                const Lease lease = untrack(guard);
                QString error;
                if (!release(lease, &error))
                    qCWarning(lcLease, "cannot release lease %s: %s", qPrintable(lease.name),
                              qPrintable(error));
                else
                    qCDebug(lcLease, "released %s", qPrintable(lease.name));
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
        if (!release(lease, &error))
            qCWarning(lcLease, "cannot release lease %s: %s", qPrintable(lease.name),
                      qPrintable(error));
    });
}

void LeaseKeeper::tryCandidates(const QString &onlyLock)
{
    bool waiting = false;
    for (auto it = m_candidates.begin(); it != m_candidates.end(); ++it) {
        Candidate &c = it.value();
        if (c.guard)
            continue;
        waiting = true;
        if (!onlyLock.isEmpty() && c.lockName != onlyLock)
            continue;
        Clock::time_point sentAt;
        const LockManager::Attempt attempt = acquire(c.lockName, &sentAt);
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
        const std::shared_ptr<LeaseGuard> guard = track(attempt.lease, sentAt, [this, key, onLost] {
            if (onLost)
                onLost();
            QMetaObject::invokeMethod(this, [this, key] {
                const auto found = m_candidates.find(key);
                if (found != m_candidates.end() && found->guard && found->guard->isLost())
                    m_candidates.erase(found);
            });
        });
        if (!guard) {
            QString error;
            release(attempt.lease, &error); // too late to count: give it back at once
            continue;
        }
        c.guard = guard;
        qCInfo(lcLease, "%s is leader of %s (token %lld)", qPrintable(m_options.holder),
               qPrintable(c.lockName), static_cast<long long>(attempt.lease.fencingToken));
        if (c.onAcquired)
            c.onAcquired(guard);
    }
    if (!waiting && m_standbyTimer->isActive())
        m_standbyTimer->stop();
    else if (waiting && !m_standbyTimer->isActive())
        m_standbyTimer->start(m_options.standbyPollInterval);
}

} // namespace Warden
