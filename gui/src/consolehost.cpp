#include "consolehost.h"

#include <warden/host.h>
#include <warden/sql/service.h>
#include <warden/sql/sqlworkertype.h>

#include <QtCore/QThread>

#include <exception>
#include <memory>

namespace Warden::Console {

/*!
    \internal
    Lives in the host thread and owns the Service there: the Service, its Host and the
    database connections they open belong to that thread. Reports by signals, which reach
    the ConsoleHost queued.
*/
class HostRunner final : public QObject
{
    Q_OBJECT
public:
    HostRunner() = default;
    //! Runs in the host thread (deleteLater when the thread finishes).
    ~HostRunner() override = default;

    void start(const Config &config, const QString &databaseOverride)
    {
        m_service = std::make_unique<Service>();
        Service *service = m_service.get();
        connect(service, &Service::started, this, [this] {
            Q_EMIT started(m_service->host()->nodeId(), m_service->host()->workerNames());
        });
        connect(service, &Service::stopped, this, &HostRunner::stopped);
        connect(service, &Service::runFinished, this, &HostRunner::runFinished);
        QString error;
        bool ok = false;
        try {
            ok = service->start(config, databaseOverride, &error);
        } catch (const std::exception &e) {
            error = QString::fromLocal8Bit(e.what());
        }
        if (!ok) {
            m_service.reset();
            Q_EMIT failed(error);
            return;
        }
        connect(service->host(), &Host::workerStateChanged, this, &HostRunner::workerStateChanged);
    }

    void stop()
    {
        if (m_service && m_service->isRunning())
            m_service->stop(); // Service::stopped follows
        else
            Q_EMIT stopped();
    }

    void reload(const QString &configPath)
    {
        if (!m_service || !m_service->isRunning()) {
            Q_EMIT reloaded(false, tr("The hosted workers are not running."), {});
            return;
        }
        QList<ConfigError> errors;
        const auto config = Service::loadConfig(configPath, &errors);
        if (!config) {
            QStringList lines;
            for (const ConfigError &e : std::as_const(errors))
                lines.append(e.toString());
            Q_EMIT reloaded(false, lines.join(QLatin1Char('\n')), {});
            return;
        }
        Service::ReloadSummary summary;
        QString error;
        if (!m_service->reload(*config, &summary, &error)) {
            Q_EMIT reloaded(false, error, {});
            return;
        }
        auto names = [](const QStringList &list) {
            return list.isEmpty() ? tr("none") : list.join(QStringLiteral(", "));
        };
        QString message = tr("Reloaded %1: added %2; removed %3; changed %4; %n unchanged.",
                             nullptr, int(summary.kept.size()))
                              .arg(configPath, names(summary.added), names(summary.removed),
                                   names(summary.changed));
        if (!summary.ignored.isEmpty())
            message += QLatin1Char(' ') + tr("Changes to %1 take effect after a restart.")
                                              .arg(summary.ignored.join(QStringLiteral(", ")));
        QStringList workers;
        for (const WorkerConfig &w : config->workers)
            workers.append(w.name);
        Q_EMIT reloaded(true, message, workers);
    }

Q_SIGNALS:
    void started(const QString &nodeId, const QStringList &workers);
    void failed(const QString &error);
    void stopped();
    void workerStateChanged(const QString &worker, Warden::WorkerState state);
    void runFinished(const Warden::RunRecord &run);
    void reloaded(bool ok, const QString &message, const QStringList &workers);

private:
    std::unique_ptr<Service> m_service;
};

ConsoleHost::ConsoleHost(QObject *parent)
    : QObject(parent)
    , m_thread(new QThread(this))
    , m_runner(new HostRunner)
{
    qRegisterMetaType<RunRecord>();
    qRegisterMetaType<WorkerState>();
    m_thread->setObjectName(QStringLiteral("warden-console-host"));
    m_runner->moveToThread(m_thread);
    connect(m_thread, &QThread::finished, m_runner, &QObject::deleteLater);
    connect(m_runner, &HostRunner::started, this,
            [this](const QString &nodeId, const QStringList &workers) {
                m_nodeId = nodeId;
                m_workers = workers;
                Q_EMIT workersChanged(workers);
                if (m_state == State::Starting)
                    setState(State::Running);
            });
    connect(m_runner, &HostRunner::failed, this, [this](const QString &error) {
        m_error = error;
        setState(State::Failed, error);
    });
    connect(m_runner, &HostRunner::stopped, this, [this] {
        if (m_state != State::Failed)
            setState(State::Stopped);
    });
    connect(m_runner, &HostRunner::workerStateChanged, this, &ConsoleHost::workerStateChanged);
    connect(m_runner, &HostRunner::runFinished, this, &ConsoleHost::runFinished);
    connect(m_runner, &HostRunner::reloaded, this,
            [this](bool ok, const QString &message, const QStringList &workers) {
                if (ok && workers != m_workers) {
                    m_workers = workers;
                    Q_EMIT workersChanged(workers);
                }
                Q_EMIT reloaded(ok, message);
            });
    m_thread->start();
}

ConsoleHost::~ConsoleHost()
{
    // The runner, and with it the Service, goes in its own thread: ~Service stops whatever
    // still runs, within the shutdown timeout.
    m_thread->quit();
    m_thread->wait();
}

bool ConsoleHost::isActive() const
{
    return m_state == State::Starting || m_state == State::Running || m_state == State::Stopping;
}

DatabaseOptions ConsoleHost::databaseOptions() const
{
    return Service::databaseOptions(m_config.host);
}

void ConsoleHost::setState(State state, const QString &message)
{
    m_state = state;
    Q_EMIT stateChanged(state, message);
}

void ConsoleHost::start(const Config &config, const QString &databaseOverride)
{
    if (isActive()) {
        qWarning("Warden::Console::ConsoleHost::start: the host is running already");
        return;
    }
    m_config = config;
    m_databaseUrl = databaseOverride.isEmpty() ? Service::databaseUrl(config) : databaseOverride;
    m_error.clear();
    m_nodeId.clear();
    m_workers.clear();
    setState(State::Starting);
    QMetaObject::invokeMethod(
        m_runner,
        [runner = m_runner, config, databaseOverride] { runner->start(config, databaseOverride); },
        Qt::QueuedConnection);
}

void ConsoleHost::stop()
{
    if (m_state == State::Stopping)
        return;
    if (m_state == State::Starting || m_state == State::Running)
        setState(State::Stopping);
    QMetaObject::invokeMethod(
        m_runner, [runner = m_runner] { runner->stop(); }, Qt::QueuedConnection);
}

void ConsoleHost::reload()
{
    QMetaObject::invokeMethod(
        m_runner, [runner = m_runner, path = m_config.filePath] { runner->reload(path); },
        Qt::QueuedConnection);
}

} // namespace Warden::Console

#include "consolehost.moc"
