#include <warden/store.h>

#include <QtCore/QHash>
#include <QtCore/QMap>

#include <algorithm>
#include <deque>
#include <mutex>

namespace Warden {

Store::Store(QObject *parent)
    : QObject(parent)
{}
Store::~Store() = default;

struct InMemoryStore::Private
{
    mutable std::mutex mutex;
    QMap<QString, NodeInfo> nodes;
    // (worker, node); a hash: a host publishes the status of each of its workers every second
    QHash<QPair<QString, QString>, WorkerStatus> statuses;
    QMap<QString, WorkerSettings> settings;
    std::deque<RunRecord> runs;
    // The ledger's rows still running, by run id (a deque keeps references to its elements
    // valid when it grows or shrinks at its ends).
    QHash<QString, RunRecord *> running;
    QHash<QString, RunRecord> lastScheduled;
    std::deque<StoredLogLine> logLines;
    std::deque<AuditEntry> audit;
    qint64 nextLogId = 1;
    qint64 written = 0;
    int maximumRuns = 10000;
    int maximumLogLines = 10000;
    int maximumAudit = 10000;
};

InMemoryStore::InMemoryStore(QObject *parent)
    : Store(parent)
    , d(std::make_unique<Private>())
{}

InMemoryStore::~InMemoryStore() = default;

void InMemoryStore::setRetention(int maximumRuns, int maximumLogLines)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    d->maximumRuns = qMax(1, maximumRuns);
    d->maximumLogLines = qMax(1, maximumLogLines);
}

void InMemoryStore::publishNode(const NodeInfo &node)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    NodeInfo copy = node;
    copy.heartbeatAt = QDateTime::currentDateTimeUtc();
    d->nodes.insert(node.id, copy);
    ++d->written;
}

void InMemoryStore::removeNode(const QString &nodeId)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    d->nodes.remove(nodeId);
    ++d->written;
}

void InMemoryStore::publishWorkerStatus(const WorkerStatus &status)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    d->statuses.insert(qMakePair(status.worker, status.node), status);
    ++d->written;
}

void InMemoryStore::removeWorkerStatus(const QString &nodeId, const QString &worker)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    d->statuses.remove(qMakePair(worker, nodeId));
    ++d->written;
}

void InMemoryStore::recordRun(const RunRecord &run)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    // The ledger: the end of a run completes the row of its start.
    const auto started =
        run.outcome == RunOutcome::Running ? d->running.end() : d->running.find(run.runId);
    if (started != d->running.end()) {
        *started.value() = run;
        d->running.erase(started);
    } else {
        d->runs.push_back(run);
        if (run.outcome == RunOutcome::Running)
            d->running.insert(run.runId, &d->runs.back());
    }
    while (int(d->runs.size()) > d->maximumRuns) {
        if (d->runs.front().outcome == RunOutcome::Running)
            d->running.remove(d->runs.front().runId);
        d->runs.pop_front();
    }
    if (!run.isManual() && run.outcome != RunOutcome::Skipped && run.outcome != RunOutcome::Missed)
        d->lastScheduled.insert(run.worker, run);
    ++d->written;
}

void InMemoryStore::appendLog(const LogLine &line)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    d->logLines.push_back(StoredLogLine{d->nextLogId++, line});
    while (int(d->logLines.size()) > d->maximumLogLines)
        d->logLines.pop_front();
    ++d->written;
}

bool InMemoryStore::flush(std::chrono::milliseconds)
{
    return true;
}

StoreStatistics InMemoryStore::statistics() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    StoreStatistics stats;
    stats.written = d->written;
    return stats;
}

Result<QList<WorkerSettings>> InMemoryStore::workerSettings()
{
    std::lock_guard<std::mutex> lock(d->mutex);
    return QList<WorkerSettings>(d->settings.cbegin(), d->settings.cend());
}

Result<QList<NodeInfo>> InMemoryStore::nodes()
{
    std::lock_guard<std::mutex> lock(d->mutex);
    QList<NodeInfo> out(d->nodes.cbegin(), d->nodes.cend());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (NodeInfo &node : out)
        node.heartbeatAgeMs = qMax<qint64>(0, node.heartbeatAt.msecsTo(now));
    return out;
}

Result<QList<WorkerStatus>> InMemoryStore::workerStatuses()
{
    QList<WorkerStatus> out;
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        out = QList<WorkerStatus>(d->statuses.cbegin(), d->statuses.cend());
    }
    // By worker, then node.
    std::sort(out.begin(), out.end(), [](const WorkerStatus &a, const WorkerStatus &b) {
        return a.worker != b.worker ? a.worker < b.worker : a.node < b.node;
    });
    return out;
}

Result<QList<RunRecord>> InMemoryStore::runs(const RunQuery &query)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    QList<RunRecord> out;
    for (auto it = d->runs.rbegin(); it != d->runs.rend() && out.size() < query.limit; ++it) {
        if (!query.worker.isEmpty() && it->worker != query.worker)
            continue;
        if (!query.node.isEmpty() && it->node != query.node)
            continue;
        if (!query.runId.isEmpty() && it->runId != query.runId)
            continue;
        if (query.since.isValid() && it->startedAt < query.since)
            continue;
        out.append(*it);
    }
    return out;
}

Result<std::optional<RunRecord>> InMemoryStore::lastScheduledRun(const QString &worker)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    const auto it = d->lastScheduled.constFind(worker);
    if (it == d->lastScheduled.cend())
        return std::optional<RunRecord>();
    return std::optional<RunRecord>(*it);
}

Result<QList<StoredLogLine>> InMemoryStore::logLines(const LogQuery &query)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    QList<StoredLogLine> out;
    for (auto it = d->logLines.rbegin(); it != d->logLines.rend() && out.size() < query.limit;
         ++it) {
        if (it->id <= query.afterId)
            break;
        const LogLine &line = it->line;
        if ((!query.worker.isEmpty() && line.worker != query.worker) ||
            (!query.node.isEmpty() && line.node != query.node) ||
            (!query.runId.isEmpty() && line.runId != query.runId) ||
            severity(line.level) < severity(query.minimumLevel) ||
            (!query.text.isEmpty() && !line.message.contains(query.text, Qt::CaseInsensitive)))
            continue;
        out.append(*it);
    }
    std::reverse(out.begin(), out.end());
    return out;
}

Result<QList<AuditEntry>> InMemoryStore::auditTrail(int limit)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    QList<AuditEntry> out;
    for (auto it = d->audit.rbegin(); it != d->audit.rend() && out.size() < limit; ++it)
        out.append(*it);
    return out;
}

bool InMemoryStore::setWorkerSettings(const WorkerSettings &settings, QString *error)
{
    if (settings.worker.isEmpty()) {
        if (error)
            *error = QStringLiteral("setWorkerSettings: the worker name is empty");
        return false;
    }
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        WorkerSettings &stored = d->settings[settings.worker];
        const qint64 sequence = stored.triggerSequence;
        stored = settings;
        stored.triggerSequence = sequence;
        stored.changedAt = QDateTime::currentDateTimeUtc();
    }
    Q_EMIT workerSettingsChanged();
    return true;
}

Result<qint64> InMemoryStore::requestTrigger(const QString &worker, const QString &user)
{
    qint64 sequence = 0;
    {
        std::lock_guard<std::mutex> lock(d->mutex);
        WorkerSettings &stored = d->settings[worker];
        stored.worker = worker;
        sequence = ++stored.triggerSequence;
        stored.changedBy = user;
        stored.changedAt = QDateTime::currentDateTimeUtc();
    }
    Q_EMIT workerSettingsChanged();
    return sequence;
}

bool InMemoryStore::recordAudit(const AuditEntry &entry, QString *)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    AuditEntry copy = entry;
    if (!copy.time.isValid())
        copy.time = QDateTime::currentDateTimeUtc();
    d->audit.push_back(copy);
    while (int(d->audit.size()) > d->maximumAudit)
        d->audit.pop_front();
    return true;
}

Result<int> InMemoryStore::closeRunningRuns(const QString &nodeId, const QString &reason,
                                            const QDateTime &finishedAt)
{
    std::lock_guard<std::mutex> lock(d->mutex);
    QDateTime end = finishedAt;
    if (!end.isValid()) {
        const auto node = d->nodes.constFind(nodeId);
        end = node != d->nodes.cend() && node->heartbeatAt.isValid()
                  ? node->heartbeatAt
                  : QDateTime::currentDateTimeUtc();
    }
    int closed = 0;
    for (auto it = d->running.begin(); it != d->running.end();) {
        RunRecord &run = *it.value();
        if (run.node != nodeId) {
            ++it;
            continue;
        }
        run.outcome = RunOutcome::Lost;
        run.error = reason;
        run.finishedAt = qMax(end, run.startedAt);
        ++closed;
        it = d->running.erase(it);
    }
    d->written += closed;
    return closed;
}

} // namespace Warden
