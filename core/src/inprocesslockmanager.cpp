#include <warden/lockmanager.h>

#include <QtCore/QMap>

#include <atomic>
#include <mutex>

namespace Warden {

LockManager::LockManager(QObject *parent)
    : QObject(parent)
{}
LockManager::~LockManager() = default;

bool LockManager::recordsRunsOf(const Store *) const
{
    return false;
}
LockManager::Attempt LockManager::tryAcquireForRun(const QString &name, const QString &holder,
                                                   std::chrono::milliseconds ttl, const RunRecord &,
                                                   Tick)
{
    return tryAcquire(name, holder, ttl);
}
LockManager::Attempt LockManager::renewForRun(const Lease &lease, std::chrono::milliseconds ttl,
                                              const RunRecord &, Tick)
{
    return renew(lease, ttl);
}

struct InProcessLockManager::Private
{
    std::mutex mutex;
    QMap<QString, Lease> leases;
    std::atomic<bool> unavailable{false};

    static QDateTime now() { return QDateTime::currentDateTimeUtc(); }
    static bool isLive(const Lease &lease, const QDateTime &at)
    {
        return !lease.holder.isEmpty() && lease.expiresAt > at;
    }
    Attempt unavailableAttempt() const
    {
        Attempt attempt;
        attempt.status = Status::Error;
        attempt.error = QStringLiteral("lock manager unavailable");
        return attempt;
    }
};

InProcessLockManager::InProcessLockManager(QObject *parent)
    : LockManager(parent)
    , d(std::make_unique<Private>())
{}

InProcessLockManager::~InProcessLockManager() = default;

LockManager::Attempt InProcessLockManager::tryAcquire(const QString &name, const QString &holder,
                                                      std::chrono::milliseconds ttl)
{
    if (d->unavailable)
        return d->unavailableAttempt();
    Attempt attempt;
    if (name.isEmpty() || holder.isEmpty() || ttl.count() <= 0) {
        attempt.error = QStringLiteral("tryAcquire: name, holder and a positive ttl are required");
        return attempt;
    }
    std::lock_guard<std::mutex> lock(d->mutex);
    const QDateTime now = Private::now();
    Lease &lease = d->leases[name];
    if (Private::isLive(lease, now)) {
        attempt.status = Status::Busy;
        attempt.lease = lease;
        return attempt;
    }
    lease.name = name;
    lease.holder = holder;
    lease.fencingToken += 1;
    lease.acquiredAt = now;
    lease.renewedAt = now;
    lease.expiresAt = now.addMSecs(ttl.count());
    attempt.status = Status::Acquired;
    attempt.lease = lease;
    return attempt;
}

LockManager::Attempt InProcessLockManager::renew(const Lease &held, std::chrono::milliseconds ttl)
{
    if (d->unavailable)
        return d->unavailableAttempt();
    Attempt attempt;
    std::lock_guard<std::mutex> lock(d->mutex);
    const QDateTime now = Private::now();
    auto it = d->leases.find(held.name);
    if (it == d->leases.end() || it->holder != held.holder ||
        it->fencingToken != held.fencingToken || !Private::isLive(*it, now)) {
        attempt.status = Status::Lost;
        if (it != d->leases.end())
            attempt.lease = *it;
        return attempt;
    }
    it->renewedAt = now;
    it->expiresAt = now.addMSecs(ttl.count());
    attempt.status = Status::Acquired;
    attempt.lease = *it;
    return attempt;
}

bool InProcessLockManager::release(const Lease &held, QString *error)
{
    if (d->unavailable) {
        if (error)
            *error = QStringLiteral("lock manager unavailable");
        return false;
    }
    bool released = false;
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        auto it = d->leases.find(held.name);
        if (it != d->leases.end() && it->holder == held.holder &&
            it->fencingToken == held.fencingToken) {
            it->holder.clear();
            it->expiresAt = Private::now();
            released = true;
        }
    }
    if (released)
        Q_EMIT this->released(held.name);
    return true;
}

bool InProcessLockManager::forceRelease(const QString &name, QString *error)
{
    if (d->unavailable) {
        if (error)
            *error = QStringLiteral("lock manager unavailable");
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        auto it = d->leases.find(name);
        if (it == d->leases.end()) {
            if (error)
                *error = QStringLiteral("no lock named \"%1\"").arg(name);
            return false;
        }
        it->holder.clear();
        it->expiresAt = Private::now();
    }
    Q_EMIT released(name);
    return true;
}

Result<QList<Lease>> InProcessLockManager::leases()
{
    if (d->unavailable)
        return Result<QList<Lease>>::failure(QStringLiteral("lock manager unavailable"));
    std::lock_guard<std::mutex> lock(d->mutex);
    return QList<Lease>(d->leases.cbegin(), d->leases.cend());
}

void InProcessLockManager::setUnavailable(bool unavailable)
{
    d->unavailable = unavailable;
}
bool InProcessLockManager::isUnavailable() const
{
    return d->unavailable;
}

} // namespace Warden
