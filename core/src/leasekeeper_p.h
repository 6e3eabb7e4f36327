#pragma once

#include <warden/lockmanager.h>
#include <warden/stoptoken.h>

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <thread>

namespace Warden {

/*!
    \internal
    One lease as its holder sees it, shared by the lease keeper (which renews it), the
    fencing watchdog (which ends it) and the run that holds it.

    The invariant every run on a lease relies on, and which is enforced here and nowhere
    else: \e{a lease is held only while this node's monotonic clock is before its fence
    time} — the moment the statement that acquired or last renewed it was sent, plus the
    ttl, less the safety margin — \e{and it has not been reported lost}. The database
    counts the same ttl from a later moment (when it ran the statement), so by the time any
    other node can take the lease over, this node has stopped using it.

    bind() (a run starts on the lease) and markLost() (the watchdog or a failed renewal ends
    it) take one mutex, so their order does not matter: a lease that is lost or past its
    fence time binds nothing, and losing a lease stops the run bound to it. A worker never
    overlaps itself, so a lease guards one run at a time; binding replaces the previous run.

    Every member is thread-safe.
*/
class LeaseGuard final
{
public:
    using Clock = std::chrono::steady_clock;

    LeaseGuard(const Lease &lease, Clock::time_point sentAt, std::chrono::milliseconds ttl);

    Lease lease() const;
    //! Whether the lease may be used now: not lost and before its fence time.
    bool isValid() const;
    bool isLost() const;
    //! When the lease ends by this node's monotonic clock unless renewed (sent-at + ttl).
    Clock::time_point validUntil() const;
    //! When this node stops using the lease unless it was renewed (validUntil - margin).
    Clock::time_point fenceAt() const;

    /*!
        Binds the run of \a stop to the lease: when the lease is lost, the run is asked to
        stop (StopReason::LeaseLost). Returns false, and binds nothing, when the lease is no
        longer valid: the run must not start.
    */
    bool bind(const StopSource &stop);

private:
    friend class LeaseKeeper;
    //! Keeper: a renewal sent at \a sentAt succeeded. False when the lease was lost meanwhile.
    bool extend(const Lease &renewed, Clock::time_point sentAt);
    //! Ends the lease; returns true for the call that ended it (and stops the bound run).
    bool markLost();

    const std::chrono::milliseconds m_ttl;
    mutable std::mutex m_mutex;
    Lease m_lease;
    Clock::time_point m_validUntil;
    Clock::time_point m_fenceAt;
    bool m_lost = false;
    std::optional<StopSource> m_bound;
};

/*!
    \internal
    Keeps a host's leases alive. It lives in a thread of its own ("warden-leases"), where it
    renews every tracked lease each renew interval and tries to take over the leader leases
    its workers stand by for. A second thread (the fencing watchdog) does no I/O at all: it
    wakes at a lease's fence time (LeaseGuard) and ends the lease, which stops the run bound
    to it. So a hung database, a stalled renew statement or a starved process cannot keep a
    run going past its lease.

    An acquire whose answer comes back at or after its fence time grants nothing: track()
    refuses it, and the lease is released at once.

    A release that fails (database unreachable or locked) leaves the lease to this node in the
    database until it expires. The keeper remembers such a lease and takes it back with a
    renewal when this node asks for the same lock again, so that the node never waits for
    "another holder" that is itself; it also retries the release.

    track(), untrack(), acquire(), release(), requestLeadership() and resign() are
    thread-safe.
*/
class LeaseKeeper final : public QObject
{
    Q_OBJECT
public:
    using Clock = std::chrono::steady_clock;

    struct Options
    {
        QString holder;
        std::chrono::milliseconds ttl{30000};
        std::chrono::milliseconds renewInterval{10000};
        std::chrono::milliseconds standbyPollInterval{500};
    };

    LeaseKeeper(std::shared_ptr<LockManager> lockManager, Options options);
    ~LeaseKeeper() override;

    //! How long before the lease would expire by our clock the watchdog fences the holder.
    static std::chrono::milliseconds safetyMargin(std::chrono::milliseconds ttl);
    std::chrono::milliseconds ttl() const { return m_options.ttl; }

    /*!
        Acquires the lock \a name for this node (blocking: a database round trip), taking back
        a lease of ours whose release failed. The attempt's status is Acquired only when the
        answer came back before the lease's fence time; \a sentAt is set to when the
        statement was sent.
    */
    /*!
        \a run: the scheduled run the lease is for; its start row is written with the lease
        when the lock manager can, and nothing is taken when its tick already ran
        (LockManager::tryAcquireForRun()).
    */
    LockManager::Attempt acquire(const QString &name, Clock::time_point *sentAt,
                                 const RunRecord *run = nullptr,
                                 LockManager::Tick tick = LockManager::Tick::any());

    /*!
        Renews \a lease from now on; \a sentAt is when the statement that acquired it was
        sent. \a onLost is called once, from the keeper or the watchdog thread, when the lease
        is lost or reaches its fence time unrenewed (after the bound run was asked to stop).
        Returns the guard, or nullptr when the lease is already past its fence time: the
        caller holds nothing then and must release it.
    */
    std::shared_ptr<LeaseGuard> track(const Lease &lease, Clock::time_point sentAt,
                                      std::function<void()> onLost = {});
    //! Stops renewing; returns the lease as last renewed (for release or to keep it).
    Lease untrack(const std::shared_ptr<LeaseGuard> &guard);

    /*!
        Releases \a lease now, in the calling thread (blocking). When that fails, the lease is
        remembered as ours (see the class description) and released again later.
    */
    bool release(const Lease &lease, QString *error = nullptr);

    /*!
        Stands by for the leader lease \a lockName on behalf of \a key (a worker name):
        tries to acquire it now and then every standby interval, and at once when the lock
        manager says it was released. \a onAcquired is called in the keeper thread with the
        guard of the lease, which is then tracked; \a onLost as for track(). After a loss the
        request is over: ask again to stand by again.
    */
    void requestLeadership(const QString &key, const QString &lockName,
                           std::function<void(const std::shared_ptr<LeaseGuard> &)> onAcquired,
                           std::function<void()> onLost);
    /*!
        Stops standing by for \a key and releases its lease when held; then calls \a done in
        the keeper thread.
    */
    void resign(const QString &key, std::function<void()> done);
    //! Releases \a lease from the keeper's thread (the caller does not wait for it).
    void releaseLater(const Lease &lease);

    //! Stops the timers and the watchdog. Call from the owner before the thread quits.
    void shutdown();

private:
    struct Tracked
    {
        std::shared_ptr<LeaseGuard> guard;
        std::function<void()> onLost;
    };
    struct Candidate
    {
        QString lockName;
        std::function<void(const std::shared_ptr<LeaseGuard> &)> onAcquired;
        std::function<void()> onLost;
        std::shared_ptr<LeaseGuard> guard;
    };

    void renewAll();
    void retryReleases();
    //! \a lease was released: it is no longer ours to take back.
    void forgetUnreleased(const Lease &lease);
    void tryCandidates(const QString &onlyLock = QString());
    void watchdogLoop();
    void markLost(LeaseGuard *guard);

    std::shared_ptr<LockManager> m_lockManager;
    Options m_options;
    QTimer *m_renewTimer = nullptr;
    QTimer *m_standbyTimer = nullptr;
    QHash<QString, Candidate> m_candidates; // keeper thread only

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::map<LeaseGuard *, Tracked> m_tracked; // a lost lease leaves it at once
    QHash<QString, Lease> m_unreleased;        // lock name -> our lease whose release failed
    bool m_quit = false;
    std::thread m_watchdog;
};

} // namespace Warden
