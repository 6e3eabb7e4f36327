#pragma once

#include <warden/config.h>
#include <warden/records.h>
#include <warden/sql/databaseoptions.h>

#include <QtCore/QObject>
#include <QtCore/QStringList>

QT_BEGIN_NAMESPACE
class QThread;
QT_END_NAMESPACE

namespace Warden::Console {

class HostRunner;

/*!
    The console's desktop mode (\c{--host CONFIG}): the workers of a config run inside the
    console, in a Warden::Service that lives in a thread of its own ("warden-console-host").
    Opening the database, migrating it and stopping the workers all happen there; the worker
    objects live in the host's scheduler threads. The GUI thread only posts requests and
    receives results by queued signals: it never runs SQL and never waits.

    The console shows the hosted workers the way it shows any other node's: it reads them
    from the store the config points at (databaseUrl()).

    The destructor stops what still runs (up to the config's shutdown timeout) and waits for
    the thread; a window stops the host first (stop(), then stateChanged() to Stopped) so
    that it closes without waiting.
*/
class ConsoleHost final : public QObject
{
    Q_OBJECT
public:
    enum class State {
        Stopped,  //!< not started, or stopped
        Starting, //!< opening the database and starting the workers
        Running,
        Stopping, //!< the workers' runs have their stop token; waiting for them
        Failed,   //!< the start failed (message in stateChanged() and errorString())
    };
    Q_ENUM(State)

    explicit ConsoleHost(QObject *parent = nullptr);
    ~ConsoleHost() override;

    /*!
        Starts the workers of \a config; \a databaseOverride, when not empty, replaces the
        config's database (as \c{warden run --database} does). Asynchronous: stateChanged()
        follows. Refused with a warning unless the host is Stopped or Failed.
    */
    void start(const Config &config, const QString &databaseOverride = QString());
    //! Stops every worker (their runs get the stop token); stateChanged() to Stopped follows.
    void stop();
    //! Reads the config file again and applies it (added, removed, changed workers).
    void reload();

    State state() const { return m_state; }
    //! Starting, Running or Stopping: the window must stop the host before it closes.
    bool isActive() const;
    QString errorString() const { return m_error; }
    QString configPath() const { return m_config.filePath; }
    //! The database the workers use (and the console reads); the config's unless overridden.
    QString databaseUrl() const { return m_databaseUrl; }
    //! The config's password source and timeouts, for the console's own connection.
    DatabaseOptions databaseOptions() const;
    QString nodeId() const { return m_nodeId; }
    QStringList workerNames() const { return m_workers; }
    std::chrono::milliseconds shutdownTimeout() const { return m_config.host.shutdownTimeout; }
    QThread *hostThread() const { return m_thread; }

Q_SIGNALS:
    void stateChanged(Warden::Console::ConsoleHost::State state, const QString &message);
    //! The hosted workers changed (started, or a reload added or removed some).
    void workersChanged(const QStringList &workers);
    void workerStateChanged(const QString &worker, Warden::WorkerState state);
    void runFinished(const Warden::RunRecord &run);
    //! A reload() finished: \a ok false when the new config was refused (old one kept).
    void reloaded(bool ok, const QString &message);

private:
    void setState(State state, const QString &message = QString());

    QThread *m_thread = nullptr;
    HostRunner *m_runner = nullptr;
    State m_state = State::Stopped;
    Config m_config;
    QString m_databaseUrl;
    QString m_nodeId;
    QStringList m_workers;
    QString m_error;
};

} // namespace Warden::Console
