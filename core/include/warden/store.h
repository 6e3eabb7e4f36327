#pragma once

#include <warden/global.h>
#include <warden/records.h>
#include <warden/result.h>

#include <QtCore/QList>
#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>
#include <memory>
#include <optional>

namespace Warden {

//! Which run records a query returns, newest first.
struct WARDEN_CORE_EXPORT RunQuery
{
    QString worker; //!< empty: every worker
    QString node;   //!< empty: every node
    QDateTime since;
    int limit = 100;
    QString runId; //!< empty: every run; else that one run
};

//! Which log lines a query returns, oldest first (a tail).
struct WARDEN_CORE_EXPORT LogQuery
{
    QString worker;
    QString node;
    QString text; //!< substring, case-insensitive
    QtMsgType minimumLevel = QtDebugMsg;
    qint64 afterId = 0; //!< only lines with a greater id (for following)
    int limit = 200;    //!< the newest \a limit lines that match
    QString runId;      //!< empty: every line; else the lines of that run
};

//! A log line as stored, with its id.
struct WARDEN_CORE_EXPORT StoredLogLine
{
    qint64 id = 0;
    LogLine line;
};

//! How much a store has written, queued and dropped.
struct WARDEN_CORE_EXPORT StoreStatistics
{
    qint64 queued = 0; //!< writes waiting in memory
    qint64 written = 0;
    qint64 droppedRuns = 0;     //!< run records dropped because the queue was full
    qint64 droppedLogLines = 0; //!< log lines dropped because the queue was full
    bool isConnected = true;
    QString lastError;
};

/*!
    Where hosts publish what happens (node heartbeats, worker states, run history, log lines,
    the audit trail) and read what admins want (the worker settings). The console and the
    admin commands read the same store.

    Write members (publish*, record*, append*) are thread-safe and never block on I/O: an
    implementation queues them for a writer of its own, so a slow or absent database never
    delays a worker's tick. Read members and admin writes are thread-safe and may block:
    call them from a thread that may wait, never from a GUI thread.
*/
class WARDEN_CORE_EXPORT Store : public QObject
{
    Q_OBJECT
public:
    explicit Store(QObject *parent = nullptr);
    ~Store() override;

    // Writes from hosts: queued, never blocking.
    virtual void publishNode(const NodeInfo &node) = 0;
    //! The node stopped gracefully.
    virtual void removeNode(const QString &nodeId) = 0;
    virtual void publishWorkerStatus(const WorkerStatus &status) = 0;
    //! The worker was removed from the node.
    virtual void removeWorkerStatus(const QString &nodeId, const QString &worker) = 0;
    /*!
        Records a run in the run ledger, keyed by its run id: a run with the outcome
        RunOutcome::Running is the row written when it starts; the same run with its terminal
        outcome completes that row (or is written whole when the start was never written).
    */
    virtual void recordRun(const RunRecord &run) = 0;
    virtual void appendLog(const LogLine &line) = 0;

    //! Waits up to \a timeout until queued writes are written; true when nothing is left.
    virtual bool flush(std::chrono::milliseconds timeout) = 0;
    virtual StoreStatistics statistics() const = 0;

    // Reads: may block.
    virtual Result<QList<WorkerSettings>> workerSettings() = 0;
    virtual Result<QList<NodeInfo>> nodes() = 0;
    virtual Result<QList<WorkerStatus>> workerStatuses() = 0;
    virtual Result<QList<RunRecord>> runs(const RunQuery &query) = 0;
    //! The newest run of \a worker that was scheduled (not manual), if any (for catch-up).
    virtual Result<std::optional<RunRecord>> lastScheduledRun(const QString &worker) = 0;
    virtual Result<QList<StoredLogLine>> logLines(const LogQuery &query) = 0;
    virtual Result<QList<AuditEntry>> auditTrail(int limit) = 0;

    // Admin writes: synchronous, audited by the caller with recordAudit().
    /*!
        Stores \a settings for its worker (changedAt is set by the store), keeping the
        trigger sequence, and notifies every host.
    */
    virtual bool setWorkerSettings(const WorkerSettings &settings, QString *error = nullptr) = 0;
    //! Asks the node that may run \a worker to run it now; returns the new trigger sequence.
    virtual Result<qint64> requestTrigger(const QString &worker, const QString &user) = 0;
    virtual bool recordAudit(const AuditEntry &entry, QString *error = nullptr) = 0;

    // The run ledger's upkeep: synchronous, may block.
    /*!
        Closes every run of \a nodeId still in the ledger as running: as RunOutcome::Lost with
        \a reason, finished at \a finishedAt (invalid: the node's last heartbeat, or now).
        For the node itself when it starts again, and for one live node when \a nodeId is
        dead. Returns how many runs it closed.
    */
    virtual Result<int> closeRunningRuns(const QString &nodeId, const QString &reason,
                                         const QDateTime &finishedAt = QDateTime()) = 0;

Q_SIGNALS:
    /*!
        Worker settings changed (when the store can tell: always in process, PostgreSQL
        through LISTEN/NOTIFY). Hosts also poll. May be emitted from any thread.
    */
    void workerSettingsChanged();
};

/*!
    A store in memory, bounded: run records and log lines beyond their limits drop the
    oldest. It is the store of a host that has no database, and of tests.
*/
class WARDEN_CORE_EXPORT InMemoryStore final : public Store
{
    Q_OBJECT
public:
    explicit InMemoryStore(QObject *parent = nullptr);
    ~InMemoryStore() override;

    void setRetention(int maximumRuns, int maximumLogLines);

    void publishNode(const NodeInfo &node) override;
    void removeNode(const QString &nodeId) override;
    void publishWorkerStatus(const WorkerStatus &status) override;
    void removeWorkerStatus(const QString &nodeId, const QString &worker) override;
    void recordRun(const RunRecord &run) override;
    void appendLog(const LogLine &line) override;
    bool flush(std::chrono::milliseconds timeout) override;
    StoreStatistics statistics() const override;

    Result<QList<WorkerSettings>> workerSettings() override;
    Result<QList<NodeInfo>> nodes() override;
    Result<QList<WorkerStatus>> workerStatuses() override;
    Result<QList<RunRecord>> runs(const RunQuery &query) override;
    Result<std::optional<RunRecord>> lastScheduledRun(const QString &worker) override;
    Result<QList<StoredLogLine>> logLines(const LogQuery &query) override;
    Result<QList<AuditEntry>> auditTrail(int limit) override;

    bool setWorkerSettings(const WorkerSettings &settings, QString *error = nullptr) override;
    Result<qint64> requestTrigger(const QString &worker, const QString &user) override;
    bool recordAudit(const AuditEntry &entry, QString *error = nullptr) override;
    Result<int> closeRunningRuns(const QString &nodeId, const QString &reason,
                                 const QDateTime &finishedAt = QDateTime()) override;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace Warden
