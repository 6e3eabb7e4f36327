#include <warden/config.h>
#include <warden/cronschedule.h>
#include <warden/schedule.h>
#include <warden/workertyperegistry.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QTimeZone>

#include <toml++/toml.h>

#include <algorithm>
#include <sstream>

namespace Warden {

using namespace std::chrono;

QString ConfigError::toString() const
{
    QString text = file.isEmpty() ? QStringLiteral("<config>") : file;
    if (line > 0)
        text += QStringLiteral(":%1:%2").arg(line).arg(column);
    text += QStringLiteral(": error: ") + message;
    if (!hint.isEmpty())
        text += QStringLiteral("\n  hint: ") + hint;
    return text;
}

std::shared_ptr<const Schedule> WorkerConfig::schedule() const
{
    if (every.count() > 0)
        return std::make_shared<IntervalSchedule>(every);
    if (!cron.isEmpty()) {
        auto parsed = CronSchedule::parse(cron, timeZone);
        if (parsed.isOk())
            return std::make_shared<CronSchedule>(parsed.value());
    }
    return nullptr;
}

const WorkerConfig *Config::worker(const QString &name) const
{
    for (const WorkerConfig &w : workers) {
        if (w.name == name)
            return &w;
    }
    return nullptr;
}

QString Config::resolvePath(const QString &path) const
{
    if (path.isEmpty() || QDir::isAbsolutePath(path) || baseDirectory.isEmpty())
        return path;
    return QDir::cleanPath(QDir(baseDirectory).filePath(path));
}

namespace {

QString qs(std::string_view view)
{
    return QString::fromUtf8(view.data(), qsizetype(view.size()));
}

SourcePosition positionOf(const toml::source_region &region)
{
    return SourcePosition{int(region.begin.line), int(region.begin.column)};
}

int editDistance(const QString &a, const QString &b)
{
    QList<int> previous(b.size() + 1);
    QList<int> current(b.size() + 1);
    for (int j = 0; j <= b.size(); ++j)
        previous[j] = j;
    for (int i = 1; i <= a.size(); ++i) {
        current[0] = i;
        for (int j = 1; j <= b.size(); ++j) {
            const int cost = a.at(i - 1) == b.at(j - 1) ? 0 : 1;
            current[j] = std::min({previous[j] + 1, current[j - 1] + 1, previous[j - 1] + cost});
        }
        std::swap(previous, current);
    }
    return previous[b.size()];
}

QString suggestion(const QString &word, const QStringList &choices)
{
    QString best;
    int bestDistance = 3;
    for (const QString &choice : choices) {
        const int distance = editDistance(word.toLower(), choice.toLower());
        if (distance < bestDistance) {
            bestDistance = distance;
            best = choice;
        }
    }
    return best;
}

QString typeName(const toml::node &node)
{
    switch (node.type()) {
    case toml::node_type::string:
        return QStringLiteral("a string");
    case toml::node_type::integer:
        return QStringLiteral("an integer");
    case toml::node_type::floating_point:
        return QStringLiteral("a floating-point number");
    case toml::node_type::boolean:
        return QStringLiteral("a boolean");
    case toml::node_type::array:
        return QStringLiteral("an array");
    case toml::node_type::table:
        return QStringLiteral("a table");
    case toml::node_type::date:
    case toml::node_type::time:
    case toml::node_type::date_time:
        return QStringLiteral("a date or time");
    default:
        return QStringLiteral("nothing");
    }
}

QVariant toVariant(const toml::node &node)
{
    if (const auto *s = node.as_string())
        return qs(s->get());
    if (const auto *i = node.as_integer())
        return QVariant::fromValue(qint64(i->get()));
    if (const auto *f = node.as_floating_point())
        return f->get();
    if (const auto *b = node.as_boolean())
        return b->get();
    if (const auto *a = node.as_array()) {
        QVariantList list;
        for (const toml::node &element : *a)
            list.append(toVariant(element));
        return list;
    }
    if (const auto *t = node.as_table()) {
        QVariantMap map;
        for (auto &&[key, value] : *t)
            map.insert(qs(key.str()), toVariant(value));
        return map;
    }
    std::ostringstream out;
    if (const auto *d = node.as_date())
        out << d->get();
    else if (const auto *tm = node.as_time())
        out << tm->get();
    else if (const auto *dt = node.as_date_time())
        out << dt->get();
    return QString::fromStdString(out.str());
}

class Loader
{
public:
    Loader(const QString &fileName, const WorkerTypeRegistry &types, QList<ConfigError> *errors)
        : m_file(fileName)
        , m_types(types)
        , m_errors(errors)
    {}

    std::optional<Config> load(const QByteArray &text);

private:
    void error(const SourcePosition &at, const QString &message, const QString &hint = QString())
    {
        ++m_errorCount;
        if (m_errors)
            m_errors->append(ConfigError{m_file, at.line, at.column, message, hint});
    }
    void error(const toml::node &at, const QString &message, const QString &hint = QString())
    {
        error(positionOf(at.source()), message, hint);
    }
    void unknownKey(const toml::key &key, const QString &where, const QStringList &known)
    {
        const QString name = qs(key.str());
        const QString close = suggestion(name, known);
        error(positionOf(key.source()), QStringLiteral("unknown key \"%1\" in %2").arg(name, where),
              close.isEmpty() ? QStringLiteral("remove it; the keys allowed here are: %1")
                                    .arg(known.join(QStringLiteral(", ")))
                              : QStringLiteral("did you mean \"%1\"?").arg(close));
    }

    std::optional<QString> string(const toml::node &node, const QString &what);
    std::optional<bool> boolean(const toml::node &node, const QString &what);
    std::optional<qint64> integer(const toml::node &node, const QString &what);
    std::optional<milliseconds> duration(const toml::node &node, const QString &what);
    std::optional<QVariant> typed(const toml::node &node, WorkerTypeRegistry::ValueType type,
                                  const QString &what);

    void loadHost(const toml::table &table, Config &config);
    void loadLocks(const toml::table &table, Config &config);
    void loadHttp(const toml::table &table, Config &config);
    void loadConnections(const toml::table &table, Config &config);
    void loadWorker(const QString &name, const toml::key &key, const toml::table &table,
                    Config &config);

    QString m_file;
    const WorkerTypeRegistry &m_types;
    QList<ConfigError> *m_errors;
    int m_errorCount = 0;
};

std::optional<QString> Loader::string(const toml::node &node, const QString &what)
{
    if (const auto *s = node.as_string())
        return qs(s->get());
    error(node, QStringLiteral("%1 must be a string, not %2").arg(what, typeName(node)),
          QStringLiteral("put the value in double quotes"));
    return std::nullopt;
}

std::optional<bool> Loader::boolean(const toml::node &node, const QString &what)
{
    if (const auto *b = node.as_boolean())
        return b->get();
    error(node, QStringLiteral("%1 must be true or false, not %2").arg(what, typeName(node)),
          QStringLiteral("write true or false without quotes"));
    return std::nullopt;
}

std::optional<qint64> Loader::integer(const toml::node &node, const QString &what)
{
    if (const auto *i = node.as_integer())
        return qint64(i->get());
    error(node, QStringLiteral("%1 must be an integer, not %2").arg(what, typeName(node)),
          QStringLiteral("write a whole number without quotes"));
    return std::nullopt;
}

std::optional<milliseconds> Loader::duration(const toml::node &node, const QString &what)
{
    const QString hint = QStringLiteral(
        "write a duration as a string of parts such as \"250ms\", \"90s\", \"10m\", \"1h30m\" "
        "or \"2d\"");
    const auto *s = node.as_string();
    if (!s) {
        error(node,
              QStringLiteral("%1 must be a duration string, not %2").arg(what, typeName(node)),
              hint);
        return std::nullopt;
    }
    milliseconds value{0};
    QString why;
    if (!IntervalSchedule::parseDuration(qs(s->get()), &value, &why)) {
        error(node, QStringLiteral("%1: bad duration \"%2\": %3").arg(what, qs(s->get()), why),
              hint);
        return std::nullopt;
    }
    return value;
}

std::optional<QVariant> Loader::typed(const toml::node &node, WorkerTypeRegistry::ValueType type,
                                      const QString &what)
{
    using VT = WorkerTypeRegistry::ValueType;
    switch (type) {
    case VT::String:
        if (auto v = string(node, what))
            return QVariant(*v);
        return std::nullopt;
    case VT::Boolean:
        if (auto v = boolean(node, what))
            return QVariant(*v);
        return std::nullopt;
    case VT::Integer:
        if (auto v = integer(node, what))
            return QVariant::fromValue(*v);
        return std::nullopt;
    case VT::Duration:
        if (auto v = duration(node, what))
            return QVariant::fromValue(qint64(v->count()));
        return std::nullopt;
    case VT::StringOrList:
        if (node.is_string())
            return QVariant(qs(node.as_string()->get()));
        Q_FALLTHROUGH();
    case VT::StringList: {
        const auto *array = node.as_array();
        if (!array) {
            error(
                node,
                QStringLiteral("%1 must be an array of strings, not %2").arg(what, typeName(node)),
                QStringLiteral("write it as [\"first\", \"second\"]"));
            return std::nullopt;
        }
        QStringList list;
        for (const toml::node &element : *array) {
            if (!element.is_string()) {
                error(element,
                      QStringLiteral("%1: every element must be a string, not %2")
                          .arg(what, typeName(element)),
                      QStringLiteral("put each element in double quotes"));
                return std::nullopt;
            }
            list.append(qs(element.as_string()->get()));
        }
        return QVariant(list);
    }
    case VT::StringMap: {
        const auto *table = node.as_table();
        if (!table) {
            error(node, QStringLiteral("%1 must be a table, not %2").arg(what, typeName(node)),
                  QStringLiteral("write it as { NAME = \"value\" }"));
            return std::nullopt;
        }
        QVariantMap map;
        for (auto &&[key, value] : *table) {
            if (!value.is_string()) {
                error(value,
                      QStringLiteral("%1.%2 must be a string, not %3")
                          .arg(what, qs(key.str()), typeName(value)),
                      QStringLiteral("put the value in double quotes"));
                return std::nullopt;
            }
            map.insert(qs(key.str()), qs(value.as_string()->get()));
        }
        return QVariant(map);
    }
    }
    return std::nullopt;
}

void Loader::loadHost(const toml::table &table, Config &config)
{
    static const QStringList known = {QStringLiteral("node_id"),
                                      QStringLiteral("database"),
                                      QStringLiteral("password_env"),
                                      QStringLiteral("password_file"),
                                      QStringLiteral("shutdown_timeout"),
                                      QStringLiteral("enabled"),
                                      QStringLiteral("log_level"),
                                      QStringLiteral("run_retention"),
                                      QStringLiteral("log_retention"),
                                      QStringLiteral("max_runs"),
                                      QStringLiteral("max_log_lines"),
                                      QStringLiteral("dead_after"),
                                      QStringLiteral("dead_node_retention")};
    HostConfig &host = config.host;
    for (auto &&[key, node] : table) {
        const QString name = qs(key.str());
        const QString what = QStringLiteral("host.") + name;
        if (name == QLatin1String("node_id")) {
            if (auto v = string(node, what)) {
                QString why;
                if (!Worker::isValidName(*v, &why))
                    error(node, QStringLiteral("host.node_id: %1").arg(why),
                          QStringLiteral("use letters, digits, '.', '_' and '-' only"));
                else
                    host.nodeId = *v;
            }
        } else if (name == QLatin1String("database")) {
            if (auto v = string(node, what)) {
                host.database = *v;
                config.positions.insert(what, positionOf(node.source()));
            }
        } else if (name == QLatin1String("password_env")) {
            if (auto v = string(node, what))
                host.passwordEnvironmentVariable = *v;
        } else if (name == QLatin1String("password_file")) {
            if (auto v = string(node, what))
                host.passwordFile = config.resolvePath(*v);
        } else if (name == QLatin1String("shutdown_timeout")) {
            if (auto v = duration(node, what))
                host.shutdownTimeout = *v;
        } else if (name == QLatin1String("enabled")) {
            if (auto v = boolean(node, what))
                host.enabled = *v;
        } else if (name == QLatin1String("log_level")) {
            static const QStringList levels = {QStringLiteral("debug"), QStringLiteral("info"),
                                               QStringLiteral("warning"), QStringLiteral("error")};
            if (auto v = string(node, what)) {
                if (!levels.contains(*v))
                    error(node, QStringLiteral("host.log_level: unknown level \"%1\"").arg(*v),
                          QStringLiteral("use one of: %1").arg(levels.join(QStringLiteral(", "))));
                else
                    host.logLevel = *v;
            }
        } else if (name == QLatin1String("run_retention")) {
            if (auto v = duration(node, what))
                host.runRetention = *v;
        } else if (name == QLatin1String("log_retention")) {
            if (auto v = duration(node, what))
                host.logRetention = *v;
        } else if (name == QLatin1String("dead_after")) {
            if (auto v = duration(node, what)) {
                // Two heartbeats (5 s each) may be late without the node counting as dead.
                if (*v < std::chrono::seconds(10))
                    error(node, QStringLiteral("host.dead_after must be at least 10s"),
                          QStringLiteral("a node sends a heartbeat every 5s; a shorter "
                                         "threshold counts live nodes as dead and closes their "
                                         "runs as lost; leave it out for 15s"));
                else
                    host.deadAfter = *v;
            }
        } else if (name == QLatin1String("dead_node_retention")) {
            const auto *s = node.as_string();
            if (s && qs(s->get()).trimmed() == QLatin1String("never"))
                host.deadNodeRetention = milliseconds(0);
            else if (auto v = duration(node, what))
                host.deadNodeRetention = *v;
        } else if (name == QLatin1String("max_runs") || name == QLatin1String("max_log_lines")) {
            if (auto v = integer(node, what)) {
                if (*v < 0)
                    error(node, QStringLiteral("%1 must not be negative").arg(what),
                          QStringLiteral("use 0 for no limit"));
                else if (name == QLatin1String("max_runs"))
                    host.maximumRuns = *v;
                else
                    host.maximumLogLines = *v;
            }
        } else {
            unknownKey(key, QStringLiteral("[host]"), known);
        }
    }
}

void Loader::loadLocks(const toml::table &table, Config &config)
{
    static const QStringList known = {QStringLiteral("ttl"), QStringLiteral("renew_interval")};
    const toml::node *ttlNode = nullptr;
    for (auto &&[key, node] : table) {
        const QString name = qs(key.str());
        if (name == QLatin1String("ttl")) {
            ttlNode = &node;
            if (auto v = duration(node, QStringLiteral("locks.ttl"))) {
                if (v->count() < 1000)
                    error(node, QStringLiteral("locks.ttl must be at least 1s"),
                          QStringLiteral("a lease shorter than a second renews too often to be "
                                         "safe; 30s is a good start"));
                else
                    config.locks.timeToLive = *v;
            }
        } else if (name == QLatin1String("renew_interval")) {
            if (auto v = duration(node, QStringLiteral("locks.renew_interval")))
                config.locks.renewInterval = *v;
        } else {
            unknownKey(key, QStringLiteral("[locks]"), known);
        }
    }
    if (config.locks.renewInterval.count() > 0 &&
        config.locks.renewInterval * 2 > config.locks.timeToLive) {
        const toml::node *at = table.get("renew_interval");
        error(at ? positionOf(at->source())
                 : (ttlNode ? positionOf(ttlNode->source()) : positionOf(table.source())),
              QStringLiteral("locks.renew_interval (%1) must be at most half of locks.ttl (%2)")
                  .arg(IntervalSchedule::formatDuration(config.locks.renewInterval),
                       IntervalSchedule::formatDuration(config.locks.timeToLive)),
              QStringLiteral("leave renew_interval out to renew every third of the ttl"));
    }
}

void Loader::loadHttp(const toml::table &table, Config &config)
{
    static const QStringList known = {QStringLiteral("enabled"), QStringLiteral("address"),
                                      QStringLiteral("port")};
    config.http.isEnabled = true;
    for (auto &&[key, node] : table) {
        const QString name = qs(key.str());
        if (name == QLatin1String("enabled")) {
            if (auto v = boolean(node, QStringLiteral("http.enabled")))
                config.http.isEnabled = *v;
        } else if (name == QLatin1String("address")) {
            if (auto v = string(node, QStringLiteral("http.address")))
                config.http.address = *v;
        } else if (name == QLatin1String("port")) {
            if (auto v = integer(node, QStringLiteral("http.port"))) {
                if (*v < 0 || *v > 65535)
                    error(node, QStringLiteral("http.port %1 is outside 0-65535").arg(*v),
                          QStringLiteral("9464 is the usual port of an exporter; 0 picks a free "
                                         "one"));
                else
                    config.http.port = int(*v);
            }
        } else {
            unknownKey(key, QStringLiteral("[http]"), known);
        }
    }
}

void Loader::loadConnections(const toml::table &table, Config &config)
{
    for (auto &&[key, node] : table) {
        const QString name = qs(key.str());
        const auto *connection = node.as_table();
        if (!connection) {
            error(
                node,
                QStringLiteral("connections.%1 must be a table, not %2").arg(name, typeName(node)),
                QStringLiteral("write it as [connections.%1] with url = \"...\"").arg(name));
            continue;
        }
        bool haveUrl = false;
        for (auto &&[ckey, cnode] : *connection) {
            if (qs(ckey.str()) == QLatin1String("url")) {
                if (auto v = string(cnode, QStringLiteral("connections.%1.url").arg(name))) {
                    QString url = *v;
                    // Relative SQLite files are relative to the config file, like other paths.
                    for (const QLatin1String prefix :
                         {QLatin1String("sqlite://"), QLatin1String("sqlite:")}) {
                        if (url.startsWith(prefix)) {
                            const QString path = url.mid(prefix.size());
                            if (!path.startsWith(QLatin1Char('/')))
                                url = QStringLiteral("sqlite://") + config.resolvePath(path);
                            break;
                        }
                    }
                    config.connections.insert(name, url);
                    config.positions.insert(QStringLiteral("connections.%1.url").arg(name),
                                            positionOf(cnode.source()));
                    haveUrl = true;
                }
            } else {
                unknownKey(ckey, QStringLiteral("[connections.%1]").arg(name),
                           {QStringLiteral("url")});
            }
        }
        if (!haveUrl && !connection->contains("url"))
            error(*connection, QStringLiteral("connections.%1 has no url").arg(name),
                  QStringLiteral("add url = \"sqlite:app.db\" or a postgresql:// URL"));
    }
}

void Loader::loadWorker(const QString &name, const toml::key &nameKey, const toml::table &table,
                        Config &config)
{
    static const QStringList common = {
        QStringLiteral("type"),      QStringLiteral("every"),      QStringLiteral("cron"),
        QStringLiteral("timezone"),  QStringLiteral("continuous"), QStringLiteral("lock"),
        QStringLiteral("lock_mode"), QStringLiteral("timeout"),    QStringLiteral("misfire"),
        QStringLiteral("catch_up"),  QStringLiteral("enabled")};
    const int errorsBefore = m_errorCount;
    WorkerConfig worker;
    worker.name = name;
    worker.positions.insert(QString(), positionOf(table.source()));
    const QString where = QStringLiteral("worker \"%1\"").arg(name);
    QString why;
    if (!Worker::isValidName(name, &why))
        error(positionOf(nameKey.source()), QStringLiteral("bad worker name: %1").arg(why),
              QStringLiteral("use letters, digits, '.', '_' and '-' only, at most 128"));

    // The type first: it decides which other keys are allowed.
    const WorkerTypeRegistry::Type *type = nullptr;
    if (const toml::node *typeNode = table.get("type")) {
        worker.positions.insert(QStringLiteral("type"), positionOf(typeNode->source()));
        if (auto v = string(*typeNode, where + QStringLiteral(": type"))) {
            worker.type = *v;
            type = m_types.type(*v);
            if (!type) {
                const QString close = suggestion(*v, m_types.typeNames());
                error(*typeNode, QStringLiteral("%1: unknown type \"%2\"").arg(where, *v),
                      close.isEmpty() ? QStringLiteral("use one of: %1")
                                            .arg(m_types.typeNames().join(QStringLiteral(", ")))
                                      : QStringLiteral("did you mean \"%1\"?").arg(close));
            }
        }
    } else {
        error(table, QStringLiteral("%1 has no type").arg(where),
              QStringLiteral("add type = \"%1\"")
                  .arg(m_types.typeNames().join(QStringLiteral("\", \""))));
    }

    bool continuous = false;
    bool haveLock = false;
    bool lockModeGiven = false;
    LockMode lockMode = LockMode::PerRun;
    const toml::node *lockModeNode = nullptr;
    QStringList periodicOnly;
    for (auto &&[key, node] : table) {
        const QString k = qs(key.str());
        const QString what = where + QStringLiteral(": ") + k;
        worker.positions.insert(k, positionOf(node.source()));
        if (k == QLatin1String("type")) {
            continue;
        } else if (k == QLatin1String("every")) {
            if (auto v = duration(node, what))
                worker.every = *v;
        } else if (k == QLatin1String("cron")) {
            if (auto v = string(node, what))
                worker.cron = *v;
        } else if (k == QLatin1String("timezone")) {
            if (auto v = string(node, what)) {
                worker.timeZone = *v;
                if (*v != QLatin1String("UTC") && !QTimeZone(v->toUtf8()).isValid())
                    error(node, QStringLiteral("%1: unknown time zone \"%2\"").arg(what, *v),
                          QStringLiteral("use an IANA name such as \"Europe/Berlin\" or \"UTC\""));
            }
        } else if (k == QLatin1String("continuous")) {
            if (auto v = boolean(node, what))
                continuous = *v;
        } else if (k == QLatin1String("lock")) {
            if (node.is_boolean()) {
                haveLock = node.as_boolean()->get();
            } else if (node.is_string()) {
                const QString lockName = qs(node.as_string()->get());
                bool printable = !lockName.isEmpty() && lockName.size() <= 200;
                for (const QChar c : lockName)
                    printable = printable && c.isPrint();
                if (!printable)
                    error(node, QStringLiteral("%1: bad lock name \"%2\"").arg(what, lockName),
                          QStringLiteral("use 1 to 200 printable characters"));
                haveLock = true;
                worker.lockName = lockName;
            } else {
                error(node,
                      QStringLiteral("%1 must be true, false or a lock name, not %2")
                          .arg(what, typeName(node)),
                      QStringLiteral("lock = true locks on a lock named after the worker"));
            }
        } else if (k == QLatin1String("lock_mode")) {
            lockModeNode = &node;
            if (auto v = string(node, what)) {
                lockModeGiven = true;
                if (*v == QLatin1String("per-run"))
                    lockMode = LockMode::PerRun;
                else if (*v == QLatin1String("leader"))
                    lockMode = LockMode::Leader;
                else
                    error(node, QStringLiteral("%1: unknown mode \"%2\"").arg(what, *v),
                          QStringLiteral("use \"per-run\" (one node runs each tick) or "
                                         "\"leader\" (one node runs the worker, others stand by)"));
            }
        } else if (k == QLatin1String("timeout")) {
            periodicOnly.append(k);
            if (auto v = duration(node, what))
                worker.timeout = *v;
        } else if (k == QLatin1String("misfire")) {
            periodicOnly.append(k);
            if (auto v = string(node, what)) {
                if (*v == QLatin1String("run-once"))
                    worker.misfire = MisfirePolicy::RunOnce;
                else if (*v == QLatin1String("skip"))
                    worker.misfire = MisfirePolicy::Skip;
                else
                    error(node, QStringLiteral("%1: unknown policy \"%2\"").arg(what, *v),
                          QStringLiteral("use \"run-once\" or \"skip\""));
            }
        } else if (k == QLatin1String("catch_up")) {
            periodicOnly.append(k);
            if (auto v = boolean(node, what))
                worker.catchUp = *v;
        } else if (k == QLatin1String("enabled")) {
            if (auto v = boolean(node, what))
                worker.enabled = *v;
        } else if (type) {
            const auto declared =
                std::find_if(type->keys.cbegin(), type->keys.cend(),
                             [&](const WorkerTypeRegistry::Key &spec) { return spec.name == k; });
            if (declared != type->keys.cend()) {
                if (auto v = typed(node, declared->type, what))
                    worker.settings.insert(k, *v);
            } else if (type->acceptsOtherKeys) {
                worker.settings.insert(k, toVariant(node));
            } else {
                QStringList known = common;
                for (const auto &spec : type->keys)
                    known.append(spec.name);
                unknownKey(key, QStringLiteral("%1 (type %2)").arg(where, type->name), known);
            }
        }
    }

    // How the keys fit together.
    const int schedules = (worker.every.count() > 0 ? 1 : 0) + (table.contains("cron") ? 1 : 0) +
                          (continuous ? 1 : 0);
    if (schedules == 0 && m_errorCount == errorsBefore) {
        error(table, QStringLiteral("%1 has no schedule").arg(where),
              QStringLiteral("add every = \"10m\", or cron = \"0 3 * * *\", or continuous = true "
                             "for a worker that runs all the time"));
    } else if (schedules > 1) {
        error(table.contains("cron") ? *table.get("cron") : static_cast<const toml::node &>(table),
              QStringLiteral("%1 has more than one of every, cron and continuous").arg(where),
              QStringLiteral("keep exactly one of them"));
    }
    if (!worker.timeZone.isEmpty() && worker.cron.isEmpty())
        error(*table.get("timezone"), QStringLiteral("%1: timezone needs cron").arg(where),
              QStringLiteral("a timezone only applies to a cron schedule; remove it or add cron"));
    const bool badZone = !worker.timeZone.isEmpty() && worker.timeZone != QLatin1String("UTC") &&
                         !QTimeZone(worker.timeZone.toUtf8()).isValid();
    if (!worker.cron.isEmpty() && !badZone) {
        const auto parsed = CronSchedule::parse(worker.cron, worker.timeZone);
        if (!parsed.isOk())
            error(*table.get("cron"),
                  QStringLiteral("%1: bad cron expression \"%2\": %3")
                      .arg(where, worker.cron, parsed.errorString()),
                  QStringLiteral("five fields (minute hour day-of-month month day-of-week) or "
                                 "six with leading seconds; try `warden schedule \"%1\"`")
                      .arg(worker.cron));
    }
    if (continuous) {
        worker.kind = Worker::Kind::Continuous;
        for (const QString &k : std::as_const(periodicOnly))
            error(*table.get(k.toStdString()),
                  QStringLiteral("%1: %2 applies to periodic workers only").arg(where, k),
                  QStringLiteral("remove it; a continuous worker runs until it is stopped"));
    }
    if (haveLock) {
        if (continuous && lockModeGiven && lockMode == LockMode::PerRun)
            error(*lockModeNode,
                  QStringLiteral("%1: a continuous worker cannot lock per run").arg(where),
                  QStringLiteral("use lock_mode = \"leader\" (or leave it out)"));
        worker.lockMode = continuous && !lockModeGiven ? LockMode::Leader : lockMode;
    } else if (lockModeGiven) {
        error(*lockModeNode, QStringLiteral("%1: lock_mode without lock").arg(where),
              QStringLiteral("add lock = true (or a lock name)"));
    }

    if (type) {
        for (const auto &key : type->keys) {
            if (key.isRequired && !table.contains(key.name.toStdString()))
                error(table,
                      QStringLiteral("%1 (type %2) needs the key \"%3\"")
                          .arg(where, type->name, key.name),
                      QStringLiteral("add %1 = ... to the table").arg(key.name));
        }
    }
    if (m_errorCount != errorsBefore)
        return;
    if (type && type->validator) {
        QString key;
        QString message;
        QString hint;
        if (!type->validator(worker, config, &key, &message, &hint)) {
            error(worker.position(key), QStringLiteral("%1: %2").arg(where, message), hint);
            return;
        }
    }

    std::ostringstream canonical;
    canonical << toml::toml_formatter(table);
    worker.fingerprint = QByteArray::fromStdString(canonical.str());
    const QString connection = worker.settings.value(QStringLiteral("connection")).toString();
    if (!connection.isEmpty())
        worker.fingerprint += "\n#connection " + config.connections.value(connection).toUtf8();
    config.workers.append(worker);
}

std::optional<Config> Loader::load(const QByteArray &text)
{
    Config config;
    config.filePath = m_file;
    config.baseDirectory =
        m_file.isEmpty() ? QDir::currentPath() : QFileInfo(m_file).absoluteDir().absolutePath();
    toml::table root;
    try {
        root = toml::parse(std::string_view(text.constData(), size_t(text.size())),
                           m_file.toStdString());
    } catch (const toml::parse_error &e) {
        QString message = qs(e.description());
        QString hint = QStringLiteral("fix the TOML syntax; see https://toml.io");
        if (message.contains(QLatin1String("redefinition")) ||
            message.contains(QLatin1String("redefine")))
            hint = QStringLiteral("every name may appear once: rename or merge the duplicate");
        error(positionOf(e.source()), QStringLiteral("syntax: ") + message, hint);
        return std::nullopt;
    }

    static const QStringList sections = {QStringLiteral("host"), QStringLiteral("locks"),
                                         QStringLiteral("http"), QStringLiteral("connections"),
                                         QStringLiteral("workers")};
    // Connections before workers: sql workers refer to them.
    for (const char *section : {"host", "locks", "http", "connections"}) {
        const toml::node *node = root.get(section);
        if (!node)
            continue;
        const auto *table = node->as_table();
        if (!table) {
            error(*node,
                  QStringLiteral("%1 must be a table, not %2")
                      .arg(QString::fromLatin1(section), typeName(*node)),
                  QStringLiteral("write it as [%1]").arg(QString::fromLatin1(section)));
            continue;
        }
        const QLatin1String name(section);
        if (name == QLatin1String("host"))
            loadHost(*table, config);
        else if (name == QLatin1String("locks"))
            loadLocks(*table, config);
        else if (name == QLatin1String("http"))
            loadHttp(*table, config);
        else
            loadConnections(*table, config);
    }
    for (auto &&[key, node] : root) {
        const QString name = qs(key.str());
        if (!sections.contains(name)) {
            unknownKey(key, QStringLiteral("the top level"), sections);
        } else if (name == QLatin1String("workers")) {
            const auto *workers = node.as_table();
            if (!workers) {
                error(node, QStringLiteral("workers must be a table, not %1").arg(typeName(node)),
                      QStringLiteral("write one [workers.NAME] table per worker"));
                continue;
            }
            for (auto &&[wkey, wnode] : *workers) {
                const QString workerName = qs(wkey.str());
                const auto *table = wnode.as_table();
                if (!table) {
                    error(wnode,
                          QStringLiteral("workers.%1 must be a table, not %2")
                              .arg(workerName, typeName(wnode)),
                          QStringLiteral("write it as [workers.%1] with type = ... below it")
                              .arg(workerName));
                    continue;
                }
                loadWorker(workerName, wkey, *table, config);
            }
        }
    }
    // Names are unique in TOML; lock names that only differ in case are a trap.
    QHash<QString, QString> lowerNames;
    for (const WorkerConfig &w : std::as_const(config.workers)) {
        const QString lower = w.name.toLower();
        if (lowerNames.contains(lower))
            error(w.position(),
                  QStringLiteral("duplicate worker name \"%1\" (as \"%2\")")
                      .arg(w.name, lowerNames.value(lower)),
                  QStringLiteral("worker names must differ in more than case; rename one"));
        lowerNames.insert(lower, w.name);
    }
    if (m_errorCount > 0)
        return std::nullopt;
    return config;
}

} // namespace

std::optional<Config> Config::parse(const QByteArray &text, const QString &fileName,
                                    const WorkerTypeRegistry &types, QList<ConfigError> *errors)
{
    Loader loader(fileName, types, errors);
    return loader.load(text);
}

std::optional<Config> Config::load(const QString &filePath, const WorkerTypeRegistry &types,
                                   QList<ConfigError> *errors)
{
    QFile file(filePath);
    if (!file.open(QIODevice::ReadOnly)) {
        if (errors)
            errors->append(ConfigError{
                filePath, 0, 0,
                QStringLiteral("cannot read the config: %1").arg(file.errorString()),
                QStringLiteral("give the path with --config FILE (or set WARDEN_CONFIG)")});
        return std::nullopt;
    }
    return parse(file.readAll(), filePath, types, errors);
}

} // namespace Warden
