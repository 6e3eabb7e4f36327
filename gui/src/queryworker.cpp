#include "queryworker.h"

#include <warden/adminactions.h>
#include <warden/sql/database.h>
#include <warden/sql/databaseurl.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QFileInfo>
#include <QtCore/QTimer>

#include <exception>

namespace Warden::Console {

namespace {

const char passwordVariable[] = "WARDEN_CONSOLE_DB_PASSWORD";
const QString origin = QStringLiteral("warden-console");

} // namespace

Result<Backend> openDatabase(const QString &url, const QString &password)
{
    return openDatabase(url, password, DatabaseOptions());
}

Connector databaseConnector(const DatabaseOptions &options)
{
    return [options](const QString &url, const QString &password) {
        return openDatabase(url, password, options);
    };
}

Result<Backend> openDatabase(const QString &url, const QString &password,
                             const DatabaseOptions &base)
{
    DatabaseOptions options = base;
    options.applicationName = origin;
    if (!password.isEmpty()) {
        // The password reaches the driver through the environment of this process only,
        // for the moment open() reads it; it is never written anywhere.
        qputenv(passwordVariable, password.toUtf8());
        options.passwordEnvironmentVariable = QString::fromLatin1(passwordVariable);
    }
    // The console shows the store of a warden that runs, and creates none: a mistyped file
    // name would otherwise become an empty store that looks like an idle cluster. The worker
    // retries, so the console connects by itself once warden has created the file.
    if (const auto parsed = DatabaseUrl::parse(url);
        parsed.isOk() && parsed.value().isSqlite() &&
        !QFileInfo::exists(parsed.value().filePath())) {
        return Result<Backend>::failure(
            QObject::tr("%1 does not exist (yet); has warden run started with it?")
                .arg(parsed.value().filePath()));
    }
    auto database = Database::open(url, options);
    if (!password.isEmpty())
        qunsetenv(passwordVariable);
    if (!database)
        return Result<Backend>::failure(database.errorString());
    Backend backend;
    backend.store = database.value().store();
    backend.lockManager = database.value().lockManager();
    backend.description = database.value().url().toDisplayString();
    return backend;
}

QueryWorker::QueryWorker(Connector connector)
    : m_connector(connector ? std::move(connector) : databaseConnector(DatabaseOptions()))
    , m_timer(new QTimer(this))
{
    m_timer->setSingleShot(true);
    connect(m_timer, &QTimer::timeout, this, &QueryWorker::onTimer);
}

QueryWorker::~QueryWorker() = default;

void QueryWorker::setState(ConnectionState state, const QString &error, int retryInMs)
{
    m_state = state;
    Q_EMIT connectionStateChanged(
        state, m_backend.description.isEmpty() ? m_url : m_backend.description, error, retryInMs);
}

void QueryWorker::setConnector(const Connector &connector)
{
    m_connector = connector ? connector : databaseConnector(DatabaseOptions());
}

void QueryWorker::connectTo(const QString &url, const QString &password)
{
    disconnectFromStore();
    m_url = url;
    m_password = password;
    m_failures = 0;
    setState(ConnectionState::Connecting);
    scheduleRefresh(0);
}

void QueryWorker::disconnectFromStore()
{
    // Forget the URL too: a refresh asked for after this (a filter, a selection) must not
    // reconnect to the store that was left, without its password.
    m_url.clear();
    m_password.clear();
    m_timer->stop();
    if (m_backend.store)
        m_backend.store->disconnect(this);
    if (m_backend.lockManager)
        m_backend.lockManager->disconnect(this);
    m_backend = Backend();
    m_lastLogId = 0;
    m_logReset = true;
    resetTables();
    if (m_state != ConnectionState::Disconnected)
        setState(ConnectionState::Disconnected);
}

void QueryWorker::resetTables()
{
    m_workerTable.reset();
    m_lockTable.reset();
    m_nodeTable.reset();
    m_auditTable.reset();
    m_runTable.reset();
}

void QueryWorker::requestFullTables()
{
    resetTables();
    refreshNow();
}

void QueryWorker::refreshNow()
{
    if (!m_url.isEmpty())
        scheduleRefresh(0);
}

void QueryWorker::setSelectedWorker(const QString &worker)
{
    if (worker == m_selectedWorker)
        return;
    m_selectedWorker = worker;
    m_runTable.reset();
    if (worker.isEmpty())
        Q_EMIT historyReady(RunHistory());
    else if (m_state == ConnectionState::Connected)
        scheduleRefresh(0);
}

void QueryWorker::setLogFilter(const LogQuery &filter)
{
    if (filter.worker == m_logFilter.worker && filter.node == m_logFilter.node &&
        filter.text == m_logFilter.text && filter.minimumLevel == m_logFilter.minimumLevel)
        return;
    m_logFilter.worker = filter.worker;
    m_logFilter.node = filter.node;
    m_logFilter.text = filter.text;
    m_logFilter.minimumLevel = filter.minimumLevel;
    m_lastLogId = 0;
    m_logReset = true;
    if (m_state == ConnectionState::Connected)
        scheduleRefresh(0);
}

void QueryWorker::setPollInterval(int milliseconds)
{
    m_pollMs = qMax(50, milliseconds);
}

void QueryWorker::setBackOff(int firstMilliseconds, int maximumMilliseconds)
{
    m_firstBackOffMs = qMax(10, firstMilliseconds);
    m_maximumBackOffMs = qMax(m_firstBackOffMs, maximumMilliseconds);
}

void QueryWorker::scheduleRefresh(int delayMs)
{
    if (m_timer->isActive() && m_timer->remainingTime() <= delayMs)
        return;
    m_timer->start(delayMs);
}

void QueryWorker::onTimer()
{
    if (m_url.isEmpty())
        return;
    if (!m_backend.store && !open())
        return;
    refresh();
}

bool QueryWorker::open()
{
    Result<Backend> opened = Result<Backend>::failure(QString());
    try {
        opened = m_connector(m_url, m_password);
    } catch (const std::exception &e) {
        opened = Result<Backend>::failure(QString::fromLocal8Bit(e.what()));
    }
    if (!opened || !opened.value().store || !opened.value().lockManager) {
        fail(opened ? tr("the connector returned no store") : opened.errorString());
        return false;
    }
    m_backend = opened.value();
    m_lastLogId = 0;
    m_logReset = true;
    // Instant updates where the store can tell (PostgreSQL NOTIFY, this process).
    connect(
        m_backend.store.get(), &Store::workerSettingsChanged, this, [this] { scheduleRefresh(50); },
        Qt::QueuedConnection);
    connect(
        m_backend.lockManager.get(), &LockManager::released, this, [this] { scheduleRefresh(50); },
        Qt::QueuedConnection);
    return true;
}

void QueryWorker::fail(const QString &error)
{
    ++m_failures;
    if (m_failures >= 3 && m_backend.store) {
        // Reopen from scratch: whatever the connections hold is not to be trusted now.
        m_backend.store->disconnect(this);
        m_backend.lockManager->disconnect(this);
        m_backend = Backend();
    }
    const int shift = qMin(m_failures - 1, 16);
    const int delay = int(qMin<qint64>(qint64(m_firstBackOffMs) << shift, m_maximumBackOffMs));
    setState(ConnectionState::Lost, error, delay);
    m_timer->start(delay);
}

void QueryWorker::refresh()
{
    QElapsedTimer elapsed;
    elapsed.start();
    auto nodes = m_backend.store->nodes();
    if (!nodes)
        return fail(nodes.errorString());
    auto statuses = m_backend.store->workerStatuses();
    if (!statuses)
        return fail(statuses.errorString());
    auto settings = m_backend.store->workerSettings();
    if (!settings)
        return fail(settings.errorString());
    auto leases = m_backend.lockManager->leases();
    if (!leases)
        return fail(leases.errorString());
    auto audit = m_backend.store->auditTrail(500);
    if (!audit)
        return fail(audit.errorString());
    LogQuery logQuery = m_logFilter;
    logQuery.afterId = m_logReset ? 0 : m_lastLogId;
    logQuery.limit = m_logReset ? 2000 : 20000;
    auto log = m_backend.store->logLines(logQuery);
    if (!log)
        return fail(log.errorString());
    std::optional<RunHistory> history;
    if (!m_selectedWorker.isEmpty()) {
        RunQuery runQuery;
        runQuery.worker = m_selectedWorker;
        runQuery.limit = 500;
        auto runs = m_backend.store->runs(runQuery);
        if (!runs)
            return fail(runs.errorString());
        history =
            RunHistory{m_selectedWorker, m_runTable.update(m_builder.runRows(runs.value())), {}};
        if (!history->rows.isEmpty())
            history->runs = runs.value();
    }

    const QDateTime now = QDateTime::currentDateTimeUtc();
    ClusterSnapshot snapshot;
    snapshot.takenAt = now;
    // Only what changed since the previous refresh goes to the GUI thread.
    // Statuses of signed-off nodes drop out; those of dead nodes are marked as such.
    const QList<WorkerStatus> current = currentStatuses(statuses.value(), nodes.value());
    snapshot.workers =
        m_workerTable.update(m_builder.workerRows(current, settings.value(), leases.value(), now));
    snapshot.locks = m_lockTable.update(m_builder.lockRows(leases.value(), now));
    snapshot.nodes =
        m_nodeTable.update(m_builder.nodeRows(nodes.value(), now, &snapshot.aliveNodes));
    snapshot.audit = m_auditTable.update(m_builder.auditRows(audit.value()));
    for (const WorkerStatus &status : current) {
        if (!status.isNodeAlive)
            continue;
        if (status.state == WorkerState::Running)
            ++snapshot.runningWorkers;
        else if (status.state == WorkerState::Failed)
            ++snapshot.failedWorkers;
    }
    snapshot.queryMs = elapsed.elapsed();

    if (m_state != ConnectionState::Connected) {
        m_failures = 0;
        setState(ConnectionState::Connected);
    }
    m_failures = 0;
    Q_EMIT snapshotReady(snapshot);
    if (!log.value().isEmpty() || m_logReset) {
        if (!log.value().isEmpty())
            m_lastLogId = log.value().constLast().id;
        Q_EMIT logLinesReady(log.value(), m_logReset);
        m_logReset = false;
    }
    if (history && history->worker == m_selectedWorker)
        Q_EMIT historyReady(*history);
    m_sinceRefresh.start();
    scheduleRefresh(m_pollMs);
}

void QueryWorker::finishAction(const QString &action, const QString &target, bool ok,
                               const QString &message)
{
    Q_EMIT actionFinished(ActionResult{action, target, ok, message});
    if (m_backend.store)
        scheduleRefresh(0);
}

void QueryWorker::enableWorker(const QString &worker, const QString &reason)
{
    if (!m_backend.store)
        return finishAction(QStringLiteral("enable"), worker, false, tr("Not connected."));
    AdminActions admin(m_backend.store, m_backend.lockManager, origin);
    const auto result = admin.enable(worker, reason);
    finishAction(QStringLiteral("enable"), worker, result.isOk(),
                 result ? tr("Enabled %1.").arg(worker) : result.errorString());
}

void QueryWorker::disableWorker(const QString &worker, const QString &reason,
                                const QDateTime &until)
{
    const QString action = until.isValid() ? QStringLiteral("pause") : QStringLiteral("disable");
    if (!m_backend.store)
        return finishAction(action, worker, false, tr("Not connected."));
    AdminActions admin(m_backend.store, m_backend.lockManager, origin);
    const auto result = admin.disable(worker, reason, until);
    QString message;
    if (!result)
        message = result.errorString();
    else if (until.isValid())
        message = tr("Paused %1 until %2.").arg(worker, until.toLocalTime().toString(Qt::ISODate));
    else
        message = tr("Disabled %1.").arg(worker);
    finishAction(action, worker, result.isOk(), message);
}

void QueryWorker::triggerWorker(const QString &worker)
{
    if (!m_backend.store)
        return finishAction(QStringLiteral("trigger"), worker, false, tr("Not connected."));
    AdminActions admin(m_backend.store, m_backend.lockManager, origin);
    const auto result = admin.trigger(worker);
    finishAction(QStringLiteral("trigger"), worker, result.isOk(),
                 result ? tr("Asked the cluster to run %1 now.").arg(worker)
                        : result.errorString());
}

void QueryWorker::requestRunDetails(const QString &runId)
{
    RunDetails details;
    details.runId = runId;
    if (!m_backend.store) {
        details.error = tr("Not connected.");
        Q_EMIT runDetailsReady(details);
        return;
    }
    RunQuery query;
    query.runId = runId;
    query.limit = 1;
    const auto runs = m_backend.store->runs(query);
    if (!runs) {
        details.error = runs.errorString();
    } else if (!runs.value().isEmpty()) {
        details.isFound = true;
        details.run = runs.value().first();
        LogQuery lines;
        lines.runId = runId;
        lines.limit = 10000;
        const auto log = m_backend.store->logLines(lines);
        if (log)
            details.log = log.value();
        else
            details.error = log.errorString();
    }
    Q_EMIT runDetailsReady(details);
}

void QueryWorker::releaseLock(const QString &lock, const QString &reason)
{
    if (!m_backend.store)
        return finishAction(QStringLiteral("release"), lock, false, tr("Not connected."));
    AdminActions admin(m_backend.store, m_backend.lockManager, origin);
    const auto result = admin.release(lock, reason);
    QString message;
    if (!result)
        message = result.errorString();
    else if (result.value().holder.isEmpty())
        message = tr("Released %1 (nobody held it).").arg(lock);
    else
        message = tr("Released %1, taken from %2 (fencing token %3).")
                      .arg(lock, result.value().holder)
                      .arg(result.value().fencingToken);
    finishAction(QStringLiteral("release"), lock, result.isOk(), message);
}

} // namespace Warden::Console
