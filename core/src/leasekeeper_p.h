#pragma once

#include <warden/lockmanager.h>

#include <QtCore/QHash>
#include <QtCore/QObject>
#include <QtCore/QTimer>

#include <chrono>
#include <condition_variable>
#include <functional>
#include <map>
#include <memory>
#include <mutex>
#include <thread>

namespace Warden {

/*!
    \internal
    Keeps a host's leases alive. It lives in a thread of its own ("warden-leases"), where it
    renews every tracked lease each renew interval and tries to take over the leader leases
    its workers stand by for. A second thread (the fencing watchdog) does no I/O at all: it
    wakes when a lease would expire by this node's monotonic clock, less a safety margin,
    and calls the lease's onLost callback, which fires the run's stop token. So a hung
    database, a stalled renew statement or a starved process cannot keep a run going past its
    lease.

    track(), untrack(), requestLeadership() and resign() are thread-safe.
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

    /*!
        Renews \a lease from now on; \a sentAt is when the statement that acquired it was
        sent. \a onLost is called once, from the keeper or the watchdog thread, when the lease
        is lost or about to expire unrenewed. Returns an id for untrack().
    */
    int track(const Lease &lease, Clock::time_point sentAt, std::function<void()> onLost);
    //! Stops renewing; returns the lease as last renewed (for release).
    Lease untrack(int id);

    /*!
        Stands by for the leader lease \a lockName on behalf of \a key (a worker name):
        tries to acquire it now and then every standby interval, and at once when the lock
        manager says it was released. \a onAcquired is called in the keeper thread with the
        lease, which is then tracked; \a onLost as for track(). After a loss the request is
        over: ask again to stand by again.
    */
    void requestLeadership(const QString &key, const QString &lockName,
                           std::function<void(const Lease &)> onAcquired,
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
        Lease lease;
        Clock::time_point validUntil;
        Clock::time_point fenceAt;
        std::function<void()> onLost;
        bool lost = false;
    };
    struct Candidate
    {
        QString lockName;
        std::function<void(const Lease &)> onAcquired;
        std::function<void()> onLost;
        int trackId = 0;
    };

    void renewAll();
    void tryCandidates(const QString &onlyLock = QString());
    void watchdogLoop();
    void markLost(int id);

    std::shared_ptr<LockManager> m_lockManager;
    Options m_options;
    QTimer *m_renewTimer = nullptr;
    QTimer *m_standbyTimer = nullptr;
    QHash<QString, Candidate> m_candidates; // keeper thread only

    std::mutex m_mutex;
    std::condition_variable m_changed;
    std::map<int, Tracked> m_tracked;
    int m_nextId = 1;
    bool m_quit = false;
    std::thread m_watchdog;
};

} // namespace Warden
