#include <warden/sql/sqlstore.h>

#include "connection_p.h"
#include "listener_p.h"

#include <QtCore/QHash>
#include <QtCore/QLoggingCategory>

#include <atomic>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <optional>
#include <thread>

Q_DECLARE_LOGGING_CATEGORY(lcSql)

namespace Warden {

using namespace std::chrono;
using SteadyClock = steady_clock;

namespace {

//! Retention deletes at most this many rows of a table per statement...
constexpr qint64 RetentionBatch = 1000;
//! ...and waits this long before the next batch while there is more to delete.
constexpr std::chrono::milliseconds RetentionPause(50);

enum StatementKey {
    UpsertNodeKey = 200,
    DeleteNodeKey,
    UpsertStatusKey,
    DeleteStatusKey,
    InsertRunKey,
    InsertLogKey,
    NowKey,
    SettingsKey,
    NodesKey,
    StatusesKey,
    LastScheduledKey,
    SetSettingsKey,
    TriggerKey,
    AuditKey,
    AuditTrailKey,
    CloseRunningKey,
};

using StatusKey = QPair<QString, QString>; // (worker, node)

struct Batch
{
    QHash<QString, std::optional<NodeInfo>> nodes; // nullopt: remove
    QHash<StatusKey, std::optional<WorkerStatus>> statuses;
    std::deque<RunRecord> runs;
    std::deque<LogLine> logs;

    bool isEmpty() const
    {
        return nodes.isEmpty() && statuses.isEmpty() && runs.empty() && logs.empty();
    }
    qint64 size() const
    {
        return nodes.size() + statuses.size() + qint64(runs.size()) + qint64(logs.size());
    }
};

//! A text parameter: a null QString would bind as SQL NULL.
QVariant text(const QString &value)
{
    return value.isNull() ? QVariant(QStringLiteral("")) : QVariant(value);
}

/*!
    Whether a failed write can never succeed as it is (bad data), so that retrying would
    block the queue for ever: PostgreSQL classes 22 and 23, SQLite's constraint, size and
    type errors. Anything else (connection, timeout, lock, permission) is retried.
*/
bool isPermanent(const QSqlError &error, bool pg)
{
    const QString code = error.nativeErrorCode();
    if (pg)
        return code.startsWith(QLatin1String("22")) || code.startsWith(QLatin1String("23"));
    const int primary = code.toInt() & 0xff;
    return primary == 19 || primary == 18 || primary == 20 || primary == 25;
}

QString runColumns(bool pg)
{
    return QStringLiteral(
               "run_id, worker, node, %1, %2, %3, outcome, error, fencing_token, run_trigger")
        .arg(SqlText::timeOut(pg, QStringLiteral("scheduled_at")),
             SqlText::timeOut(pg, QStringLiteral("started_at")),
             SqlText::timeOut(pg, QStringLiteral("finished_at")));
}

RunRecord runFrom(const QSqlQuery &q)
{
    RunRecord run;
    run.runId = q.value(0).toString();
    run.worker = q.value(1).toString();
    run.node = q.value(2).toString();
    run.scheduledAt = msValue(q.value(3));
    run.startedAt = msValue(q.value(4));
    run.finishedAt = msValue(q.value(5));
    fromKeyword(q.value(6).toString(), &run.outcome);
    run.error = q.value(7).toString();
    run.fencingToken = q.value(8).toLongLong();
    fromKeyword(q.value(9).toString(), &run.trigger);
    return run;
}

} // namespace

struct SqlStore::Private
{
    SqlStore *q = nullptr;
    std::shared_ptr<const SqlConfig> config;
    std::unique_ptr<NotificationListener> listener;

    mutable std::mutex mutex;
    std::condition_variable wake;    // the writer waits on it
    std::condition_variable written; // flush() waits on it
    Batch pending;
    qint64 inFlight = 0;
    qint64 inFlightRuns = 0;
    qint64 inFlightLogs = 0;
    bool quit = false;
    bool flushRequested = false;
    StoreStatistics stats;
    RetentionPolicy retention;
    SteadyClock::time_point nextRetention;
    std::thread writer;
    // Watchdog probes (under mutex): the writer copies the request into the answer whenever
    // it passes the top of its loop; busySince is set while it is inside the database.
    qint64 probeRequested = 0;
    qint64 probeAnswered = 0;
    std::optional<SteadyClock::time_point> busySince;
    std::atomic<qint64> settingsReads{0};
    std::atomic<int> settingsReadsInProgress{0};
    std::atomic<SteadyClock::rep> lastSettingsReadStart{0};

    SqlSession *session(QString *error) const { return SqlSession::current(*config, error); }
    bool pg() const { return config->isPostgres(); }

    void enqueue(const std::function<void(Batch &)> &change)
    {
        {
            std::lock_guard<std::mutex> lock(mutex);
            change(pending);
        }
        wake.notify_one();
    }
    void writerLoop();
    enum class WriteResult { Written, Failed, BadData };
    WriteResult write(Batch &batch, QString *error);
    bool writeBatch(Batch &batch, QString *error);
    bool writeOneByOne(Batch &batch, QString *error);
    void putBack(Batch &batch);
    Result<qint64> enforceRetention(const RetentionPolicy &policy);
};

SqlStore::SqlStore(std::shared_ptr<const SqlConfig> config, QObject *parent)
    : Store(parent)
    , d(std::make_unique<Private>())
{
    d->q = this;
    d->config = std::move(config);
    d->retention = d->config->options.retention;
    d->nextRetention = SteadyClock::now() + seconds(5);
    d->writer = std::thread([this] { d->writerLoop(); });
    if (d->config->isPostgres()) {
        d->listener = std::make_unique<NotificationListener>(
            d->config, QStringList{d->config->channel(QStringLiteral("warden_settings"))},
            [this](const QString &, const QString &) { Q_EMIT workerSettingsChanged(); },
            [this] { Q_EMIT workerSettingsChanged(); });
        d->listener->start(QStringLiteral("warden-store-listener"));
    }
}

SqlStore::~SqlStore()
{
    if (d->listener)
        d->listener->stop();
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        d->quit = true;
    }
    d->wake.notify_all();
    if (d->writer.joinable())
        d->writer.join();
}

// --- Writes from hosts: queued --------------------------------------------------------------

void SqlStore::publishNode(const NodeInfo &node)
{
    d->enqueue([&](Batch &b) { b.nodes.insert(node.id, node); });
}

void SqlStore::removeNode(const QString &nodeId)
{
    d->enqueue([&](Batch &b) { b.nodes.insert(nodeId, std::nullopt); });
}

void SqlStore::publishWorkerStatus(const WorkerStatus &status)
{
    d->enqueue([&](Batch &b) { b.statuses.insert(qMakePair(status.worker, status.node), status); });
}

void SqlStore::removeWorkerStatus(const QString &nodeId, const QString &worker)
{
    d->enqueue([&](Batch &b) { b.statuses.insert(qMakePair(worker, nodeId), std::nullopt); });
}

void SqlStore::recordRun(const RunRecord &run)
{
    d->enqueue([&](Batch &b) {
        if (qint64(b.runs.size()) + d->inFlightRuns >= d->config->options.maximumQueuedRuns) {
            ++d->stats.droppedRuns;
            return;
        }
        b.runs.push_back(run);
    });
}

void SqlStore::appendLog(const LogLine &line)
{
    d->enqueue([&](Batch &b) {
        if (qint64(b.logs.size()) + d->inFlightLogs >= d->config->options.maximumQueuedLogLines) {
            ++d->stats.droppedLogLines;
            return;
        }
        b.logs.push_back(line);
    });
}

bool SqlStore::flush(milliseconds timeout)
{
    std::unique_lock<std::mutex> lock(d->mutex);
    d->flushRequested = true;
    d->wake.notify_one();
    return d->written.wait_for(lock, timeout,
                               [this] { return d->pending.isEmpty() && d->inFlight == 0; });
}

void SqlStore::probeWriter()
{
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        ++d->probeRequested;
    }
    d->wake.notify_one();
}

bool SqlStore::isWriterAnswering(milliseconds maximumWriteTime) const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    if (d->probeAnswered == d->probeRequested)
        return true;
    return d->busySince && SteadyClock::now() - *d->busySince < maximumWriteTime;
}

qint64 SqlStore::settingsReadCount() const
{
    return d->settingsReads.load();
}

bool SqlStore::isSettingsReadInProgress(milliseconds maximumTime) const
{
    if (d->settingsReadsInProgress.load() == 0)
        return false;
    const SteadyClock::time_point started(SteadyClock::duration(d->lastSettingsReadStart.load()));
    return SteadyClock::now() - started < maximumTime;
}

StoreStatistics SqlStore::statistics() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    StoreStatistics s = d->stats;
    s.queued = d->pending.size() + d->inFlight;
    return s;
}

void SqlStore::Private::writerLoop()
{
    milliseconds backoff(0);
    std::unique_lock<std::mutex> lock(mutex);
    for (;;) {
        wake.wait_until(lock, nextRetention, [this] {
            return quit || !pending.isEmpty() || flushRequested || probeRequested != probeAnswered;
        });
        probeAnswered = probeRequested;
        if (!pending.isEmpty() && !quit && !flushRequested) {
            // Gather a little more into the same transaction.
            wake.wait_for(lock, config->options.writeDelay,
                          [this] { return quit || flushRequested; });
        }
        flushRequested = false;
        if (!pending.isEmpty()) {
            Batch batch;
            batch.nodes.swap(pending.nodes);
            batch.statuses.swap(pending.statuses);
            const size_t maxRows = 5000;
            const size_t runCount = std::min(pending.runs.size(), maxRows);
            batch.runs.assign(pending.runs.begin(), pending.runs.begin() + qsizetype(runCount));
            pending.runs.erase(pending.runs.begin(), pending.runs.begin() + qsizetype(runCount));
            const size_t logCount = std::min(pending.logs.size(), maxRows);
            batch.logs.assign(pending.logs.begin(), pending.logs.begin() + qsizetype(logCount));
            pending.logs.erase(pending.logs.begin(), pending.logs.begin() + qsizetype(logCount));
            inFlight = batch.size();
            inFlightRuns = qint64(batch.runs.size());
            inFlightLogs = qint64(batch.logs.size());
            busySince = SteadyClock::now();
            lock.unlock();
            QString error;
            const bool ok = writeOneByOne(batch, &error);
            lock.lock();
            busySince.reset();
            probeAnswered = probeRequested;
            if (ok) {
                stats.written += inFlight;
                stats.isConnected = true;
                backoff = milliseconds(0);
            } else {
                putBack(batch);
                if (stats.isConnected || stats.lastError != error)
                    qCWarning(lcSql, "cannot write to the store (%lld waiting): %s",
                              static_cast<long long>(pending.size()), qPrintable(error));
                stats.isConnected = false;
                stats.lastError = error;
            }
            inFlight = inFlightRuns = inFlightLogs = 0;
            written.notify_all();
            if (!ok) {
                if (quit)
                    break; // give up what could not be written at the end
                backoff = backoff.count() == 0 ? milliseconds(100)
                                               : std::min(backoff * 2, milliseconds(2000));
                // Wait before retrying, answering probes meanwhile.
                const auto retryAt = SteadyClock::now() + backoff;
                while (!quit && SteadyClock::now() < retryAt) {
                    wake.wait_until(lock, retryAt,
                                    [this] { return quit || probeRequested != probeAnswered; });
                    probeAnswered = probeRequested;
                }
            }
            continue;
        }
        written.notify_all();
        if (quit)
            break;
        if (SteadyClock::now() >= nextRetention) {
            const RetentionPolicy policy = retention;
            nextRetention = SteadyClock::now() + std::max(policy.interval, milliseconds(100));
            busySince = SteadyClock::now();
            lock.unlock();
            const auto removed = enforceRetention(policy);
            if (!removed)
                qCWarning(lcSql, "retention: %s", qPrintable(removed.errorString()));
            lock.lock();
            // A backlog is trimmed batch by batch, with writes in between.
            if (removed && removed.value() >= RetentionBatch)
                nextRetention = SteadyClock::now() + RetentionPause;
            busySince.reset();
            probeAnswered = probeRequested;
        }
    }
    lock.unlock();
    SqlSession::drop(*config);
}

SqlStore::Private::WriteResult SqlStore::Private::write(Batch &batch, QString *error)
{
    if (writeBatch(batch, error))
        return WriteResult::Written;
    QString ignored;
    SqlSession *s = session(&ignored);
    return s && isPermanent(s->lastError(), pg()) ? WriteResult::BadData : WriteResult::Failed;
}

/*!
    Writes \a batch in one transaction. When that fails because of bad data, writes its items
    one by one and drops (and counts) those the database refuses, so that one bad record
    cannot block the queue. On any other failure \a batch keeps what was not written.
*/
bool SqlStore::Private::writeOneByOne(Batch &batch, QString *error)
{
    const WriteResult result = write(batch, error);
    if (result != WriteResult::BadData)
        return result == WriteResult::Written;
    qCWarning(lcSql, "the store refused a batch (%s); writing it row by row", qPrintable(*error));
    auto one = [&](Batch &single, qint64 *dropped) {
        const WriteResult r = write(single, error);
        if (r == WriteResult::BadData) {
            qCWarning(lcSql, "dropping a record the store refuses: %s", qPrintable(*error));
            std::lock_guard<std::mutex> lock(mutex);
            ++*dropped;
        }
        return r != WriteResult::Failed;
    };
    qint64 droppedOther = 0;
    while (!batch.nodes.isEmpty()) {
        Batch single;
        single.nodes.insert(batch.nodes.begin().key(), batch.nodes.begin().value());
        if (!one(single, &droppedOther))
            return false;
        batch.nodes.erase(batch.nodes.begin());
    }
    while (!batch.statuses.isEmpty()) {
        Batch single;
        single.statuses.insert(batch.statuses.begin().key(), batch.statuses.begin().value());
        if (!one(single, &droppedOther))
            return false;
        batch.statuses.erase(batch.statuses.begin());
    }
    while (!batch.runs.empty()) {
        Batch single;
        single.runs.push_back(batch.runs.front());
        if (!one(single, &stats.droppedRuns))
            return false;
        batch.runs.pop_front();
    }
    while (!batch.logs.empty()) {
        Batch single;
        single.logs.push_back(batch.logs.front());
        if (!one(single, &stats.droppedLogLines))
            return false;
        batch.logs.pop_front();
    }
    return true;
}

void SqlStore::Private::putBack(Batch &batch)
{
    // Newer entries that arrived meanwhile win over the batch's.
    for (auto it = batch.nodes.cbegin(); it != batch.nodes.cend(); ++it) {
        if (!pending.nodes.contains(it.key()))
            pending.nodes.insert(it.key(), it.value());
    }
    for (auto it = batch.statuses.cbegin(); it != batch.statuses.cend(); ++it) {
        if (!pending.statuses.contains(it.key()))
            pending.statuses.insert(it.key(), it.value());
    }
    pending.runs.insert(pending.runs.begin(), batch.runs.begin(), batch.runs.end());
    pending.logs.insert(pending.logs.begin(), batch.logs.begin(), batch.logs.end());
}

bool SqlStore::Private::writeBatch(Batch &batch, QString *error)
{
    SqlSession *s = session(error);
    if (!s)
        return false;
    const bool p = pg();
    auto in = [p](const char *name) { return SqlText::timeIn(p, QLatin1String(name)); };

    // The node's clock against the database's, measured around one round trip.
    qint64 clockOffset = 0;
    if (!batch.nodes.isEmpty()) {
        QSqlQuery *now =
            s->prepared(NowKey, QStringLiteral("SELECT %1").arg(SqlText::nowMs(p)), error);
        if (!now)
            return false;
        const qint64 before = QDateTime::currentMSecsSinceEpoch();
        if (!s->exec(*now, error))
            return false;
        const qint64 after = QDateTime::currentMSecsSinceEpoch();
        if (now->next())
            clockOffset = (before + after) / 2 - now->value(0).toLongLong();
        now->finish();
    }

    if (!s->begin(error))
        return false;
    auto fail = [&] {
        s->rollback();
        return false;
    };

    for (auto it = batch.nodes.cbegin(); it != batch.nodes.cend(); ++it) {
        if (!it.value()) {
            QSqlQuery *q = s->prepared(
                DeleteNodeKey, QStringLiteral("DELETE FROM warden_nodes WHERE id = :id"), error);
            if (!q)
                return fail();
            q->bindValue(QStringLiteral(":id"), text(it.key()));
            if (!s->exec(*q, error))
                return fail();
            continue;
        }
        const NodeInfo &n = *it.value();
        QSqlQuery *q = s->prepared(
            UpsertNodeKey,
            QStringLiteral(
                "INSERT INTO warden_nodes (id, host_name, pid, version, started_at, heartbeat_at, "
                "clock_offset_ms, heartbeat_interval_ms, dead_after_ms) VALUES (:id, :host, :pid, "
                ":version, %1, %2, :offset, :interval, :deadafter) ON CONFLICT (id) DO UPDATE SET "
                "host_name = excluded.host_name, pid = excluded.pid, version = excluded.version, "
                "started_at = excluded.started_at, heartbeat_at = excluded.heartbeat_at, "
                "clock_offset_ms = excluded.clock_offset_ms, "
                "heartbeat_interval_ms = excluded.heartbeat_interval_ms, "
                "dead_after_ms = excluded.dead_after_ms")
                .arg(in(":started"),
                     p ? QStringLiteral("clock_timestamp()") : SqlText::nowMs(false)),
            error);
        if (!q)
            return fail();
        q->bindValue(QStringLiteral(":id"), text(n.id));
        q->bindValue(QStringLiteral(":host"), text(n.hostName));
        q->bindValue(QStringLiteral(":pid"), n.pid);
        q->bindValue(QStringLiteral(":version"), text(n.version));
        q->bindValue(QStringLiteral(":started"), msParameter(n.startedAt));
        q->bindValue(QStringLiteral(":offset"), clockOffset);
        q->bindValue(QStringLiteral(":interval"), n.heartbeatIntervalMs);
        q->bindValue(QStringLiteral(":deadafter"), n.deadAfterMs);
        if (!s->exec(*q, error))
            return fail();
    }

    for (auto it = batch.statuses.cbegin(); it != batch.statuses.cend(); ++it) {
        if (!it.value()) {
            QSqlQuery *q = s->prepared(
                DeleteStatusKey,
                QStringLiteral(
                    "DELETE FROM warden_worker_status WHERE worker = :worker AND node = :node"),
                error);
            if (!q)
                return fail();
            q->bindValue(QStringLiteral(":worker"), text(it.key().first));
            q->bindValue(QStringLiteral(":node"), text(it.key().second));
            if (!s->exec(*q, error))
                return fail();
            continue;
        }
        const WorkerStatus &w = *it.value();
        QSqlQuery *q = s->prepared(
            UpsertStatusKey,
            QStringLiteral(
                "INSERT INTO warden_worker_status (worker, node, kind, state, enabled, schedule, "
                "lock_mode, lock_name, next_run_at, last_run_at, last_outcome, last_duration_ms, "
                "last_lateness_ms, run_count, failure_count, skip_count, misfire_count, "
                "last_error, updated_at) VALUES (:worker, :node, :kind, :state, :enabled, "
                ":schedule, :lockmode, :lockname, %1, %2, :outcome, :duration, :lateness, :runs, "
                ":failures, :skips, :misfires, :error, %3) ON CONFLICT (worker, node) DO UPDATE "
                "SET "
                "kind = excluded.kind, state = excluded.state, enabled = excluded.enabled, "
                "schedule = excluded.schedule, lock_mode = excluded.lock_mode, "
                "lock_name = excluded.lock_name, next_run_at = excluded.next_run_at, "
                "last_run_at = excluded.last_run_at, last_outcome = excluded.last_outcome, "
                "last_duration_ms = excluded.last_duration_ms, "
                "last_lateness_ms = excluded.last_lateness_ms, run_count = excluded.run_count, "
                "failure_count = excluded.failure_count, skip_count = excluded.skip_count, "
                "misfire_count = excluded.misfire_count, last_error = excluded.last_error, "
                "updated_at = excluded.updated_at")
                .arg(in(":next"), in(":last"), in(":updated")),
            error);
        if (!q)
            return fail();
        q->bindValue(QStringLiteral(":worker"), text(w.worker));
        q->bindValue(QStringLiteral(":node"), text(w.node));
        q->bindValue(QStringLiteral(":kind"), text(w.kind));
        q->bindValue(QStringLiteral(":state"), toKeyword(w.state));
        q->bindValue(QStringLiteral(":enabled"), w.enabled);
        q->bindValue(QStringLiteral(":schedule"), text(w.schedule));
        q->bindValue(QStringLiteral(":lockmode"), toKeyword(w.lockMode));
        q->bindValue(QStringLiteral(":lockname"), text(w.lockName));
        q->bindValue(QStringLiteral(":next"), msParameter(w.nextRunAt));
        q->bindValue(QStringLiteral(":last"), msParameter(w.lastRunAt));
        q->bindValue(QStringLiteral(":outcome"), toKeyword(w.lastOutcome));
        q->bindValue(QStringLiteral(":duration"), w.lastDurationMs);
        q->bindValue(QStringLiteral(":lateness"), w.lastLatenessMs);
        q->bindValue(QStringLiteral(":runs"), w.runCount);
        q->bindValue(QStringLiteral(":failures"), w.failureCount);
        q->bindValue(QStringLiteral(":skips"), w.skipCount);
        q->bindValue(QStringLiteral(":misfires"), w.misfireCount);
        q->bindValue(QStringLiteral(":error"), text(w.lastError));
        q->bindValue(
            QStringLiteral(":updated"),
            msParameter(w.updatedAt.isValid() ? w.updatedAt : QDateTime::currentDateTimeUtc()));
        if (!s->exec(*q, error))
            return fail();
    }

    if (!batch.runs.empty()) {
        QSqlQuery *q = s->prepared(InsertRunKey, RunRow::upsertSql(p), error);
        if (!q)
            return fail();
        for (const RunRecord &r : batch.runs) {
            RunRow::bind(*q, r);
            if (!s->exec(*q, error))
                return fail();
        }
    }

    if (!batch.logs.empty()) {
        QSqlQuery *q = s->prepared(
            InsertLogKey,
            QStringLiteral(
                "INSERT INTO warden_log (time, node, worker, run_id, level, category, "
                "message) VALUES (%1, :node, :worker, :run, :level, :category, :message)")
                .arg(in(":time")),
            error);
        if (!q)
            return fail();
        for (const LogLine &l : batch.logs) {
            q->bindValue(QStringLiteral(":time"),
                         msParameter(l.time.isValid() ? l.time : QDateTime::currentDateTimeUtc()));
            q->bindValue(QStringLiteral(":node"), text(l.node));
            q->bindValue(QStringLiteral(":worker"), text(l.worker));
            q->bindValue(QStringLiteral(":run"), text(l.runId));
            q->bindValue(QStringLiteral(":level"), severity(l.level));
            q->bindValue(QStringLiteral(":category"), text(l.category));
            q->bindValue(QStringLiteral(":message"), text(l.message));
            if (!s->exec(*q, error))
                return fail();
        }
    }
    return s->commit(error);
}

// --- Retention ------------------------------------------------------------------------------

quint64 SqlStore::databaseId() const
{
    return d->config->id;
}

RetentionPolicy SqlStore::retention() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    return d->retention;
}

void SqlStore::setRetention(const RetentionPolicy &policy)
{
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        d->retention = policy;
        d->nextRetention = SteadyClock::now() + std::max(policy.interval, milliseconds(100));
    }
    d->wake.notify_one();
}

Result<qint64> SqlStore::enforceRetention()
{
    // All of it, batch by batch.
    const RetentionPolicy policy = retention();
    qint64 total = 0;
    for (;;) {
        const auto removed = d->enforceRetention(policy);
        if (!removed)
            return removed;
        total += removed.value();
        if (removed.value() < RetentionBatch)
            return total;
    }
}

Result<qint64> SqlStore::Private::enforceRetention(const RetentionPolicy &policy)
{
    // One small batch per table and rule, so that a large backlog never holds the database
    // (SQLite's single writer: the lease statements of every worker wait behind it) and the
    // write-ahead log stays small; the writer calls again soon while a batch came back full.
    QString error;
    SqlSession *s = session(&error);
    if (!s)
        return Result<qint64>::failure(error);
    const bool p = pg();
    qint64 removed = 0;
    struct Table
    {
        QString name;
        QString timeColumn;
        milliseconds age;
        qint64 count;
        QString keep; // rows no rule removes
    };
    const Table tables[] = {
        {QStringLiteral("warden_runs"), QStringLiteral("finished_at"), policy.maximumRunAge,
         policy.maximumRuns, QStringLiteral(" AND outcome <> 'running'")},
        {QStringLiteral("warden_log"), QStringLiteral("time"), policy.maximumLogAge,
         policy.maximumLogLines, QString()},
    };
    auto run = [&](QSqlQuery &q) -> bool {
        if (q.exec()) {
            removed += q.numRowsAffected();
            return true;
        }
        const QSqlError e = q.lastError();
        q = QSqlQuery();
        s->failed(e);
        error = describe(e);
        return false;
    };
    for (const Table &t : tables) {
        if (t.age.count() > 0) {
            QSqlQuery q(s->database());
            q.prepare(QStringLiteral("DELETE FROM %1 WHERE id IN (SELECT id FROM %1 WHERE %2 < %3 "
                                     "ORDER BY id LIMIT :batch)")
                          .arg(t.name, t.timeColumn,
                               p ? QStringLiteral("clock_timestamp() - make_interval(secs => "
                                                  "CAST(:age AS double precision) / 1000.0)")
                                 : SqlText::nowMs(false) + QStringLiteral(" - :age")));
            q.bindValue(QStringLiteral(":age"), qint64(t.age.count()));
            q.bindValue(QStringLiteral(":batch"), RetentionBatch);
            if (!run(q))
                return Result<qint64>::failure(error);
        }
        if (t.count > 0) {
            QSqlQuery q(s->database());
            q.prepare(QStringLiteral("DELETE FROM %1 WHERE id IN (SELECT id FROM %1 WHERE id <= "
                                     "(SELECT id FROM %1 ORDER BY id DESC LIMIT 1 OFFSET :keep)%2 "
                                     "ORDER BY id LIMIT :batch)")
                          .arg(t.name, t.keep));
            q.bindValue(QStringLiteral(":keep"), t.count);
            q.bindValue(QStringLiteral(":batch"), RetentionBatch);
            if (!run(q))
                return Result<qint64>::failure(error);
        }
    }
    return removed;
}

// --- Reads ----------------------------------------------------------------------------------

Result<QList<WorkerSettings>> SqlStore::workerSettings()
{
    using R = Result<QList<WorkerSettings>>;
    d->lastSettingsReadStart = SteadyClock::now().time_since_epoch().count();
    ++d->settingsReads;
    ++d->settingsReadsInProgress;
    struct Done
    {
        std::atomic<int> &count;
        ~Done() { --count; }
    } done{d->settingsReadsInProgress};
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QSqlQuery *q = s->prepared(
        SettingsKey,
        QStringLiteral("SELECT worker, enabled, %1, reason, changed_by, %2, trigger_sequence "
                       "FROM warden_worker_settings ORDER BY worker")
            .arg(SqlText::timeOut(p, QStringLiteral("paused_until")),
                 SqlText::timeOut(p, QStringLiteral("changed_at"))),
        &error);
    if (!q || !s->exec(*q, &error))
        return R::failure(error);
    QList<WorkerSettings> out;
    while (q->next()) {
        WorkerSettings w;
        w.worker = q->value(0).toString();
        w.enabled = q->value(1).toBool();
        w.pausedUntil = msValue(q->value(2));
        w.reason = q->value(3).toString();
        w.changedBy = q->value(4).toString();
        w.changedAt = msValue(q->value(5));
        w.triggerSequence = q->value(6).toLongLong();
        out.append(w);
    }
    q->finish();
    return out;
}

Result<QList<NodeInfo>> SqlStore::nodes()
{
    using R = Result<QList<NodeInfo>>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QSqlQuery *q = s->prepared(
        NodesKey,
        QStringLiteral(
            "SELECT id, host_name, pid, version, %1, %2, clock_offset_ms, "
            "heartbeat_interval_ms, %3 - %2, dead_after_ms FROM warden_nodes ORDER BY id")
            .arg(SqlText::timeOut(p, QStringLiteral("started_at")),
                 SqlText::timeOut(p, QStringLiteral("heartbeat_at")), SqlText::nowMs(p)),
        &error);
    if (!q || !s->exec(*q, &error))
        return R::failure(error);
    QList<NodeInfo> out;
    while (q->next()) {
        NodeInfo n;
        n.id = q->value(0).toString();
        n.hostName = q->value(1).toString();
        n.pid = q->value(2).toLongLong();
        n.version = q->value(3).toString();
        n.startedAt = msValue(q->value(4));
        n.heartbeatAt = msValue(q->value(5));
        n.clockOffsetMs = q->value(6).toLongLong();
        n.heartbeatIntervalMs = q->value(7).toInt();
        n.heartbeatAgeMs = q->value(8).isNull() ? -1 : qMax<qint64>(0, q->value(8).toLongLong());
        n.deadAfterMs = q->value(9).toLongLong();
        out.append(n);
    }
    q->finish();
    return out;
}

Result<QList<WorkerStatus>> SqlStore::workerStatuses()
{
    using R = Result<QList<WorkerStatus>>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QSqlQuery *q = s->prepared(
        StatusesKey,
        QStringLiteral("SELECT worker, node, kind, state, enabled, schedule, lock_mode, lock_name, "
                       "%1, %2, last_outcome, last_duration_ms, last_lateness_ms, run_count, "
                       "failure_count, skip_count, misfire_count, last_error, %3 "
                       "FROM warden_worker_status ORDER BY worker, node")
            .arg(SqlText::timeOut(p, QStringLiteral("next_run_at")),
                 SqlText::timeOut(p, QStringLiteral("last_run_at")),
                 SqlText::timeOut(p, QStringLiteral("updated_at"))),
        &error);
    if (!q || !s->exec(*q, &error))
        return R::failure(error);
    QList<WorkerStatus> out;
    while (q->next()) {
        WorkerStatus w;
        w.worker = q->value(0).toString();
        w.node = q->value(1).toString();
        w.kind = q->value(2).toString();
        fromKeyword(q->value(3).toString(), &w.state);
        w.enabled = q->value(4).toBool();
        w.schedule = q->value(5).toString();
        fromKeyword(q->value(6).toString(), &w.lockMode);
        w.lockName = q->value(7).toString();
        w.nextRunAt = msValue(q->value(8));
        w.lastRunAt = msValue(q->value(9));
        fromKeyword(q->value(10).toString(), &w.lastOutcome);
        w.lastDurationMs = q->value(11).isNull() ? -1 : q->value(11).toLongLong();
        w.lastLatenessMs = q->value(12).isNull() ? -1 : q->value(12).toLongLong();
        w.runCount = q->value(13).toLongLong();
        w.failureCount = q->value(14).toLongLong();
        w.skipCount = q->value(15).toLongLong();
        w.misfireCount = q->value(16).toLongLong();
        w.lastError = q->value(17).toString();
        w.updatedAt = msValue(q->value(18));
        out.append(w);
    }
    q->finish();
    return out;
}

Result<QList<RunRecord>> SqlStore::runs(const RunQuery &query)
{
    using R = Result<QList<RunRecord>>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QStringList where;
    if (!query.worker.isEmpty())
        where << QStringLiteral("worker = :worker");
    if (!query.node.isEmpty())
        where << QStringLiteral("node = :node");
    if (!query.runId.isEmpty())
        where << QStringLiteral("run_id = :run");
    if (query.since.isValid())
        where
            << QStringLiteral("started_at >= %1").arg(SqlText::timeIn(p, QStringLiteral(":since")));
    QSqlQuery q(s->database());
    q.setForwardOnly(true);
    q.prepare(QStringLiteral("SELECT %1 FROM warden_runs %2 ORDER BY id DESC LIMIT :limit")
                  .arg(runColumns(p), where.isEmpty() ? QString()
                                                      : QStringLiteral("WHERE ") +
                                                            where.join(QStringLiteral(" AND "))));
    if (!query.worker.isEmpty())
        q.bindValue(QStringLiteral(":worker"), query.worker);
    if (!query.node.isEmpty())
        q.bindValue(QStringLiteral(":node"), query.node);
    if (!query.runId.isEmpty())
        q.bindValue(QStringLiteral(":run"), query.runId);
    if (query.since.isValid())
        q.bindValue(QStringLiteral(":since"), msParameter(query.since));
    q.bindValue(QStringLiteral(":limit"), qMax(0, query.limit));
    if (!s->exec(q, &error))
        return R::failure(error);
    QList<RunRecord> out;
    while (q.next())
        out.append(runFrom(q));
    return out;
}

Result<std::optional<RunRecord>> SqlStore::lastScheduledRun(const QString &worker)
{
    using R = Result<std::optional<RunRecord>>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QSqlQuery *q = s->prepared(
        LastScheduledKey,
        QStringLiteral("SELECT %1 FROM warden_runs WHERE worker = :worker AND manual = %2 "
                       "AND outcome NOT IN ('skipped', 'missed') ORDER BY id DESC LIMIT 1")
            .arg(runColumns(p), p ? QStringLiteral("false") : QStringLiteral("0")),
        &error);
    if (!q)
        return R::failure(error);
    q->bindValue(QStringLiteral(":worker"), text(worker));
    if (!s->exec(*q, &error))
        return R::failure(error);
    std::optional<RunRecord> out;
    if (q->next())
        out = runFrom(*q);
    q->finish();
    return out;
}

Result<QList<StoredLogLine>> SqlStore::logLines(const LogQuery &query)
{
    using R = Result<QList<StoredLogLine>>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QStringList where{QStringLiteral("id > :after"), QStringLiteral("level >= :level")};
    if (!query.worker.isEmpty())
        where << QStringLiteral("worker = :worker");
    if (!query.node.isEmpty())
        where << QStringLiteral("node = :node");
    if (!query.runId.isEmpty())
        where << QStringLiteral("run_id = :run");
    if (!query.text.isEmpty())
        where << (p ? QStringLiteral("strpos(lower(message), lower(:text)) > 0")
                    : QStringLiteral("instr(lower(message), lower(:text)) > 0"));
    QSqlQuery q(s->database());
    q.setForwardOnly(true);
    q.prepare(
        QStringLiteral("SELECT id, %1, node, worker, run_id, level, category, message FROM "
                       "warden_log WHERE %2 ORDER BY id DESC LIMIT :limit")
            .arg(SqlText::timeOut(p, QStringLiteral("time")), where.join(QStringLiteral(" AND "))));
    q.bindValue(QStringLiteral(":after"), query.afterId);
    q.bindValue(QStringLiteral(":level"), severity(query.minimumLevel));
    if (!query.worker.isEmpty())
        q.bindValue(QStringLiteral(":worker"), query.worker);
    if (!query.node.isEmpty())
        q.bindValue(QStringLiteral(":node"), query.node);
    if (!query.runId.isEmpty())
        q.bindValue(QStringLiteral(":run"), query.runId);
    if (!query.text.isEmpty())
        q.bindValue(QStringLiteral(":text"), query.text);
    q.bindValue(QStringLiteral(":limit"), qMax(0, query.limit));
    if (!s->exec(q, &error))
        return R::failure(error);
    QList<StoredLogLine> out;
    while (q.next()) {
        StoredLogLine stored;
        stored.id = q.value(0).toLongLong();
        stored.line.time = msValue(q.value(1));
        stored.line.node = q.value(2).toString();
        stored.line.worker = q.value(3).toString();
        stored.line.runId = q.value(4).toString();
        stored.line.level = messageTypeFromSeverity(q.value(5).toInt());
        stored.line.category = q.value(6).toString();
        stored.line.message = q.value(7).toString();
        out.prepend(stored);
    }
    return out;
}

Result<QList<AuditEntry>> SqlStore::auditTrail(int limit)
{
    using R = Result<QList<AuditEntry>>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    QSqlQuery *q =
        s->prepared(AuditTrailKey,
                    QStringLiteral("SELECT %1, user_name, origin, action, target, reason, details "
                                   "FROM warden_audit ORDER BY id DESC LIMIT :limit")
                        .arg(SqlText::timeOut(s->isPostgres(), QStringLiteral("time"))),
                    &error);
    if (!q)
        return R::failure(error);
    q->bindValue(QStringLiteral(":limit"), qMax(0, limit));
    if (!s->exec(*q, &error))
        return R::failure(error);
    QList<AuditEntry> out;
    while (q->next()) {
        AuditEntry a;
        a.time = msValue(q->value(0));
        a.user = q->value(1).toString();
        a.origin = q->value(2).toString();
        a.action = q->value(3).toString();
        a.target = q->value(4).toString();
        a.reason = q->value(5).toString();
        a.details = q->value(6).toString();
        out.append(a);
    }
    q->finish();
    return out;
}

// --- Admin writes ---------------------------------------------------------------------------

bool SqlStore::setWorkerSettings(const WorkerSettings &settings, QString *error)
{
    QString message;
    auto failed = [&] {
        if (error)
            *error = message;
        return false;
    };
    if (settings.worker.isEmpty() || settings.worker.size() > 200) {
        message = QStringLiteral("setWorkerSettings: the worker name is empty or too long");
        return failed();
    }
    SqlSession *s = d->session(&message);
    if (!s)
        return failed();
    const bool p = s->isPostgres();
    QSqlQuery *q = s->prepared(
        SetSettingsKey,
        QStringLiteral("INSERT INTO warden_worker_settings (worker, enabled, paused_until, reason, "
                       "changed_by, changed_at) VALUES (:worker, :enabled, %1, :reason, :by, %2) "
                       "ON CONFLICT (worker) DO UPDATE SET enabled = excluded.enabled, "
                       "paused_until = excluded.paused_until, reason = excluded.reason, "
                       "changed_by = excluded.changed_by, changed_at = excluded.changed_at")
            .arg(SqlText::timeIn(p, QStringLiteral(":paused")),
                 p ? QStringLiteral("clock_timestamp()") : SqlText::nowMs(false)),
        &message);
    if (!q)
        return failed();
    q->bindValue(QStringLiteral(":worker"), text(settings.worker));
    q->bindValue(QStringLiteral(":enabled"), settings.enabled);
    q->bindValue(QStringLiteral(":paused"), msParameter(settings.pausedUntil));
    q->bindValue(QStringLiteral(":reason"), text(settings.reason));
    q->bindValue(QStringLiteral(":by"), text(settings.changedBy));
    if (!s->exec(*q, &message))
        return failed();
    q->finish();
    Q_EMIT workerSettingsChanged();
    return true;
}

Result<qint64> SqlStore::requestTrigger(const QString &worker, const QString &user)
{
    using R = Result<qint64>;
    if (worker.isEmpty() || worker.size() > 200)
        return R::failure(QStringLiteral("requestTrigger: the worker name is empty or too long"));
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    QSqlQuery *q = s->prepared(
        TriggerKey,
        QStringLiteral("INSERT INTO warden_worker_settings (worker, changed_by, changed_at, "
                       "trigger_sequence) VALUES (:worker, :by, %1, 1) ON CONFLICT (worker) DO "
                       "UPDATE SET trigger_sequence = warden_worker_settings.trigger_sequence + 1, "
                       "changed_by = excluded.changed_by, changed_at = excluded.changed_at "
                       "RETURNING trigger_sequence")
            .arg(p ? QStringLiteral("clock_timestamp()") : SqlText::nowMs(false)),
        &error);
    if (!q)
        return R::failure(error);
    q->bindValue(QStringLiteral(":worker"), text(worker));
    q->bindValue(QStringLiteral(":by"), text(user));
    if (!s->exec(*q, &error))
        return R::failure(error);
    qint64 sequence = 0;
    if (q->next())
        sequence = q->value(0).toLongLong();
    q->finish();
    Q_EMIT workerSettingsChanged();
    return sequence;
}

Result<int> SqlStore::closeRunningRuns(const QString &nodeId, const QString &reason,
                                       const QDateTime &finishedAt)
{
    using R = Result<int>;
    QString error;
    SqlSession *s = d->session(&error);
    if (!s)
        return R::failure(error);
    const bool p = s->isPostgres();
    // Finished at the given time, else at the node's last heartbeat, else now; never before
    // the run started.
    const QString end =
        QStringLiteral("COALESCE(%1, (SELECT heartbeat_at FROM warden_nodes WHERE id = :node2), "
                       "%2)")
            .arg(SqlText::timeIn(p, QStringLiteral(":finished")),
                 p ? QStringLiteral("clock_timestamp()") : SqlText::nowMs(false));
    QSqlQuery *q =
        s->prepared(CloseRunningKey,
                    QStringLiteral("UPDATE warden_runs SET outcome = 'lost', error = :reason, "
                                   "finished_at = %1(started_at, %2) "
                                   "WHERE node = :node AND outcome = 'running'")
                        .arg(p ? QStringLiteral("GREATEST") : QStringLiteral("MAX"), end),
                    &error);
    if (!q)
        return R::failure(error);
    q->bindValue(QStringLiteral(":reason"), text(reason));
    q->bindValue(QStringLiteral(":finished"), finishedAt.isValid()
                                                  ? msParameter(finishedAt)
                                                  : QVariant(QMetaType::fromType<qint64>()));
    q->bindValue(QStringLiteral(":node2"), text(nodeId));
    q->bindValue(QStringLiteral(":node"), text(nodeId));
    if (!s->exec(*q, &error))
        return R::failure(error);
    const int closed = q->numRowsAffected();
    q->finish();
    return closed;
}

bool SqlStore::recordAudit(const AuditEntry &entry, QString *error)
{
    QString message;
    SqlSession *s = d->session(&message);
    QSqlQuery *q =
        s ? s->prepared(AuditKey,
                        QStringLiteral("INSERT INTO warden_audit (time, user_name, "
                                       "origin, action, target, reason, details) "
                                       "VALUES (%1, :user, :origin, :action, :target, "
                                       ":reason, :details)")
                            .arg(SqlText::timeIn(s->isPostgres(), QStringLiteral(":time"))),
                        &message)
          : nullptr;
    if (q) {
        q->bindValue(
            QStringLiteral(":time"),
            msParameter(entry.time.isValid() ? entry.time : QDateTime::currentDateTimeUtc()));
        q->bindValue(QStringLiteral(":user"), text(entry.user));
        q->bindValue(QStringLiteral(":origin"), text(entry.origin));
        q->bindValue(QStringLiteral(":action"), text(entry.action));
        q->bindValue(QStringLiteral(":target"), text(entry.target));
        q->bindValue(QStringLiteral(":reason"), text(entry.reason));
        q->bindValue(QStringLiteral(":details"), text(entry.details));
        if (s->exec(*q, &message)) {
            q->finish();
            return true;
        }
    }
    if (error)
        *error = message;
    return false;
}

} // namespace Warden
