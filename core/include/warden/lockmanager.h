#pragma once

#include <warden/global.h>
#include <warden/records.h>
#include <warden/result.h>

#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>

namespace Warden {

class Store;

//! A named lease as the lock manager sees it. Times are on the lock manager's clock (UTC).
struct WARDEN_CORE_EXPORT Lease
{
    QString name;
    QString holder;          //!< empty when nobody holds it (released)
    qint64 fencingToken = 0; //!< grows by one on every takeover; never reused
    QDateTime acquiredAt;
    QDateTime renewedAt;
    QDateTime expiresAt;

    bool isValid() const { return !name.isEmpty() && fencingToken > 0; }
};

/*!
    Named leases with fencing tokens: the one thing that keeps a locked worker to one node
    at a time. Modelled on ThreadWeaver's QueuePolicy: a small interface that does not own
    what it guards.

    Semantics every implementation keeps:
    \list
    \li tryAcquire() succeeds when the lease is free or expired (judged on the manager's own
        clock, never the caller's); the fencing token then grows by one. It is not
        re-entrant: a holder that asks again for a lease it holds is refused.
    \li renew() extends a lease only for the holder and token that hold it and only while it
        has not expired; a lease that expired is lost even if nobody took it over.
    \li release() expires the lease at once and clears the holder; the token stays, so a
        later takeover gets a greater one.
    \endlist

    Every member is thread-safe and may block (a database round trip): never call one from
    a GUI thread, and never from a thread whose timers must stay punctual.
*/
class WARDEN_CORE_EXPORT LockManager : public QObject
{
    Q_OBJECT
public:
    enum class Status {
        Acquired, //!< the caller holds the lease now
        Busy,     //!< someone else holds it
        Lost,     //!< renew(): the caller no longer holds it (expired or taken over)
        Error,    //!< the manager could not answer (database unreachable, ...)
    };
    Q_ENUM(Status)

    /*!
        tryAcquireForRun(), renewForRun(): whether the run is a tick that may run only once in
        the cluster, and how close another run's scheduled time must be to count as the same
        tick.
    */
    struct Tick
    {
        //! Not a tick of a schedule (a continuous worker's run, run now): no check.
        static Tick any() { return Tick{-1}; }
        /*!
            A tick of a schedule: nothing is taken when the ledger has a run of the same
            worker scheduled at or after the tick's time less \a window (half the interval
            for a fixed delay, whose ticks differ a little from node to node).
        */
        static Tick once(std::chrono::milliseconds window = std::chrono::milliseconds(0))
        {
            return Tick{window.count() < 0 ? 0 : window.count()};
        }
        bool isChecked() const { return windowMs >= 0; }
        qint64 windowMs = -1;
    };

    struct Attempt
    {
        Status status = Status::Error;
        Lease lease; //!< Acquired: the caller's lease; Busy: the current holder's lease when known
        QString error; //!< Error: what went wrong
        //! tryAcquireForRun(), renewForRun(): the run's start row was written with the lease.
        bool runRecorded = false;
        /*!
            tryAcquireForRun(), renewForRun(): Busy because the run's tick (its scheduled time,
            or a later one) already ran; lease.holder is the node that ran it, and nothing was
            acquired or renewed.
        */
        bool tickRanElsewhere = false;
    };

    explicit LockManager(QObject *parent = nullptr);
    ~LockManager() override;

    virtual Attempt tryAcquire(const QString &name, const QString &holder,
                               std::chrono::milliseconds ttl) = 0;
    //! Extends \a lease by \a ttl from now; Status::Acquired on success.
    virtual Attempt renew(const Lease &lease, std::chrono::milliseconds ttl) = 0;
    //! Releases \a lease if the caller still holds it; returns false on an error.
    virtual bool release(const Lease &lease, QString *error = nullptr) = 0;
    //! Admin action: releases the lease \a name whoever holds it.
    virtual bool forceRelease(const QString &name, QString *error = nullptr) = 0;
    //! Every lease the manager knows, held or not, ordered by name.
    virtual Result<QList<Lease>> leases() = 0;

    /*!
        Whether this manager keeps its leases in the database that \a store writes its runs
        to, so that tryAcquireForRun() and renewForRun() can write a run's start row in the
        transaction that takes or extends the lease. False by default.
    */
    virtual bool recordsRunsOf(const Store *store) const;
    /*!
        tryAcquire() for one run: when it acquires, \a run (its outcome \c running) is written
        to the run ledger with the new lease's fencing token in the same transaction, so that
        the lease and the run's row exist together or not at all (Attempt::runRecorded). A
        scheduled run (\a tick OncePerTick, a trigger other than run-now) whose tick — its
        scheduled time, or a later one of the same worker — is in the ledger already acquires
        nothing (Attempt::tickRanElsewhere): each tick runs once in the cluster even when a
        node's tick comes late. The default only acquires.
    */
    virtual Attempt tryAcquireForRun(const QString &name, const QString &holder,
                                     std::chrono::milliseconds ttl, const RunRecord &run,
                                     Tick tick);
    //! renew() for one more run on a lease held since the last one, as tryAcquireForRun().
    virtual Attempt renewForRun(const Lease &lease, std::chrono::milliseconds ttl,
                                const RunRecord &run, Tick tick);

    /*!
        Whether released() is emitted for releases made by other processes too (PostgreSQL
        LISTEN/NOTIFY). When false, standbys poll.
    */
    virtual bool isReleaseNotified() const { return false; }

Q_SIGNALS:
    /*!
        A lease was released (or force-released). May be emitted from any thread: connect
        with a queued connection.
    */
    void released(const QString &name);
};

/*!
    The in-process lock manager: leases in a map behind a mutex, on the monotonic clock
    translated to UTC. Hosts that share one instance exclude each other; it is what tests
    and single-process applications use.
*/
class WARDEN_CORE_EXPORT InProcessLockManager final : public LockManager
{
    Q_OBJECT
public:
    explicit InProcessLockManager(QObject *parent = nullptr);
    ~InProcessLockManager() override;

    Attempt tryAcquire(const QString &name, const QString &holder,
                       std::chrono::milliseconds ttl) override;
    Attempt renew(const Lease &lease, std::chrono::milliseconds ttl) override;
    bool release(const Lease &lease, QString *error = nullptr) override;
    bool forceRelease(const QString &name, QString *error = nullptr) override;
    Result<QList<Lease>> leases() override;
    bool isReleaseNotified() const override { return true; }

    /*!
        Test hook: while set, every call fails with Status::Error as an unreachable database
        would.
    */
    void setUnavailable(bool unavailable);
    bool isUnavailable() const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace Warden
