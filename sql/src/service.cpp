#include <warden/host.h>
#include <warden/lockmanager.h>
#include <warden/logging.h>
#include <warden/sql/database.h>
#include <warden/sql/databaseurl.h>
#include <warden/sql/service.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>
#include <warden/sql/sqlworkertype.h>
#include <warden/store.h>
#include <warden/worker.h>

#include <QtCore/QDir>
#include <QtCore/QHash>
#include <QtCore/QPointer>
#include <QtCore/QSet>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <QtCore/QCoreApplication>
#include <QtCore/QSysInfo>

#include <atomic>

#ifdef Q_OS_UNIX
#include <cerrno>
#include <signal.h>
#endif

namespace Warden {

using namespace std::chrono;

struct Service::Private
{
    Config config;
    WorkerTypeRegistry types = allWorkerTypes();
    std::optional<Database> database;
    std::unique_ptr<Host> host;
    QString displayUrl;
    //! Changed workers, added again from the config once the old one has stopped.
    QSet<QString> pending;

    // Watchdog probes: one object in each scheduler thread.
    QHash<QThread *, QObject *> probes;
    std::shared_ptr<std::atomic<int>> probeAnswers = std::make_shared<std::atomic<int>>(0);
    int probesSent = 0;
    qint64 settingsReadsAtProbe = -1;
    bool probed = false;

    void trackThreadOf(Worker *worker)
    {
        QThread *thread = worker->thread();
        if (!thread || probes.contains(thread) || thread == QThread::currentThread())
            return;
        auto *probe = new QObject;
        probe->moveToThread(thread);
        probes.insert(thread, probe);
    }
};

void Service::addPending(const QString &name, int attempt)
{
    // The host forgets the old worker in a call of its own, which the worker's thread queues
    // right after it reports Stopped: until that call has run, the name is still taken and
    // addWorker() refuses (and deletes) the new worker. So build it from the config each time,
    // and try again shortly when refused.
    QTimer::singleShot(attempt == 0 ? 0 : 20, this, [this, name, attempt] {
        if (!d->pending.contains(name) || !d->host || !d->host->isRunning()) {
            d->pending.remove(name);
            return;
        }
        const WorkerConfig *config = d->config.worker(name);
        QString why;
        Worker *worker = config ? d->types.create(*config, d->config, &why) : nullptr;
        if (!worker) {
            d->pending.remove(name);
            qCWarning(lcHost, "cannot restart changed worker %s: %s", qPrintable(name),
                      qPrintable(why));
            return;
        }
        if (d->host->addWorker(worker, &why)) {
            d->pending.remove(name);
            d->trackThreadOf(worker);
        } else if (attempt < 250) {
            addPending(name, attempt + 1);
        } else {
            d->pending.remove(name);
            qCWarning(lcHost, "cannot restart changed worker %s: %s", qPrintable(name),
                      qPrintable(why));
        }
    });
}

Service::Service(QObject *parent)
    : QObject(parent)
    , d(std::make_unique<Private>())
{}

Service::~Service()
{
    d->host.reset();
    // The scheduler threads have finished; their probes can go.
    qDeleteAll(d->probes);
}

std::optional<Config> Service::loadConfig(const QString &filePath, QList<ConfigError> *errors)
{
    auto config = Config::load(filePath, allWorkerTypes(), errors);
    if (!config)
        return config;
    QList<ConfigError> found;
    auto check = [&](const QString &key, const QString &url) {
        const auto parsed = DatabaseUrl::parse(url);
        if (parsed.isOk())
            return;
        const SourcePosition at = config->positions.value(key);
        found.append(ConfigError{config->filePath, at.line, at.column,
                                 QStringLiteral("%1: %2").arg(key, parsed.errorString()),
                                 QStringLiteral("write sqlite:FILE (relative to this config) or "
                                                "postgresql://USER@HOST/DATABASE")});
    };
    if (!config->host.database.isEmpty())
        check(QStringLiteral("host.database"), config->host.database);
    for (auto it = config->connections.cbegin(); it != config->connections.cend(); ++it)
        check(QStringLiteral("connections.%1.url").arg(it.key()), it.value());
    if (found.isEmpty())
        return config;
    if (errors)
        errors->append(found);
    return std::nullopt;
}

QString Service::databaseUrl(const Config &config)
{
    QString url = config.host.database;
    if (!url.startsWith(QLatin1String("sqlite:")))
        return url;
    QString rest = url.mid(7);
    if (rest.startsWith(QLatin1String("//")))
        rest = rest.mid(2);
    const qsizetype query = rest.indexOf(QLatin1Char('?'));
    const QString path = query < 0 ? rest : rest.left(query);
    if (path.isEmpty() || QDir::isAbsolutePath(path))
        return url;
    return QStringLiteral("sqlite://") + config.resolvePath(path) +
           (query < 0 ? QString() : rest.mid(query));
}

DatabaseOptions Service::databaseOptions(const HostConfig &host)
{
    DatabaseOptions options;
    options.passwordEnvironmentVariable = host.passwordEnvironmentVariable;
    options.passwordFile = host.passwordFile;
    options.retention.maximumRunAge = host.runRetention;
    options.retention.maximumLogAge = host.logRetention;
    options.retention.maximumRuns = host.maximumRuns;
    options.retention.maximumLogLines = host.maximumLogLines;
    return options;
}

namespace {

/*!
    Whether another live process publishes itself as node \a nodeId in \a store: two
    processes under one node id would overwrite each other's heartbeat and worker states, and
    the cluster would show one node where two run. A process of this machine counts as live
    while its pid exists; one of another machine while its heartbeat is younger than three of
    its intervals (a node that crashed is free again after that). Returns the reason, or an
    empty string.
*/
QString nodeIdInUse(Store &store, const QString &nodeId)
{
    const auto nodes = store.nodes();
    if (!nodes.isOk())
        return QString(); // a database in trouble is reported by the host's own start
    const QString thisMachine = QSysInfo::machineHostName();
    const qint64 thisPid = QCoreApplication::applicationPid();
    for (const NodeInfo &node : nodes.value()) {
        if (node.id != nodeId || !node.heartbeatAt.isValid())
            continue;
        const qint64 interval = node.heartbeatIntervalMs > 0 ? node.heartbeatIntervalMs : 5000;
        const qint64 age = node.heartbeatAgeMs; // on the database clock
        if (node.hostName == thisMachine) {
            if (node.pid == thisPid)
                continue;
#ifdef Q_OS_UNIX
            if (node.pid > 0 && ::kill(pid_t(node.pid), 0) != 0 && errno == ESRCH)
                continue; // it died without signing off
#else
            if (age > 3 * interval)
                continue;
#endif
            return QStringLiteral("node id \"%1\" is in use by process %2 on this machine "
                                  "(last heartbeat %3 s ago)")
                .arg(nodeId)
                .arg(node.pid)
                .arg(double(qMax<qint64>(age, 0)) / 1000.0, 0, 'f', 1);
        }
        if (age <= 3 * interval)
            return QStringLiteral("node id \"%1\" is in use by process %2 on %3 (last "
                                  "heartbeat %4 s ago)")
                .arg(nodeId)
                .arg(node.pid)
                .arg(node.hostName)
                .arg(double(qMax<qint64>(age, 0)) / 1000.0, 0, 'f', 1);
    }
    return QString();
}

} // namespace

bool Service::start(const Config &config, const QString &databaseUrl, QString *error,
                    ErrorKind *kind)
{
    auto fail = [&](ErrorKind k, const QString &message) {
        if (error)
            *error = message;
        if (kind)
            *kind = k;
        d->host.reset();
        return false;
    };
    if (d->host)
        return fail(ErrorKind::Other, QStringLiteral("the service has started already"));
    const QString url = databaseUrl.isEmpty() ? Service::databaseUrl(config) : databaseUrl;
    if (url.isEmpty())
        return fail(ErrorKind::Config,
                    QStringLiteral("no database: set database in [host] or give --database URL"));
    const auto parsed = DatabaseUrl::parse(url);
    if (!parsed.isOk())
        return fail(ErrorKind::Config,
                    QStringLiteral("bad database URL: %1").arg(parsed.errorString()));
    d->displayUrl = parsed.value().toDisplayString();
    auto database = Database::open(url, databaseOptions(config.host));
    if (!database.isOk())
        return fail(ErrorKind::Database, QStringLiteral("cannot open the database %1: %2")
                                             .arg(d->displayUrl, database.errorString()));
    d->database = database.value();
    d->config = config;

    d->host = std::make_unique<Host>();
    Host *host = d->host.get();
    if (!config.host.nodeId.isEmpty())
        host->setNodeId(config.host.nodeId);
    host->setLockManager(d->database->lockManager());
    host->setStore(d->database->store());
    host->setShutdownTimeout(config.host.shutdownTimeout);
    host->setDeadNodeThreshold(config.host.deadAfter);
    host->setDeadNodeRetention(config.host.deadNodeRetention);
    host->setLeaseTimeToLive(config.locks.timeToLive);
    if (config.locks.renewInterval.count() > 0)
        host->setLeaseRenewInterval(config.locks.renewInterval);
    host->setEnabled(config.host.enabled);
    const QString inUse = nodeIdInUse(*d->database->store(), host->nodeId());
    if (!inUse.isEmpty()) {
        return fail(ErrorKind::Config,
                    QStringLiteral("%1: %2; give each process of the cluster a node id of its "
                                   "own (node_id in [host]), or stop the other one first")
                        .arg(config.filePath.isEmpty() ? QStringLiteral("config") : config.filePath,
                             inUse));
    }

    QList<Worker *> created;
    for (const WorkerConfig &w : config.workers) {
        QString why;
        Worker *worker = d->types.create(w, config, &why);
        if (!worker) {
            const SourcePosition at = w.position();
            return fail(ErrorKind::Config, QStringLiteral("%1:%2:%3: worker \"%4\": %5")
                                               .arg(config.filePath)
                                               .arg(at.line)
                                               .arg(at.column)
                                               .arg(w.name, why));
        }
        QString addError;
        if (!host->addWorker(worker, &addError))
            return fail(ErrorKind::Config, addError);
        created.append(worker);
    }
    connect(host, &Host::started, this, &Service::started);
    connect(host, &Host::stopped, this, &Service::stopped);
    connect(host, &Host::runFinished, this, &Service::runFinished);
    connect(host, &Host::workerStateChanged, this, [this](const QString &name, WorkerState state) {
        if (state == WorkerState::Stopped && d->pending.contains(name))
            addPending(name, 0);
    });
    host->start();
    for (Worker *worker : std::as_const(created))
        d->trackThreadOf(worker);
    return true;
}

bool Service::reload(const Config &config, ReloadSummary *summary, QString *error)
{
    if (!d->host || !d->host->isRunning()) {
        if (error)
            *error = QStringLiteral("the service is not running");
        return false;
    }
    ReloadSummary result;
    const Config &old = d->config;
    if (Service::databaseUrl(config) != Service::databaseUrl(old))
        result.ignored.append(QStringLiteral("host.database"));
    if (config.host.nodeId != old.host.nodeId)
        result.ignored.append(QStringLiteral("host.node_id"));
    if (config.locks.timeToLive != old.locks.timeToLive ||
        config.locks.renewInterval != old.locks.renewInterval)
        result.ignored.append(QStringLiteral("locks"));

    // Build every new and changed worker first: a failure changes nothing.
    QHash<QString, Worker *> fresh;
    auto discard = [&] { qDeleteAll(fresh); };
    for (const WorkerConfig &w : config.workers) {
        const WorkerConfig *before = old.worker(w.name);
        if (before && before->fingerprint == w.fingerprint) {
            result.kept.append(w.name);
            continue;
        }
        QString why;
        Worker *worker = d->types.create(w, config, &why);
        if (!worker) {
            discard();
            const SourcePosition at = w.position();
            if (error)
                *error = QStringLiteral("%1:%2:%3: worker \"%4\": %5")
                             .arg(config.filePath)
                             .arg(at.line)
                             .arg(at.column)
                             .arg(w.name, why);
            return false;
        }
        fresh.insert(w.name, worker);
        (before ? result.changed : result.added).append(w.name);
    }
    for (const WorkerConfig &w : old.workers) {
        if (!config.worker(w.name))
            result.removed.append(w.name);
    }

    Host *host = d->host.get();
    for (const QString &name : std::as_const(result.removed)) {
        d->pending.remove(name);
        host->removeWorker(name);
    }
    // A changed worker is built again from the new config once its old self has stopped.
    for (const QString &name : std::as_const(result.changed)) {
        delete fresh.take(name);
        const bool waiting = d->pending.contains(name);
        d->pending.insert(name);
        if (!waiting)
            host->removeWorker(name);
    }
    for (const QString &name : std::as_const(result.added)) {
        Worker *worker = fresh.take(name);
        QString why;
        if (host->addWorker(worker, &why))
            d->trackThreadOf(worker);
        else
            qCWarning(lcHost, "cannot add worker %s: %s", qPrintable(name), qPrintable(why));
    }
    host->setShutdownTimeout(config.host.shutdownTimeout);
    host->setDeadNodeThreshold(config.host.deadAfter);
    host->setDeadNodeRetention(config.host.deadNodeRetention);
    host->setEnabled(config.host.enabled);
    if (auto store = std::dynamic_pointer_cast<SqlStore>(host->store())) {
        const DatabaseOptions options = databaseOptions(config.host);
        store->setRetention(options.retention);
    }
    // What cannot change at run time stays as it was.
    const HostConfig keptHost = d->config.host;
    const LocksConfig keptLocks = d->config.locks;
    d->config = config;
    if (result.ignored.contains(QStringLiteral("host.database")))
        d->config.host.database = keptHost.database;
    if (result.ignored.contains(QStringLiteral("host.node_id")))
        d->config.host.nodeId = keptHost.nodeId;
    if (result.ignored.contains(QStringLiteral("locks")))
        d->config.locks = keptLocks;
    if (summary)
        *summary = result;
    return true;
}

void Service::stop()
{
    if (d->host)
        d->host->stop();
}

bool Service::isRunning() const
{
    return d->host && d->host->isRunning();
}

const Config &Service::config() const
{
    return d->config;
}

QString Service::databaseDisplayUrl() const
{
    return d->displayUrl;
}

Host *Service::host() const
{
    return d->host.get();
}

std::shared_ptr<Store> Service::store() const
{
    return d->host ? d->host->store() : nullptr;
}

std::shared_ptr<LockManager> Service::lockManager() const
{
    return d->host ? d->host->lockManager() : nullptr;
}

QStringList Service::unansweredProbes(milliseconds maximumDatabaseCall) const
{
    QStringList unanswered;
    if (!d->probed || !d->host)
        return unanswered;
    if (d->probeAnswers->load() < d->probesSent)
        unanswered.append(QStringLiteral("the scheduler threads"));
    if (auto store = std::dynamic_pointer_cast<SqlStore>(d->host->store())) {
        if (!store->isWriterAnswering(maximumDatabaseCall))
            unanswered.append(QStringLiteral("the store writer"));
        if (d->settingsReadsAtProbe >= 0 && store->settingsReadCount() <= d->settingsReadsAtProbe &&
            !store->isSettingsReadInProgress(maximumDatabaseCall))
            unanswered.append(QStringLiteral("the control thread"));
    }
    return unanswered;
}

void Service::probe()
{
    d->probed = true;
    d->probeAnswers->store(0);
    d->probesSent = int(d->probes.size());
    for (QObject *probe : std::as_const(d->probes)) {
        QMetaObject::invokeMethod(probe, [answers = d->probeAnswers] { ++*answers; });
    }
    d->settingsReadsAtProbe = -1;
    if (!d->host || !d->host->isRunning())
        return;
    if (auto store = std::dynamic_pointer_cast<SqlStore>(d->host->store())) {
        store->probeWriter();
        // The host's control thread re-reads the settings when told they changed: a round trip
        // through its event loop and the store.
        d->settingsReadsAtProbe = store->settingsReadCount();
        Q_EMIT store->workerSettingsChanged();
    }
}

} // namespace Warden
