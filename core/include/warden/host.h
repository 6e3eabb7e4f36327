#pragma once

#include <warden/global.h>
#include <warden/records.h>

#include <QtCore/QObject>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <chrono>
#include <memory>

namespace Warden {

class LockManager;
class Store;
class Worker;
class HostPrivate;

/*!
    Owns workers and their threads: the worker manager.

    \list
    \li Worker objects and their timers live in a few scheduler threads; runs execute in a
        bounded pool of run threads (continuous workers get a thread each). A run that
        blocks delays no other worker's tick, and 10,000 workers need no more threads than
        the pool's maximum.
    \li The host publishes its node heartbeat, the workers' statuses, run records and log
        lines to its Store, and applies the worker settings it reads there (enabled, paused,
        run-now requests) within the settings poll interval, or at once when the store
        notifies.
    \li Locked workers use the LockManager; leases are renewed from a thread of their own,
        and a lease that cannot be renewed in time stops its run before it could expire.
    \endlist

    The Host object lives in the thread that created it (for example the GUI thread) and
    never blocks it: start() and stop() return at once; started() and stopped() follow.
    Its members are called from that thread: those that change the host (the setters,
    addWorker(), removeWorker(), start(), stop(), setEnabled(), setWorkerEnabled(),
    pauseWorker(), runNow()) refuse any other thread with a warning (and false where they
    return a result). snapshot(), hasWorker() and workerNames() may be called from any thread.
*/
class WARDEN_CORE_EXPORT Host : public QObject
{
    Q_OBJECT
    Q_PROPERTY(bool enabled READ isEnabled WRITE setEnabled NOTIFY enabledChanged)
public:
    explicit Host(QObject *parent = nullptr);
    //! Stops what still runs (waiting up to the shutdown timeout) and deletes the workers.
    ~Host() override;

    // Configuration: before start().
    QString nodeId() const;
    //! Defaults to the host name. Same rules as worker names.
    void setNodeId(const QString &nodeId);
    std::shared_ptr<LockManager> lockManager() const;
    void setLockManager(std::shared_ptr<LockManager> lockManager);
    std::shared_ptr<Store> store() const;
    void setStore(std::shared_ptr<Store> store);

    std::chrono::milliseconds shutdownTimeout() const;
    void setShutdownTimeout(std::chrono::milliseconds timeout);
    std::chrono::milliseconds leaseTimeToLive() const;
    void setLeaseTimeToLive(std::chrono::milliseconds ttl);
    std::chrono::milliseconds leaseRenewInterval() const;
    //! Defaults to a third of the time-to-live.
    void setLeaseRenewInterval(std::chrono::milliseconds interval);
    //! How often a standby tries to take over a leader lease (it also wakes on release).
    void setStandbyPollInterval(std::chrono::milliseconds interval);
    std::chrono::milliseconds standbyPollInterval() const;
    void setHeartbeatInterval(std::chrono::milliseconds interval);
    std::chrono::milliseconds heartbeatInterval() const;
    /*!
        How long this node's heartbeat may be silent before the other nodes count it dead
        and close its running runs as lost. 0 (the default): three heartbeat intervals.
        Published with the heartbeat, so every reader judges this node by its own setting.
        Keep it above two heartbeat intervals: a live node counted dead has its runs closed
        as lost while they run (they are completed with their true end when they finish).
    */
    void setDeadNodeThreshold(std::chrono::milliseconds threshold);
    std::chrono::milliseconds deadNodeThreshold() const;
    /*!
        How long a dead node stays in the views (nodes, worker statuses) before a live node
        forgets it, as \c{warden nodes forget} would, with an audit entry. 0: never by itself.
        Default 24 hours.
    */
    void setDeadNodeRetention(std::chrono::milliseconds retention);
    std::chrono::milliseconds deadNodeRetention() const;
    void setSettingsPollInterval(std::chrono::milliseconds interval);
    //! The most threads that run periodic workers' runs at once (default 32).
    void setMaximumRunThreads(int count);
    int maximumRunThreads() const;
    //! Threads that hold the workers' timers (default 1; they only schedule, runs go elsewhere).
    void setSchedulerThreadCount(int count);

    // Workers.
    /*!
        Takes ownership of \a worker and, when the host is running, starts it. Refused (with
        a message in \a error, and \a worker deleted) when its name is invalid or taken, or
        when it was created in another thread.
    */
    bool addWorker(Worker *worker, QString *error = nullptr);
    /*!
        addWorker() for a worker held in a std::unique_ptr: the host takes it over in every
        case (a refused worker is deleted), so no pointer to it is left behind. Never delete
        a worker the host owns (not even with deleteLater()): that stops the process with a
        message; use removeWorker().
    */
    bool addWorker(std::unique_ptr<Worker> worker, QString *error = nullptr)
    {
        return addWorker(worker.release(), error);
    }
    //! Stops the worker (its run gets the stop token) and deletes it once stopped.
    bool removeWorker(const QString &name, QString *error = nullptr);
    bool hasWorker(const QString &name) const;
    QStringList workerNames() const;

    // Running.
    void start();
    //! Stops every worker; stopped() follows within the shutdown timeout.
    void stop();
    bool isRunning() const;

    bool isEnabled() const;
    //! The global switch: false disables every worker without forgetting their own flags.
    void setEnabled(bool enabled);
    bool setWorkerEnabled(const QString &name, bool enabled, QString *error = nullptr);
    //! Disables the worker until \a until (UTC); an invalid time resumes it.
    bool pauseWorker(const QString &name, const QDateTime &until, QString *error = nullptr);
    /*!
        Runs the worker once, outside its schedule and never overlapping a running run (it
        then runs right after). Works for enabled and disabled periodic workers; refused for
        continuous workers and for a leader-locked worker on a node that is not the leader.
    */
    bool runNow(const QString &name, QString *error = nullptr);

    //! The status of every worker, ordered by name.
    QList<WorkerStatus> snapshot() const;

Q_SIGNALS:
    void started();
    //! Emitted once after stop(): every worker stopped, or the shutdown timeout expired.
    void stopped();
    void enabledChanged(bool enabled);
    void workerStateChanged(const QString &worker, Warden::WorkerState state);
    /*!
        A run began its work (after its lease, if any, was taken): \a run as the ledger's
        start row has it (outcome running, its run id, trigger, scheduled and actual start).
        Every run that starts ends with runFinished() or runAbandoned(). Ticks that did not
        run here (another node ran them) emit neither.
    */
    void runStarted(const Warden::RunRecord &run);
    void runFinished(const Warden::RunRecord &run);
    //! addWorker() accepted \a worker.
    void workerAdded(const QString &worker);
    //! A worker that removeWorker() stopped has been deleted.
    void workerRemoved(const QString &worker);
    //! A run did not stop within the shutdown timeout and was recorded as abandoned.
    void runAbandoned(const Warden::RunRecord &run);

private:
    std::unique_ptr<HostPrivate> d;
    friend class HostPrivate;
};

} // namespace Warden
