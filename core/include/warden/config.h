#pragma once

#include <warden/global.h>
#include <warden/worker.h>

#include <QtCore/QHash>
#include <QtCore/QList>
#include <QtCore/QMap>
#include <QtCore/QString>
#include <QtCore/QVariantMap>

#include <chrono>
#include <memory>
#include <optional>

namespace Warden {

class Schedule;
class WorkerTypeRegistry;

/*!
    A place in a config file: 1-based line and column, as toml++ reports them; 0 when unknown.
*/
struct WARDEN_CORE_EXPORT SourcePosition
{
    int line = 0;
    int column = 0;
};

/*!
    One problem found in a config file: where it is, what is wrong, and what to do about it.
    toString() gives the compiler-style form "FILE:LINE:COLUMN: error: MESSAGE" followed by
    the hint on a line of its own.
*/
struct WARDEN_CORE_EXPORT ConfigError
{
    QString file;
    int line = 0;
    int column = 0;
    QString message;
    QString hint;

    QString toString() const;
};

//! The \c [host] section: who this node is and where its database lives.
struct WARDEN_CORE_EXPORT HostConfig
{
    QString nodeId; //!< empty: the host name
    QString database;
    QString passwordEnvironmentVariable = QStringLiteral("WARDEN_DB_PASSWORD");
    QString passwordFile;
    std::chrono::milliseconds shutdownTimeout = std::chrono::seconds(30);
    bool enabled = true;
    QString logLevel = QStringLiteral("info"); //!< debug, info, warning, error
    std::chrono::milliseconds runRetention = std::chrono::hours(24 * 30);
    std::chrono::milliseconds logRetention = std::chrono::hours(24 * 7);
    qint64 maximumRuns = 1000000;
    qint64 maximumLogLines = 1000000;
    //! \c dead_after: silence after which the other nodes count this one dead; 0: default.
    std::chrono::milliseconds deadAfter{0};
    //! \c dead_node_retention: how long a dead node stays in the views; 0 ("never"): until
    //! forgotten.
    std::chrono::milliseconds deadNodeRetention = std::chrono::hours(24);
};

//! The \c [locks] section.
struct WARDEN_CORE_EXPORT LocksConfig
{
    std::chrono::milliseconds timeToLive = std::chrono::seconds(30);
    std::chrono::milliseconds renewInterval =
        std::chrono::milliseconds(0); //!< 0: a third of the ttl
};

//! The optional \c [http] section: /metrics and /healthz.
struct WARDEN_CORE_EXPORT HttpConfig
{
    bool isEnabled = false;
    QString address = QStringLiteral("127.0.0.1");
    int port = 9464;
};

//! One \c [workers.NAME] table.
struct WARDEN_CORE_EXPORT WorkerConfig
{
    QString name;
    QString type;
    Worker::Kind kind = Worker::Kind::Periodic;
    std::chrono::milliseconds every = std::chrono::milliseconds(0); //!< 0: cron or continuous
    QString cron;
    QString timeZone;
    LockMode lockMode = LockMode::None;
    QString lockName; //!< empty: named after the worker
    std::chrono::milliseconds timeout = std::chrono::milliseconds(0);
    MisfirePolicy misfire = MisfirePolicy::RunOnce;
    bool catchUp = false;
    bool enabled = true;
    //! The type's own keys, converted as the type declared them.
    QVariantMap settings;
    //! Where each key was written ("" for the table itself).
    QHash<QString, SourcePosition> positions;
    //! Equal for two configs of this worker exactly when a reload may keep it running.
    QByteArray fingerprint;

    //! The schedule of a periodic worker (an IntervalSchedule or a CronSchedule).
    std::shared_ptr<const Schedule> schedule() const;
    SourcePosition position(const QString &key = QString()) const
    {
        return positions.value(key, positions.value(QString()));
    }
};

/*!
    A parsed and validated Warden config file (TOML).

    \code
    [host]
    node_id = "node-a"                  # default: the host name
    database = "sqlite:/var/lib/warden/warden.db"
    shutdown_timeout = "30s"

    [locks]
    ttl = "30s"

    [workers.mark-users-passive]
    type = "sql"
    every = "10m"
    lock = true
    connection = "app"
    statements = ["UPDATE users SET passive = 1 WHERE last_login < now() - interval '30 days'"]
    \endcode

    load() checks everything that can be checked without a database: unknown keys, wrong
    types, durations, cron expressions and time zones, lock settings, the keys each worker
    type declares. Every problem is reported with file, line and column; nothing is
    returned unless the whole file is valid.
*/
class WARDEN_CORE_EXPORT Config
{
public:
    QString filePath;
    //! Where relative paths in the file are resolved: the file's folder.
    QString baseDirectory;
    HostConfig host;
    LocksConfig locks;
    HttpConfig http;
    //! \c [connections.NAME] url = "...": application databases for \c sql workers.
    QMap<QString, QString> connections;
    QList<WorkerConfig> workers;
    //! Where "host.database" and each "connections.NAME.url" were written.
    QHash<QString, SourcePosition> positions;

    const WorkerConfig *worker(const QString &name) const;
    //! \a path resolved against baseDirectory when relative.
    QString resolvePath(const QString &path) const;

    static std::optional<Config> load(const QString &filePath, const WorkerTypeRegistry &types,
                                      QList<ConfigError> *errors);
    static std::optional<Config> parse(const QByteArray &text, const QString &fileName,
                                       const WorkerTypeRegistry &types, QList<ConfigError> *errors);
};

} // namespace Warden
