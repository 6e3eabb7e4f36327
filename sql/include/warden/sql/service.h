#pragma once

#include <warden/config.h>
#include <warden/records.h>
#include <warden/sql/databaseoptions.h>
#include <warden/sql/global.h>

#include <QtCore/QObject>
#include <QtCore/QStringList>

#include <memory>

namespace Warden {

class Host;
class LockManager;
class Store;

/*!
    A running Warden service assembled from a Config: the database (Database::open), a Host
    configured from the \c [host] and \c [locks] sections, and one worker per
    \c [workers.NAME] table. It is what \c{warden run} and the console's \c{--host CONFIG}
    run.

    start() blocks while the database opens (call it at start-up, or from a thread that may
    wait); everything else returns at once. The Service lives in the thread that created it,
    like its Host.
*/
class WARDEN_SQL_EXPORT Service : public QObject
{
    Q_OBJECT
public:
    enum class ErrorKind {
        None,
        Config,   //!< the config cannot be turned into workers
        Database, //!< the database cannot be opened
        Other,
    };
    Q_ENUM(ErrorKind)

    //! What a reload did, by worker name.
    struct ReloadSummary
    {
        QStringList added;
        QStringList removed;
        QStringList changed;
        QStringList kept;
        //! Changes that only take effect after a restart.
        QStringList ignored;
    };

    explicit Service(QObject *parent = nullptr);
    //! Stops what still runs (up to the shutdown timeout).
    ~Service() override;

    //! The database URL \a config names, with relative SQLite paths resolved against the file.
    static QString databaseUrl(const Config &config);
    /*!
        Config::load() with every worker type Warden knows, plus what only Warden::Sql can
        check: the database URLs of [host] and [connections.*] (scheme, parameters). Each
        problem is reported with file, line and column; nullopt unless all is valid.
    */
    static std::optional<Config> loadConfig(const QString &filePath, QList<ConfigError> *errors);
    static DatabaseOptions databaseOptions(const HostConfig &host);

    /*!
        Opens the database and starts the workers of \a config. \a databaseUrl, when not
        empty, overrides the config's. On failure returns false with a message in \a error
        and its class in \a kind.
    */
    bool start(const Config &config, const QString &databaseUrl, QString *error,
               ErrorKind *kind = nullptr);
    /*!
        Applies \a config to the running service: added workers start, removed ones stop,
        changed ones are replaced (the old one stops first), untouched ones keep running. Every
        new worker is built before anything changes, so a config whose workers cannot be
        built is refused (false, \a error) and the running ones stay as they are.
    */
    bool reload(const Config &config, ReloadSummary *summary, QString *error);
    //! Stops every worker; stopped() follows within the shutdown timeout.
    void stop();
    bool isRunning() const;

    const Config &config() const;
    QString databaseDisplayUrl() const;
    Host *host() const;
    std::shared_ptr<Store> store() const;
    std::shared_ptr<LockManager> lockManager() const;

    /*!
        Liveness for a watchdog. probe() sends a round trip to every scheduler thread (a call
        queued to a probe object in it), to the store's writer thread (SqlStore::probeWriter())
        and to the host's control thread (it is told that the worker settings changed and
        answers by reading them). unansweredProbes() names those that have not answered the
        last probe(); a thread that is inside one database call counts as answering while that
        call is younger than \a maximumDatabaseCall. Call probe() after each check.
    */
    void probe();
    QStringList unansweredProbes(std::chrono::milliseconds maximumDatabaseCall) const;

Q_SIGNALS:
    void started();
    void stopped();
    void runFinished(const Warden::RunRecord &run);

private:
    void addPending(const QString &name, int attempt);
    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace Warden
