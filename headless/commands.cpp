// The admin commands: read the store, change worker settings through AdminActions (audited
// with the OS user, the same code the console uses), and the offline helpers check-config
// and schedule.
#include "cli.h"

#include <warden/adminactions.h>
#include <warden/cronschedule.h>
#include <warden/lockmanager.h>
#include <warden/sql/database.h>
#include <warden/sql/databaseurl.h>
#include <warden/sql/service.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>
#include <warden/sql/sqlworkertype.h>
#include <warden/store.h>

#include <QtCore/QDir>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QMap>
#include <QtCore/QRegularExpression>
#include <QtCore/QTextStream>
#include <QtCore/QThread>
#include <QtCore/QTimeZone>

#include <cerrno>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <optional>

#ifdef Q_OS_UNIX
#include <fcntl.h>
#include <poll.h>
#include <unistd.h>
#endif

namespace Warden::Headless {

using namespace std::chrono;

QString configPath(const CommandLine &commandLine)
{
    if (commandLine.has(QStringLiteral("config")))
        return commandLine.value(QStringLiteral("config"));
    const QString fromEnvironment = qEnvironmentVariable("WARDEN_CONFIG");
    if (!fromEnvironment.isEmpty())
        return fromEnvironment;
#ifdef Q_OS_WIN
    return QDir(qEnvironmentVariable("ProgramData")).filePath(QStringLiteral("Warden/warden.toml"));
#else
    return QStringLiteral("/etc/warden/warden.toml");
#endif
}

namespace {

QJsonValue time(const QDateTime &t)
{
    return t.isValid() ? QJsonValue(t.toUTC().toString(Qt::ISODateWithMs)) : QJsonValue();
}

QString shortTime(const QDateTime &t)
{
    return t.isValid() ? t.toLocalTime().toString(QStringLiteral("yyyy-MM-dd HH:mm:ss"))
                       : QStringLiteral("-");
}

void printJson(const QJsonValue &value)
{
    const QByteArray text = value.isArray()
                                ? QJsonDocument(value.toArray()).toJson(QJsonDocument::Indented)
                                : QJsonDocument(value.toObject()).toJson(QJsonDocument::Indented);
    std::fwrite(text.constData(), 1, size_t(text.size()), stdout);
    std::fflush(stdout);
}

//! Prints rows as aligned columns; the last column is not padded.
void printTable(const QStringList &header, const QList<QStringList> &rows)
{
    QList<qsizetype> widths;
    for (const QString &h : header)
        widths.append(h.size());
    for (const QStringList &row : rows) {
        for (int i = 0; i < row.size() && i < widths.size(); ++i)
            widths[i] = qMax(widths[i], row.at(i).size());
    }
    auto line = [&](const QStringList &cells) {
        QString text;
        for (int i = 0; i < cells.size(); ++i)
            text += i + 1 < cells.size() ? cells.at(i).leftJustified(widths[i] + 2) : cells.at(i);
        print(text);
    };
    line(header);
    for (const QStringList &row : rows)
        line(row);
}

std::optional<Config> loadConfig(const QString &path, int *exitCode, bool quiet = false)
{
    QList<ConfigError> errors;
    auto config = Service::loadConfig(path, &errors);
    if (!config) {
        if (!quiet) {
            for (const ConfigError &e : std::as_const(errors))
                printError(e.toString());
        }
        *exitCode = ExitConfig;
    }
    return config;
}

//! The database of the admin commands; nullopt with the exit code set.
std::optional<Database> openDatabase(const CommandLine &commandLine, int *exitCode)
{
    QString url = commandLine.value(QStringLiteral("database"));
    DatabaseOptions options;
    if (url.isEmpty()) {
        const QString path = configPath(commandLine);
        if (!QFileInfo::exists(path)) {
            *exitCode = fail(
                ExitConfig,
                QStringLiteral("no config at %1: give --config FILE or --database URL").arg(path));
            return std::nullopt;
        }
        const auto config = loadConfig(path, exitCode);
        if (!config)
            return std::nullopt;
        url = Service::databaseUrl(*config);
        options = Service::databaseOptions(config->host);
        if (url.isEmpty()) {
            *exitCode = fail(ExitConfig, QStringLiteral("%1 sets no database in [host]; add "
                                                        "database = \"...\" or give --database URL")
                                             .arg(path));
            return std::nullopt;
        }
    }
    const auto parsed = DatabaseUrl::parse(url);
    if (!parsed.isOk()) {
        *exitCode = fail(commandLine.has(QStringLiteral("database")) ? ExitUsage : ExitConfig,
                         QStringLiteral("bad database URL: %1").arg(parsed.errorString()));
        return std::nullopt;
    }
    if (parsed.value().isSqlite() && !QFileInfo::exists(parsed.value().filePath())) {
        *exitCode = fail(ExitUnavailable,
                         QStringLiteral("database %1 does not exist; has `warden run` started "
                                        "with it yet?")
                             .arg(parsed.value().filePath()));
        return std::nullopt;
    }
    // Admin commands never change the schema: that is the service's job.
    options.isMigrating = false;
    options.applicationName = QStringLiteral("warden-cli");
    auto database = Database::open(url, options);
    if (!database.isOk()) {
        *exitCode =
            fail(ExitUnavailable, QStringLiteral("cannot open the database %1: %2\n  hint: %3")
                                      .arg(parsed.value().toDisplayString(), database.errorString(),
                                           databaseHint(commandLine.has(QStringLiteral("database"))
                                                            ? QString()
                                                            : configPath(commandLine))));
        return std::nullopt;
    }
    return database.value();
}

int storeError(const QString &what, const QString &error)
{
    return fail(ExitUnavailable, QStringLiteral("cannot read %1: %2").arg(what, error));
}

QJsonObject nodeJson(const NodeInfo &n)
{
    return QJsonObject{{QStringLiteral("id"), n.id},
                       {QStringLiteral("host_name"), n.hostName},
                       {QStringLiteral("pid"), n.pid},
                       {QStringLiteral("version"), n.version},
                       {QStringLiteral("started_at"), time(n.startedAt)},
                       {QStringLiteral("heartbeat_at"), time(n.heartbeatAt)},
                       {QStringLiteral("heartbeat_interval_ms"), n.heartbeatIntervalMs},
                       {QStringLiteral("dead_after_ms"), n.deadThresholdMs()},
                       {QStringLiteral("clock_offset_ms"), n.clockOffsetMs},
                       {QStringLiteral("alive"), n.isAlive()}};
}

bool isHeld(const Lease &l)
{
    return !l.holder.isEmpty() && l.expiresAt > QDateTime::currentDateTimeUtc();
}

QJsonObject leaseJson(const Lease &l)
{
    return QJsonObject{{QStringLiteral("name"), l.name},
                       {QStringLiteral("holder"), l.holder.isEmpty() ? QJsonValue() : l.holder},
                       {QStringLiteral("held"), isHeld(l)},
                       {QStringLiteral("fencing_token"), l.fencingToken},
                       {QStringLiteral("acquired_at"), time(l.acquiredAt)},
                       {QStringLiteral("renewed_at"), time(l.renewedAt)},
                       {QStringLiteral("expires_at"), time(l.expiresAt)}};
}

//! A string field; null when empty (the JSON output's rule: absent values are null).
QJsonValue orNull(const QString &text)
{
    return text.isEmpty() ? QJsonValue() : QJsonValue(text);
}

QJsonObject runJson(const RunRecord &r)
{
    return QJsonObject{{QStringLiteral("run_id"), r.runId},
                       {QStringLiteral("worker"), r.worker},
                       {QStringLiteral("node"), r.node},
                       {QStringLiteral("outcome"), toKeyword(r.outcome)},
                       {QStringLiteral("scheduled_at"), time(r.scheduledAt)},
                       {QStringLiteral("started_at"), time(r.startedAt)},
                       {QStringLiteral("finished_at"), time(r.finishedAt)},
                       {QStringLiteral("duration_ms"),
                        r.durationMs() < 0 ? QJsonValue() : QJsonValue(r.durationMs())},
                       {QStringLiteral("lateness_ms"), r.isManual() ? 0 : r.latenessMs()},
                       {QStringLiteral("manual"), r.isManual()},
                       {QStringLiteral("trigger"), toKeyword(r.trigger)},
                       {QStringLiteral("fencing_token"), r.fencingToken},
                       {QStringLiteral("error"), r.error.isEmpty() ? QJsonValue() : r.error}};
}

QString levelName(QtMsgType level)
{
    switch (level) {
    case QtDebugMsg:
        return QStringLiteral("debug");
    case QtInfoMsg:
        return QStringLiteral("info");
    case QtWarningMsg:
        return QStringLiteral("warning");
    case QtCriticalMsg:
        return QStringLiteral("error");
    case QtFatalMsg:
        return QStringLiteral("fatal");
    }
    return QStringLiteral("info");
}

QJsonObject logJson(const StoredLogLine &l)
{
    return QJsonObject{{QStringLiteral("id"), l.id},
                       {QStringLiteral("time"), time(l.line.time)},
                       {QStringLiteral("node"), l.line.node},
                       {QStringLiteral("worker"), orNull(l.line.worker)},
                       {QStringLiteral("run_id"), orNull(l.line.runId)},
                       {QStringLiteral("level"), levelName(l.line.level)},
                       {QStringLiteral("category"), l.line.category},
                       {QStringLiteral("message"), l.line.message}};
}

int parseCount(const CommandLine &cl, const QString &name, int fallback, int *out)
{
    if (!cl.has(name)) {
        *out = fallback;
        return 0;
    }
    bool ok = false;
    const int n = cl.value(name).toInt(&ok);
    if (!ok || n <= 0 || n > 1000000)
        return fail(
            ExitUsage,
            QStringLiteral("--%1 needs a positive number, not \"%2\"").arg(name, cl.value(name)));
    *out = n;
    return 0;
}

//! An ISO 8601 time (a zone-less one is local), or a duration from now ("2h").
QDateTime parseTime(const QString &text, QString *error)
{
    milliseconds duration{0};
    if (IntervalSchedule::parseDuration(text, &duration))
        return QDateTime::currentDateTimeUtc().addMSecs(duration.count());
    QDateTime t = QDateTime::fromString(text, Qt::ISODateWithMs);
    if (!t.isValid())
        t = QDateTime::fromString(text, Qt::ISODate);
    if (!t.isValid()) {
        *error = QStringLiteral("bad time \"%1\": give an ISO 8601 time such as "
                                "2026-05-01T08:00:00+02:00, or a duration such as 2h")
                     .arg(text);
        return QDateTime();
    }
    return t.toUTC();
}

QString formatWithOffset(const QDateTime &t, const QTimeZone &zone)
{
    const QDateTime local = t.toTimeZone(zone);
    const int offset = local.offsetFromUtc();
    const int minutes = qAbs(offset) / 60;
    return local.toString(QStringLiteral("yyyy-MM-ddTHH:mm:ss")) +
           QStringLiteral("%1%2:%3")
               .arg(offset < 0 ? QLatin1Char('-') : QLatin1Char('+'))
               .arg(minutes / 60, 2, 10, QLatin1Char('0'))
               .arg(minutes % 60, 2, 10, QLatin1Char('0'));
}

// --- offline commands -------------------------------------------------------------------

int checkConfig(const CommandLine &cl)
{
    // `warden check-config FILE` and `warden check-config --config FILE` are the same.
    const QString path = cl.operands.isEmpty() ? configPath(cl) : cl.operands.constFirst();
    QList<ConfigError> errors;
    const auto config = Service::loadConfig(path, &errors);
    if (cl.isJson()) {
        QJsonArray errorArray;
        for (const ConfigError &e : std::as_const(errors))
            errorArray.append(QJsonObject{{QStringLiteral("file"), e.file},
                                          {QStringLiteral("line"), e.line},
                                          {QStringLiteral("column"), e.column},
                                          {QStringLiteral("message"), e.message},
                                          {QStringLiteral("hint"), e.hint}});
        QJsonArray workers;
        if (config) {
            for (const WorkerConfig &w : config->workers) {
                const auto schedule = w.schedule();
                workers.append(
                    QJsonObject{{QStringLiteral("name"), w.name},
                                {QStringLiteral("type"), w.type},
                                {QStringLiteral("kind"), w.kind == Worker::Kind::Continuous
                                                             ? QStringLiteral("continuous")
                                                             : QStringLiteral("periodic")},
                                {QStringLiteral("schedule"),
                                 schedule ? QJsonValue(schedule->toString()) : QJsonValue()},
                                {QStringLiteral("lock_mode"), toKeyword(w.lockMode)},
                                {QStringLiteral("lock"),
                                 w.lockMode == LockMode::None
                                     ? QJsonValue()
                                     : QJsonValue(w.lockName.isEmpty() ? w.name : w.lockName)},
                                {QStringLiteral("enabled"), w.enabled}});
            }
        }
        printJson(QJsonObject{{QStringLiteral("file"), path},
                              {QStringLiteral("valid"), bool(config)},
                              {QStringLiteral("workers"), workers},
                              {QStringLiteral("errors"), errorArray}});
        return config ? ExitSuccess : ExitConfig;
    }
    if (!config) {
        for (const ConfigError &e : std::as_const(errors))
            printError(e.toString());
        printError(
            QStringLiteral("%1: %2 error(s); nothing was started").arg(path).arg(errors.size()));
        return ExitConfig;
    }
    QList<QStringList> rows;
    for (const WorkerConfig &w : config->workers) {
        const auto schedule = w.schedule();
        rows.append({w.name, w.type, schedule ? schedule->toString() : QStringLiteral("continuous"),
                     w.lockMode == LockMode::None
                         ? QStringLiteral("-")
                         : QStringLiteral("%1 (%2)").arg(w.lockName.isEmpty() ? w.name : w.lockName,
                                                         toKeyword(w.lockMode)),
                     w.enabled ? QStringLiteral("yes") : QStringLiteral("no")});
    }
    print(QStringLiteral("%1: valid, %2 worker(s)").arg(path).arg(config->workers.size()));
    if (!rows.isEmpty())
        printTable({QStringLiteral("WORKER"), QStringLiteral("TYPE"), QStringLiteral("SCHEDULE"),
                    QStringLiteral("LOCK"), QStringLiteral("ENABLED")},
                   rows);
    return ExitSuccess;
}

int schedule(const CommandLine &cl)
{
    if (cl.operands.size() != 1)
        return fail(ExitUsage, QStringLiteral("schedule needs one expression, for example: "
                                              "warden schedule \"0 3 * * *\" --tz Europe/Berlin"));
    const QString expression = cl.operands.first();
    int count = 0;
    if (const int code = parseCount(cl, QStringLiteral("count"), 5, &count))
        return code;
    QTimeZone zone = QTimeZone::systemTimeZone();
    const QString tz = cl.value(QStringLiteral("tz"));
    if (!tz.isEmpty()) {
        zone = tz == QLatin1String("UTC") ? QTimeZone::utc() : QTimeZone(tz.toUtf8());
        if (!zone.isValid())
            return fail(ExitUsage, QStringLiteral("unknown time zone \"%1\"; use an IANA name "
                                                  "such as Europe/Berlin, or UTC")
                                       .arg(tz));
    }
    QDateTime from = QDateTime::currentDateTimeUtc();
    if (cl.has(QStringLiteral("from"))) {
        QString error;
        from = parseTime(cl.value(QStringLiteral("from")), &error);
        if (!from.isValid())
            return fail(ExitUsage, error);
    }
    std::unique_ptr<Schedule> schedule;
    milliseconds interval{0};
    if (IntervalSchedule::parseDuration(expression, &interval)) {
        auto every = std::make_unique<IntervalSchedule>(interval);
        every->setAnchor(from);
        schedule = std::move(every);
        // The grid starts at --from: its first fire time is --from itself.
        from = from.addMSecs(-1);
    } else {
        const auto cron = CronSchedule::parse(expression, zone);
        if (!cron.isOk())
            return fail(ExitUsage, QStringLiteral("bad cron expression \"%1\": %2")
                                       .arg(expression, cron.errorString()));
        schedule = cron.value().clone();
    }
    const QList<QDateTime> times = schedule->nextFireTimes(from, count);
    if (cl.isJson()) {
        QJsonArray array;
        for (const QDateTime &t : times)
            array.append(formatWithOffset(t, zone));
        printJson(array);
        return ExitSuccess;
    }
    for (const QDateTime &t : times)
        print(formatWithOffset(t, zone));
    return ExitSuccess;
}

// --- store readers --------------------------------------------------------------------------

//! A worker's state as a view shows it: "node-dead" when its node is not alive.
QString shownState(const WorkerStatus &status)
{
    return status.isNodeAlive ? toKeyword(status.state) : QStringLiteral("node-dead");
}

//! The statuses of the nodes that have not signed off, with node liveness applied.
Result<QList<WorkerStatus>> clusterStatuses(Database &db)
{
    const auto statuses = db.store()->workerStatuses();
    if (!statuses.isOk())
        return statuses;
    const auto nodeList = db.store()->nodes();
    if (!nodeList.isOk())
        return Result<QList<WorkerStatus>>::failure(nodeList.errorString());
    return currentStatuses(statuses.value(), nodeList.value());
}

int workers(Database &db, const CommandLine &cl)
{
    const auto statuses = clusterStatuses(db);
    if (!statuses.isOk())
        return storeError(QStringLiteral("worker statuses"), statuses.errorString());
    const auto settings = db.store()->workerSettings();
    QHash<QString, WorkerSettings> byWorker;
    if (settings.isOk()) {
        for (const WorkerSettings &s : settings.value())
            byWorker.insert(s.worker, s);
    }
    const QDateTime now = QDateTime::currentDateTimeUtc();
    if (cl.isJson()) {
        QJsonArray array;
        for (const WorkerStatus &s : statuses.value()) {
            const WorkerSettings set = byWorker.value(s.worker);
            array.append(QJsonObject{
                {QStringLiteral("worker"), s.worker},
                {QStringLiteral("node"), s.node},
                {QStringLiteral("kind"), s.kind},
                {QStringLiteral("state"), shownState(s)},
                {QStringLiteral("node_alive"), s.isNodeAlive},
                {QStringLiteral("reported_state"), toKeyword(s.state)},
                {QStringLiteral("enabled"), s.enabled},
                {QStringLiteral("schedule"), orNull(s.schedule)},
                {QStringLiteral("lock_mode"), toKeyword(s.lockMode)},
                {QStringLiteral("lock"), s.lockName.isEmpty() ? QJsonValue() : s.lockName},
                {QStringLiteral("next_run_at"), s.isNodeAlive ? time(s.nextRunAt) : QJsonValue()},
                {QStringLiteral("last_run_at"), time(s.lastRunAt)},
                {QStringLiteral("last_outcome"),
                 s.lastDurationMs < 0 ? QJsonValue() : toKeyword(s.lastOutcome)},
                {QStringLiteral("last_duration_ms"),
                 s.lastDurationMs < 0 ? QJsonValue() : QJsonValue(s.lastDurationMs)},
                {QStringLiteral("last_error"), s.lastError.isEmpty() ? QJsonValue() : s.lastError},
                {QStringLiteral("run_count"), s.runCount},
                {QStringLiteral("failure_count"), s.failureCount},
                {QStringLiteral("skip_count"), s.skipCount},
                {QStringLiteral("paused_until"),
                 set.isPausedAt(now) ? time(set.pausedUntil) : QJsonValue()},
                {QStringLiteral("disabled_reason"),
                 (!set.enabled || set.isPausedAt(now)) && !set.reason.isEmpty() ? set.reason
                                                                                : QJsonValue()},
                {QStringLiteral("updated_at"), time(s.updatedAt)}});
        }
        printJson(array);
        return ExitSuccess;
    }
    QList<QStringList> rows;
    for (const WorkerStatus &s : statuses.value()) {
        const WorkerSettings set = byWorker.value(s.worker);
        QString state = s.isNodeAlive
                            ? toKeyword(s.state)
                            : QStringLiteral("node-dead (said %1)").arg(toKeyword(s.state));
        if (set.isPausedAt(now))
            state += QStringLiteral(" (paused until %1)").arg(shortTime(set.pausedUntil));
        rows.append(
            {s.worker, s.node, state,
             s.schedule.isEmpty() ? QStringLiteral("continuous") : s.schedule,
             s.lockMode == LockMode::None ? QStringLiteral("-") : toKeyword(s.lockMode),
             s.isNodeAlive ? shortTime(s.nextRunAt) : QStringLiteral("-"),
             s.lastDurationMs < 0
                 ? QStringLiteral("-")
                 : QStringLiteral("%1 %2 ms").arg(toKeyword(s.lastOutcome)).arg(s.lastDurationMs),
             QString::number(s.runCount)});
    }
    if (rows.isEmpty()) {
        print(QStringLiteral("no workers: no node is running (a node that stops leaves the "
                             "views; see warden runs for what ran)"));
        return ExitSuccess;
    }
    printTable({QStringLiteral("WORKER"), QStringLiteral("NODE"), QStringLiteral("STATE"),
                QStringLiteral("SCHEDULE"), QStringLiteral("LOCK"), QStringLiteral("NEXT RUN"),
                QStringLiteral("LAST RUN"), QStringLiteral("RUNS")},
               rows);
    return ExitSuccess;
}

int locks(Database &db, const CommandLine &cl)
{
    const auto leases = db.lockManager()->leases();
    if (!leases.isOk())
        return storeError(QStringLiteral("locks"), leases.errorString());
    if (cl.isJson()) {
        QJsonArray array;
        for (const Lease &l : leases.value())
            array.append(leaseJson(l));
        printJson(array);
        return ExitSuccess;
    }
    if (leases.value().isEmpty()) {
        print(QStringLiteral("no locks"));
        return ExitSuccess;
    }
    QList<QStringList> rows;
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const Lease &l : leases.value()) {
        rows.append({l.name, isHeld(l) ? l.holder : QStringLiteral("-"),
                     QString::number(l.fencingToken),
                     isHeld(l) ? QStringLiteral("in %1 s").arg(now.secsTo(l.expiresAt))
                               : QStringLiteral("free"),
                     shortTime(l.acquiredAt)});
    }
    printTable({QStringLiteral("LOCK"), QStringLiteral("HOLDER"), QStringLiteral("TOKEN"),
                QStringLiteral("EXPIRES"), QStringLiteral("ACQUIRED")},
               rows);
    return ExitSuccess;
}

int nodes(Database &db, const CommandLine &cl)
{
    const auto list = db.store()->nodes();
    if (!list.isOk())
        return storeError(QStringLiteral("nodes"), list.errorString());
    if (cl.isJson()) {
        QJsonArray array;
        for (const NodeInfo &n : list.value())
            array.append(nodeJson(n));
        printJson(array);
        return ExitSuccess;
    }
    if (list.value().isEmpty()) {
        print(QStringLiteral("no nodes are running"));
        return ExitSuccess;
    }
    QList<QStringList> rows;
    for (const NodeInfo &n : list.value())
        rows.append({n.id, n.hostName, QString::number(n.pid), n.version, shortTime(n.startedAt),
                     shortTime(n.heartbeatAt),
                     n.isAlive() ? QStringLiteral("alive") : QStringLiteral("silent"),
                     QStringLiteral("%1 ms").arg(n.clockOffsetMs)});
    printTable({QStringLiteral("NODE"), QStringLiteral("HOST"), QStringLiteral("PID"),
                QStringLiteral("VERSION"), QStringLiteral("STARTED"), QStringLiteral("HEARTBEAT"),
                QStringLiteral("STATE"), QStringLiteral("CLOCK OFFSET")},
               rows);
    return ExitSuccess;
}

int status(Database &db, const CommandLine &cl)
{
    const auto nodeList = db.store()->nodes();
    const auto reported = db.store()->workerStatuses();
    const auto leases = db.lockManager()->leases();
    if (!nodeList.isOk())
        return storeError(QStringLiteral("nodes"), nodeList.errorString());
    if (!reported.isOk())
        return storeError(QStringLiteral("worker statuses"), reported.errorString());
    if (!leases.isOk())
        return storeError(QStringLiteral("locks"), leases.errorString());
    const QList<WorkerStatus> statuses = currentStatuses(reported.value(), nodeList.value());
    int alive = 0;
    for (const NodeInfo &n : nodeList.value())
        alive += n.isAlive() ? 1 : 0;
    QMap<QString, int> byState;
    QStringList failing;
    for (const WorkerStatus &s : statuses) {
        ++byState[shownState(s)];
        if (s.lastDurationMs >= 0 && isFailure(s.lastOutcome))
            failing.append(QStringLiteral("%1@%2").arg(s.worker, s.node));
    }
    int held = 0;
    for (const Lease &l : leases.value())
        held += isHeld(l) ? 1 : 0;
    if (cl.isJson()) {
        QJsonObject states;
        for (auto it = byState.cbegin(); it != byState.cend(); ++it)
            states.insert(it.key(), it.value());
        QJsonObject nodesObject;
        nodesObject.insert(QStringLiteral("total"), nodeList.value().size());
        nodesObject.insert(QStringLiteral("alive"), alive);
        QJsonObject workersObject;
        workersObject.insert(QStringLiteral("total"), statuses.size());
        workersObject.insert(QStringLiteral("by_state"), states);
        workersObject.insert(QStringLiteral("last_run_failed"),
                             QJsonArray::fromStringList(failing));
        QJsonObject locksObject;
        locksObject.insert(QStringLiteral("total"), leases.value().size());
        locksObject.insert(QStringLiteral("held"), held);
        QJsonObject root;
        root.insert(QStringLiteral("database"), db.url().toDisplayString());
        root.insert(QStringLiteral("nodes"), nodesObject);
        root.insert(QStringLiteral("workers"), workersObject);
        root.insert(QStringLiteral("locks"), locksObject);
        printJson(root);
        return ExitSuccess;
    }
    print(QStringLiteral("database: %1").arg(db.url().toDisplayString()));
    print(QStringLiteral("nodes:    %1 (%2 alive)").arg(nodeList.value().size()).arg(alive));
    QStringList states;
    for (auto it = byState.cbegin(); it != byState.cend(); ++it)
        states.append(QStringLiteral("%1 %2").arg(it.value()).arg(it.key()));
    print(QStringLiteral("workers:  %1%2")
              .arg(statuses.size())
              .arg(states.isEmpty()
                       ? QString()
                       : QStringLiteral(" (%1)").arg(states.join(QStringLiteral(", ")))));
    print(QStringLiteral("locks:    %1 (%2 held)").arg(leases.value().size()).arg(held));
    if (!failing.isEmpty())
        print(QStringLiteral("failing:  %1").arg(failing.join(QStringLiteral(", "))));
    return ExitSuccess;
}

int runs(Database &db, const CommandLine &cl)
{
    RunQuery query;
    query.worker = cl.value(QStringLiteral("worker"));
    query.node = cl.value(QStringLiteral("node"));
    if (const int code = parseCount(cl, QStringLiteral("limit"), 20, &query.limit))
        return code;
    const auto list = db.store()->runs(query);
    if (!list.isOk())
        return storeError(QStringLiteral("runs"), list.errorString());
    if (cl.isJson()) {
        QJsonArray array;
        for (const RunRecord &r : list.value())
            array.append(runJson(r));
        printJson(array);
        return ExitSuccess;
    }
    if (list.value().isEmpty()) {
        print(QStringLiteral("no runs"));
        return ExitSuccess;
    }
    QList<QStringList> rows;
    for (const RunRecord &r : list.value())
        rows.append(
            {shortTime(r.startedAt), r.worker, r.node, toKeyword(r.outcome),
             r.durationMs() < 0 ? QStringLiteral("-") : QStringLiteral("%1 ms").arg(r.durationMs()),
             r.isManual() ? QStringLiteral("manual") : QStringLiteral("%1 ms").arg(r.latenessMs()),
             r.error});
    printTable({QStringLiteral("STARTED"), QStringLiteral("WORKER"), QStringLiteral("NODE"),
                QStringLiteral("OUTCOME"), QStringLiteral("DURATION"), QStringLiteral("LATE"),
                QStringLiteral("ERROR")},
               rows);
    return ExitSuccess;
}

#ifdef Q_OS_UNIX
int followSignalPipe[2] = {-1, -1};

void onFollowSignal(int)
{
    const int saved = errno;
    const char byte = 1;
    [[maybe_unused]] const ssize_t n = ::write(followSignalPipe[1], &byte, 1);
    errno = saved;
}
#endif

/*!
    Waits up to \a interval for the next look at the log. False when following should end:
    SIGINT or SIGTERM came, or whoever read stdout has gone (a closed pipe).
*/
bool waitToFollow(std::chrono::milliseconds interval)
{
#ifdef Q_OS_UNIX
    pollfd fds[2] = {{followSignalPipe[0], POLLIN, 0}, {STDOUT_FILENO, 0, 0}};
    int ready = 0;
    do {
        ready = ::poll(fds, 2, int(interval.count()));
    } while (ready < 0 && errno == EINTR);
    if (fds[0].revents)
        return false;
    // A pipe whose reader closed reports POLLERR; a terminal or a file reports nothing.
    return !(fds[1].revents & (POLLERR | POLLHUP | POLLNVAL));
#else
    QThread::msleep(quint32(interval.count()));
    return true;
#endif
}

bool isRunId(const QString &text)
{
    static const QRegularExpression uuid(QStringLiteral(
        "^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$"));
    return uuid.match(text).hasMatch();
}

int showRun(Database &db, const CommandLine &cl)
{
    RunQuery query;
    query.runId = cl.operands.at(1).toLower();
    query.limit = 1;
    const auto found = db.store()->runs(query);
    if (!found.isOk())
        return storeError(QStringLiteral("runs"), found.errorString());
    if (found.value().isEmpty())
        return fail(ExitNotFound,
                    QStringLiteral("no run with id %1 (it may have been trimmed by retention); "
                                   "see warden runs")
                        .arg(query.runId));
    const RunRecord run = found.value().first();
    LogQuery lines;
    lines.runId = run.runId;
    lines.limit = 10000;
    const auto log = db.store()->logLines(lines);
    if (!log.isOk())
        return storeError(QStringLiteral("log lines"), log.errorString());
    if (cl.isJson()) {
        QJsonObject object = runJson(run);
        QJsonArray array;
        for (const StoredLogLine &l : log.value())
            array.append(logJson(l));
        object.insert(QStringLiteral("log"), array);
        printJson(object);
        return ExitSuccess;
    }
    auto row = [](const QString &name, const QString &value) {
        print(QStringLiteral("%1 %2").arg(name + QLatin1Char(':'), -14).arg(value));
    };
    auto when = [](const QDateTime &t) {
        return t.isValid() ? t.toLocalTime().toString(Qt::ISODateWithMs) : QStringLiteral("-");
    };
    row(QStringLiteral("run"), run.runId);
    row(QStringLiteral("worker"), run.worker);
    row(QStringLiteral("node"), run.node);
    row(QStringLiteral("outcome"), toKeyword(run.outcome));
    row(QStringLiteral("trigger"), toKeyword(run.trigger));
    row(QStringLiteral("scheduled"), when(run.scheduledAt));
    row(QStringLiteral("started"), when(run.startedAt));
    row(QStringLiteral("finished"), when(run.finishedAt));
    row(QStringLiteral("duration"), run.durationMs() < 0
                                        ? QStringLiteral("- (still running)")
                                        : QStringLiteral("%1 ms").arg(run.durationMs()));
    row(QStringLiteral("late"),
        run.isManual() ? QStringLiteral("-") : QStringLiteral("%1 ms").arg(run.latenessMs()));
    row(QStringLiteral("fencing token"),
        run.fencingToken > 0 ? QString::number(run.fencingToken) : QStringLiteral("-"));
    row(QStringLiteral("error"), run.error.isEmpty() ? QStringLiteral("-") : run.error);
    print(QStringLiteral("log (%1 line(s)):").arg(log.value().size()));
    for (const StoredLogLine &l : log.value())
        print(QStringLiteral("  %1 %2 %3")
                  .arg(l.line.time.toLocalTime().toString(QStringLiteral("HH:mm:ss.zzz")),
                       levelName(l.line.level), l.line.message));
    return ExitSuccess;
}

int forgetNode(Database &db, const CommandLine &cl)
{
    const QString node = cl.operands.at(1);
    const auto list = db.store()->nodes();
    if (!list.isOk())
        return storeError(QStringLiteral("nodes"), list.errorString());
    const auto it = std::find_if(list.value().cbegin(), list.value().cend(),
                                 [&](const NodeInfo &n) { return n.id == node; });
    if (it == list.value().cend())
        return fail(ExitNotFound,
                    QStringLiteral("no node named \"%1\"; see warden nodes").arg(node));
    if (it->isAlive())
        return fail(ExitFailure,
                    QStringLiteral("node %1 is alive (heartbeat %2 s ago): refused; stop it "
                                   "first, or wait until it is silent")
                        .arg(node)
                        .arg(double(it->heartbeatAgeMs) / 1000.0, 0, 'f', 1));
    AdminActions actions(db.store(), db.lockManager(), QStringLiteral("warden"));
    const auto closed = actions.forgetNode(node, cl.value(QStringLiteral("reason")));
    if (!closed.isOk())
        return fail(ExitFailure,
                    QStringLiteral("cannot forget node %1: %2").arg(node, closed.errorString()));
    if (cl.isJson()) {
        printJson(QJsonObject{{QStringLiteral("node"), node},
                              {QStringLiteral("forgotten"), true},
                              {QStringLiteral("runs_closed_as_lost"), closed.value()}});
        return ExitSuccess;
    }
    print(
        QStringLiteral("forgot node %1 (%2 run(s) closed as lost)").arg(node).arg(closed.value()));
    return ExitSuccess;
}

int log(Database &db, const CommandLine &cl)
{
    LogQuery query;
    query.worker = cl.value(QStringLiteral("worker"));
    query.node = cl.value(QStringLiteral("node"));
    if (const int code = parseCount(cl, QStringLiteral("limit"), 50, &query.limit))
        return code;
    const bool follow = cl.has(QStringLiteral("follow"));
#ifdef Q_OS_UNIX
    if (follow) {
        // SIGINT and SIGTERM end the loop in an orderly way (exit 0); a closed pipe too, seen
        // by poll() or as a failed write (EPIPE, with SIGPIPE ignored).
        if (::pipe2(followSignalPipe, O_CLOEXEC | O_NONBLOCK) != 0)
            return fail(ExitFailure, QStringLiteral("log --follow: cannot create a pipe"));
        struct sigaction action = {};
        action.sa_handler = onFollowSignal;
        sigemptyset(&action.sa_mask);
        ::sigaction(SIGINT, &action, nullptr);
        ::sigaction(SIGTERM, &action, nullptr);
        std::signal(SIGPIPE, SIG_IGN);
    }
#endif
    auto show = [&](const QList<StoredLogLine> &lines) {
        for (const StoredLogLine &l : lines) {
            if (cl.isJson()) {
                // One object a line, so that --follow can stream.
                print(QString::fromUtf8(QJsonDocument(logJson(l)).toJson(QJsonDocument::Compact)));
            } else {
                print(QStringLiteral("%1 %2 %3%4 %5")
                          .arg(l.line.time.toLocalTime().toString(
                                   QStringLiteral("yyyy-MM-dd HH:mm:ss.zzz")),
                               l.line.node,
                               l.line.worker.isEmpty() ? QStringLiteral("-") : l.line.worker,
                               l.line.level == QtInfoMsg || l.line.level == QtDebugMsg
                                   ? QString()
                                   : QStringLiteral(" ") + levelName(l.line.level).toUpper() +
                                         QLatin1Char(':'),
                               l.line.message));
            }
            query.afterId = qMax(query.afterId, l.id);
        }
    };
    const auto first = db.store()->logLines(query);
    if (!first.isOk())
        return storeError(QStringLiteral("log lines"), first.errorString());
    show(first.value());
    // The store does not announce new log lines (PostgreSQL notifies only lease releases
    // and settings changes), so both backends are polled, once a second: new lines show up
    // within a second, and an idle follower wakes up once a second.
    while (follow && !std::ferror(stdout) && waitToFollow(std::chrono::seconds(1))) {
        query.limit = 1000;
        const auto more = db.store()->logLines(query);
        if (more.isOk())
            show(more.value());
    }
    return ExitSuccess;
}

// --- admin actions --------------------------------------------------------------------------

QJsonObject settingsJson(const WorkerSettings &s)
{
    return QJsonObject{{QStringLiteral("worker"), s.worker},
                       {QStringLiteral("enabled"), s.enabled},
                       {QStringLiteral("paused_until"), time(s.pausedUntil)},
                       {QStringLiteral("reason"), s.reason.isEmpty() ? QJsonValue() : s.reason},
                       {QStringLiteral("changed_by"), s.changedBy},
                       {QStringLiteral("changed_at"), time(s.changedAt)}};
}

//! Whether any node has published \a worker; a note on stderr when none has.
bool isKnownWorker(Database &db, const QString &worker)
{
    const auto statuses = db.store()->workerStatuses();
    if (!statuses.isOk())
        return true; // cannot tell; the action decides
    for (const WorkerStatus &s : statuses.value()) {
        if (s.worker == worker)
            return true;
    }
    return false;
}

int enableOrDisable(Database &db, const CommandLine &cl, bool enable)
{
    if (cl.operands.size() != 1)
        return fail(ExitUsage, QStringLiteral("%1 needs one worker name").arg(cl.command));
    const QString worker = cl.operands.first();
    QDateTime until;
    if (!enable && cl.has(QStringLiteral("until"))) {
        QString error;
        until = parseTime(cl.value(QStringLiteral("until")), &error);
        if (!until.isValid())
            return fail(ExitUsage, error);
    }
    if (!isKnownWorker(db, worker))
        printError(QStringLiteral("warden: note: no node runs a worker named \"%1\" now; the "
                                  "setting applies when one does")
                       .arg(worker));
    AdminActions actions(db.store(), db.lockManager(), QStringLiteral("warden"));
    const QString reason = cl.value(QStringLiteral("reason"));
    const auto result =
        enable ? actions.enable(worker, reason) : actions.disable(worker, reason, until);
    if (!result.isOk())
        return fail(
            ExitFailure,
            QStringLiteral("cannot %1 %2: %3").arg(cl.command, worker, result.errorString()));
    if (cl.isJson()) {
        printJson(settingsJson(result.value()));
        return ExitSuccess;
    }
    if (enable)
        print(QStringLiteral("enabled %1").arg(worker));
    else if (until.isValid())
        print(QStringLiteral("paused %1 until %2")
                  .arg(worker, formatWithOffset(until, QTimeZone::systemTimeZone())));
    else
        print(QStringLiteral("disabled %1").arg(worker));
    return ExitSuccess;
}

int trigger(Database &db, const CommandLine &cl)
{
    if (cl.operands.size() != 1)
        return fail(ExitUsage, QStringLiteral("trigger needs one worker name"));
    const QString worker = cl.operands.first();
    if (!isKnownWorker(db, worker))
        return fail(
            ExitFailure,
            QStringLiteral("no node runs a worker named \"%1\"; see warden workers").arg(worker));
    AdminActions actions(db.store(), db.lockManager(), QStringLiteral("warden"));
    const auto result = actions.trigger(worker);
    if (!result.isOk())
        return fail(ExitFailure,
                    QStringLiteral("cannot trigger %1: %2").arg(worker, result.errorString()));
    if (cl.isJson()) {
        printJson(QJsonObject{{QStringLiteral("worker"), worker},
                              {QStringLiteral("trigger_sequence"), result.value()}});
        return ExitSuccess;
    }
    print(QStringLiteral("requested a run of %1 (request %2); the node that may run it starts it "
                         "within its settings poll interval")
              .arg(worker)
              .arg(result.value()));
    return ExitSuccess;
}

int release(Database &db, const CommandLine &cl)
{
    if (cl.operands.size() != 1)
        return fail(ExitUsage, QStringLiteral("release needs one lock name"));
    const QString lock = cl.operands.first();
    const auto leases = db.lockManager()->leases();
    if (!leases.isOk())
        return storeError(QStringLiteral("locks"), leases.errorString());
    std::optional<Lease> lease;
    for (const Lease &l : leases.value()) {
        if (l.name == lock)
            lease = l;
    }
    if (!lease)
        return fail(ExitFailure,
                    QStringLiteral("no lock named \"%1\"; see warden locks").arg(lock));
    if (!isHeld(*lease)) {
        if (cl.isJson())
            printJson(QJsonObject{{QStringLiteral("lock"), lock},
                                  {QStringLiteral("released"), false},
                                  {QStringLiteral("previous_holder"), QJsonValue()},
                                  {QStringLiteral("fencing_token"), lease->fencingToken}});
        else
            print(QStringLiteral("lock %1 is not held; nothing to release").arg(lock));
        return ExitSuccess;
    }
    if (!cl.has(QStringLiteral("yes"))) {
        std::fprintf(
            stderr,
            "Release lock \"%s\" held by %s (fencing token %lld, expires in %lld s)?\n"
            "Its holder's run is cut short when it next renews. [y/N] ",
            lock.toLocal8Bit().constData(), lease->holder.toLocal8Bit().constData(),
            static_cast<long long>(lease->fencingToken),
            static_cast<long long>(QDateTime::currentDateTimeUtc().secsTo(lease->expiresAt)));
        std::fflush(stderr);
        char answer[16] = {};
        if (!std::fgets(answer, sizeof answer, stdin) || (answer[0] != 'y' && answer[0] != 'Y'))
            return fail(ExitFailure,
                        QStringLiteral("not released (use --yes to skip the question)"));
    }
    AdminActions actions(db.store(), db.lockManager(), QStringLiteral("warden"));
    const auto result = actions.release(lock, cl.value(QStringLiteral("reason")));
    if (!result.isOk())
        return fail(ExitFailure,
                    QStringLiteral("cannot release %1: %2").arg(lock, result.errorString()));
    if (cl.isJson()) {
        printJson(QJsonObject{{QStringLiteral("lock"), lock},
                              {QStringLiteral("released"), true},
                              {QStringLiteral("previous_holder"), result.value().holder},
                              {QStringLiteral("fencing_token"), result.value().fencingToken}});
        return ExitSuccess;
    }
    print(QStringLiteral("released %1 (was held by %2, fencing token %3)")
              .arg(lock, result.value().holder)
              .arg(result.value().fencingToken));
    return ExitSuccess;
}

} // namespace

int adminCommand(const CommandLine &cl)
{
    const QString &c = cl.command;
    if (c == QLatin1String("check-config")) {
        if (cl.operands.size() > 1 || (!cl.operands.isEmpty() && cl.has(QStringLiteral("config"))))
            return fail(ExitUsage, QStringLiteral("check-config checks one config: give FILE or "
                                                  "--config FILE, not both"));
        return checkConfig(cl);
    }
    if (c == QLatin1String("schedule"))
        return schedule(cl);
    const bool takesOperand = c == QLatin1String("enable") || c == QLatin1String("disable") ||
                              c == QLatin1String("trigger") || c == QLatin1String("release");
    // Sub-commands: `runs show RUN_ID`, `nodes forget NODE`.
    const bool subCommand =
        (c == QLatin1String("runs") || c == QLatin1String("nodes")) && !cl.operands.isEmpty();
    if (subCommand) {
        const QString expected =
            c == QLatin1String("runs") ? QStringLiteral("show") : QStringLiteral("forget");
        if (cl.operands.first() != expected || cl.operands.size() != 2)
            return fail(ExitUsage, QStringLiteral("usage: warden %1 %2 %3")
                                       .arg(c, expected,
                                            c == QLatin1String("runs") ? QStringLiteral("RUN_ID")
                                                                       : QStringLiteral("NODE")));
        if (c == QLatin1String("runs") && !isRunId(cl.operands.at(1)))
            return fail(ExitUsage,
                        QStringLiteral("\"%1\" is not a run id: a run id has 36 characters, "
                                       "hexadecimal digits in groups 8-4-4-4-12 (see warden runs "
                                       "--json)")
                            .arg(cl.operands.at(1)));
    }
    if (!takesOperand && !subCommand && !cl.operands.isEmpty())
        return fail(ExitUsage, QStringLiteral("%1 takes no arguments, but got \"%2\"")
                                   .arg(c, cl.operands.join(QLatin1Char(' '))));
    if (takesOperand && cl.operands.size() != 1)
        return fail(ExitUsage,
                    QStringLiteral("%1 needs exactly one name; see warden --help").arg(c));
    int limit = 0; // checked before the database is opened: a usage error comes first
    if (const int code = parseCount(cl, QStringLiteral("limit"), 1, &limit))
        return code;
    int exitCode = ExitFailure;
    auto db = openDatabase(cl, &exitCode);
    if (!db)
        return exitCode;
    if (c == QLatin1String("status"))
        return status(*db, cl);
    if (c == QLatin1String("workers"))
        return workers(*db, cl);
    if (c == QLatin1String("locks"))
        return locks(*db, cl);
    if (c == QLatin1String("nodes"))
        return subCommand ? forgetNode(*db, cl) : nodes(*db, cl);
    if (c == QLatin1String("runs"))
        return subCommand ? showRun(*db, cl) : runs(*db, cl);
    if (c == QLatin1String("log"))
        return log(*db, cl);
    if (c == QLatin1String("enable") || c == QLatin1String("disable"))
        return enableOrDisable(*db, cl, c == QLatin1String("enable"));
    if (c == QLatin1String("trigger"))
        return trigger(*db, cl);
    if (c == QLatin1String("release"))
        return release(*db, cl);
    return fail(ExitUsage, QStringLiteral("unknown command \"%1\"").arg(c));
}

} // namespace Warden::Headless
