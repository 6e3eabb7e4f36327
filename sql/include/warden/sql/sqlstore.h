#pragma once

#include <warden/sql/databaseoptions.h>
#include <warden/sql/global.h>
#include <warden/store.h>

#include <memory>

namespace Warden {

struct SqlConfig;

/*!
    The Store on SQLite or PostgreSQL (tables \c warden_nodes, \c warden_worker_status,
    \c warden_worker_settings, \c warden_runs, \c warden_log, \c warden_audit).

    Host writes (publish*, record*, append*) only queue: a writer thread of the store gathers
    them into transactions, so a slow or absent database never delays a worker. Node
    heartbeats and worker statuses coalesce (only the latest per node, per worker and node,
    is written). While the database is unreachable, up to DatabaseOptions::maximumQueuedRuns
    run records and maximumQueuedLogLines log lines wait in memory and are written when it
    returns; beyond those bounds they are dropped and counted in statistics().

    The writer also enforces the RetentionPolicy. On PostgreSQL a listener thread turns
    NOTIFY into workerSettingsChanged() at once; on SQLite hosts poll workerSettings(), which
    reads one small table.

    Get one from Database::store().
*/
class WARDEN_SQL_EXPORT SqlStore final : public Store
{
    Q_OBJECT
public:
    explicit SqlStore(std::shared_ptr<const SqlConfig> config, QObject *parent = nullptr);
    ~SqlStore() override;

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

    //! Which Database this store belongs to: the same for its SqlLockManager.
    quint64 databaseId() const;

    RetentionPolicy retention() const;
    //! Replaces the retention policy; the writer applies it at its next pass.
    void setRetention(const RetentionPolicy &policy);
    //! Applies the retention policy now (blocking); returns the number of rows deleted.
    Result<qint64> enforceRetention();

    /*!
        Liveness of the writer thread, for a watchdog: asks the writer to answer. It answers
        between two writes, also while it waits to retry an unreachable database.
    */
    void probeWriter();
    /*!
        Whether the writer answered the last probeWriter(), or is inside one database write
        (or retention pass) that began less than \a maximumWriteTime ago.
    */
    bool isWriterAnswering(std::chrono::milliseconds maximumWriteTime) const;
    //! How many workerSettings() reads have begun (a host's control thread polls them).
    qint64 settingsReadCount() const;
    /*!
        Whether a workerSettings() read is in progress that began less than \a maximumTime
        ago.
    */
    bool isSettingsReadInProgress(std::chrono::milliseconds maximumTime) const;

private:
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace Warden
