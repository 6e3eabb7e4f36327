// `warden run`: the service in the foreground, under systemd (Type=notify, watchdog, journald
// priorities), the Windows service control manager, or a terminal.
#include "cli.h"
#include "metrics.h"
#include "systemd.h"
#include "windowsservice.h"

#include <warden/host.h>
#include <warden/schedule.h>
#include <warden/sql/databaseurl.h>
#include <warden/sql/service.h>
#include <warden/sql/sqlworkertype.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QLoggingCategory>
#include <QtCore/QSocketNotifier>
#include <QtCore/QTimer>

#include <csignal>
#include <memory>

#ifdef Q_OS_UNIX
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#endif

Q_LOGGING_CATEGORY(lcService, "warden.service")

namespace Warden::Headless {

using namespace std::chrono;

namespace {

int signalPipe[2] = {-1, -1};

#ifdef Q_OS_UNIX
void onSignal(int signal)
{
    // Async-signal-safe: one byte into the socket; the event loop does the rest.
    const int saved = errno;
    const char byte = char(signal);
    [[maybe_unused]] const ssize_t written = ::write(signalPipe[1], &byte, 1);
    errno = saved;
}

QByteArray monotonicUsec()
{
    timespec now = {};
    ::clock_gettime(CLOCK_MONOTONIC, &now);
    return QByteArray::number(qint64(now.tv_sec) * 1000000 + now.tv_nsec / 1000);
}
#endif

QString list(const QStringList &names)
{
    return names.isEmpty() ? QStringLiteral("none") : names.join(QStringLiteral(", "));
}

class Runner final : public QObject
{
public:
    Runner(QString configPath, QString databaseOverride)
        : m_configPath(std::move(configPath))
        , m_databaseOverride(std::move(databaseOverride))
    {}

    int start(const Config &config);
    void stop(const QString &why);
    void reload();
    void onSignal(int signal);
    int exitCode() const { return m_exitCode; }
    WindowsServiceControl *windowsService = nullptr;

private:
    QString statusText() const
    {
        const Host *host = m_service.host();
        return QStringLiteral("Running %1 workers as node %2")
            .arg(host ? host->workerNames().size() : 0)
            .arg(host ? host->nodeId() : QString());
    }
    void pingWatchdog();

    QString m_configPath;
    QString m_databaseOverride;
    Service m_service;
    SystemdNotifier m_notifier;
    std::unique_ptr<MetricsServer> m_metrics;
    QTimer m_watchdog;
    milliseconds m_watchdogInterval{0};
    bool m_watchdogMissed = false;
    bool m_stopping = false;
    int m_exitCode = ExitSuccess;
};

int Runner::start(const Config &config)
{
    if (config.http.isEnabled) {
        m_metrics = std::make_unique<MetricsServer>(&m_service);
        QString error;
        const quint16 port =
            m_metrics->listen(config.http.address, quint16(config.http.port), &error);
        if (port == 0)
            return fail(ExitFailure, QStringLiteral("http: %1").arg(error));
        qCInfo(lcService, "http: serving /metrics and /healthz on http://%s:%u/",
               qPrintable(config.http.address), unsigned(port));
        connect(&m_service, &Service::runFinished, m_metrics.get(), &MetricsServer::recordRun);
    }
    connect(&m_service, &Service::started, this, [this] {
        const Host *host = m_service.host();
        qCInfo(lcService, "node %s running %lld workers; database %s", qPrintable(host->nodeId()),
               static_cast<long long>(host->workerNames().size()),
               qPrintable(m_service.databaseDisplayUrl()));
        m_notifier.notify("READY=1\nSTATUS=" + statusText().toUtf8());
        if (windowsService)
            windowsService->reportRunning();
    });
    connect(&m_service, &Service::stopped, this, [this] {
        qCInfo(lcService, "stopped");
        QCoreApplication::exit(m_exitCode);
    });
    // A bad --database is a usage error; anything the service then refuses in the config (a
    // worker that cannot be built, say) is a config error, with or without --database.
    if (!m_databaseOverride.isEmpty()) {
        const auto url = DatabaseUrl::parse(m_databaseOverride);
        if (!url.isOk())
            return fail(ExitUsage, QStringLiteral("--database: %1").arg(url.errorString()));
    }
    QString error;
    Service::ErrorKind kind = Service::ErrorKind::None;
    if (!m_service.start(config, m_databaseOverride, &error, &kind)) {
        switch (kind) {
        case Service::ErrorKind::Database:
            return fail(ExitUnavailable,
                        QStringLiteral("%1\n  hint: %2")
                            .arg(error, databaseHint(m_databaseOverride.isEmpty() ? m_configPath
                                                                                  : QString())));
        case Service::ErrorKind::Config:
            return fail(ExitConfig, error);
        default:
            return fail(ExitFailure, error);
        }
    }
    const microseconds interval = SystemdNotifier::watchdogInterval();
    if (interval.count() > 0 && m_notifier.isEnabled()) {
        // Ping at half the interval, and only while the workers' threads and the store's
        // writer answer: a hung service is restarted by systemd.
        m_watchdogInterval = duration_cast<milliseconds>(interval);
        m_watchdog.setInterval(m_watchdogInterval / 2);
        connect(&m_watchdog, &QTimer::timeout, this, &Runner::pingWatchdog);
        m_service.probe();
        m_watchdog.start();
    }
    return ExitSuccess;
}

void Runner::pingWatchdog()
{
    // Each probe had half the watchdog interval to come back; a database call in progress
    // may take up to the whole interval.
    const QStringList unanswered = m_service.unansweredProbes(m_watchdogInterval);
    if (unanswered.isEmpty()) {
        m_notifier.notify("WATCHDOG=1");
        if (m_watchdogMissed) {
            m_watchdogMissed = false;
            qCInfo(lcService, "watchdog: every thread answers again; pinging");
        }
    } else if (!m_watchdogMissed) {
        m_watchdogMissed = true;
        qCWarning(lcService,
                  "watchdog: %s did not answer within %s; not pinging (systemd "
                  "restarts the service if this lasts)",
                  qPrintable(unanswered.join(QStringLiteral(" and "))),
                  qPrintable(IntervalSchedule::formatDuration(m_watchdog.intervalAsDuration())));
    }
    m_service.probe();
}

void Runner::stop(const QString &why)
{
    if (m_stopping) {
        // Ctrl-C twice: the user wants out now (leases then expire by their ttl). A repeated
        // SIGTERM (timeout(1) sends two, systemd may too) does not cut the graceful stop short.
        if (why == QLatin1String("SIGINT")) {
            qCWarning(lcService, "SIGINT again while stopping: exiting now");
            std::_Exit(130);
        }
        qCInfo(lcService, "%s again: still stopping", qPrintable(why));
        return;
    }
    m_stopping = true;
    qCInfo(lcService, "%s: stopping (up to %s)", qPrintable(why),
           qPrintable(IntervalSchedule::formatDuration(m_service.config().host.shutdownTimeout)));
    m_notifier.notify("STOPPING=1\nSTATUS=Stopping");
    if (windowsService)
        windowsService->reportStopPending(m_service.config().host.shutdownTimeout + seconds(10));
    m_watchdog.stop();
    if (!m_service.isRunning()) {
        QCoreApplication::exit(m_exitCode);
        return;
    }
    m_service.stop();
}

void Runner::reload()
{
    if (m_stopping)
        return;
#ifdef Q_OS_UNIX
    m_notifier.notify("RELOADING=1\nMONOTONIC_USEC=" + monotonicUsec() +
                      "\nSTATUS=Reloading the config");
#endif
    qCInfo(lcService, "reloading %s", qPrintable(m_configPath));
    QList<ConfigError> errors;
    const auto config = Service::loadConfig(m_configPath, &errors);
    QString error;
    Service::ReloadSummary summary;
    if (!config) {
        for (const ConfigError &e : std::as_const(errors))
            qCCritical(lcService, "%s", qPrintable(e.toString()));
        qCCritical(lcService,
                   "reload refused: the new config has %lld error(s); the previous "
                   "config keeps running",
                   static_cast<long long>(errors.size()));
    } else if (!m_service.reload(*config, &summary, &error)) {
        qCCritical(lcService, "reload refused: %s; the previous config keeps running",
                   qPrintable(error));
    } else {
        applyLogLevel(config->host.logLevel);
        qCInfo(lcService, "reloaded: added %s; removed %s; changed %s; %lld unchanged",
               qPrintable(list(summary.added)), qPrintable(list(summary.removed)),
               qPrintable(list(summary.changed)), static_cast<long long>(summary.kept.size()));
        if (!summary.ignored.isEmpty())
            qCWarning(lcService, "changes to %s take effect after a restart",
                      qPrintable(summary.ignored.join(QStringLiteral(", "))));
    }
    m_notifier.notify("READY=1\nSTATUS=" + statusText().toUtf8());
}

void Runner::onSignal(int signal)
{
#ifdef Q_OS_UNIX
    if (signal == SIGHUP) {
        reload();
        return;
    }
    stop(signal == SIGINT ? QStringLiteral("SIGINT") : QStringLiteral("SIGTERM"));
#else
    Q_UNUSED(signal)
    stop(QStringLiteral("stop request"));
#endif
}

} // namespace

int runCommand(const CommandLine &cl)
{
    if (!cl.operands.isEmpty())
        return fail(ExitUsage, QStringLiteral("run takes no arguments; use --config FILE"));
    installMessageHandler();
    const QString path = configPath(cl);
    QList<ConfigError> errors;
    const auto config = Service::loadConfig(path, &errors);
    if (!config) {
        for (const ConfigError &e : std::as_const(errors))
            printError(e.toString());
        printError(QStringLiteral("warden: %1 error(s) in %2; nothing was started")
                       .arg(errors.size())
                       .arg(path));
        return ExitConfig;
    }
    applyLogLevel(config->host.logLevel);

    Runner runner(path, cl.value(QStringLiteral("database")));
    std::unique_ptr<WindowsServiceControl> windowsService;
#ifdef Q_OS_WIN
    windowsService = WindowsServiceControl::connect(QStringLiteral("warden"));
    if (windowsService) {
        runner.windowsService = windowsService.get();
        installEventLogHandler(QStringLiteral("warden"));
        windowsService->reportStartPending(seconds(30));
        QObject::connect(windowsService.get(), &WindowsServiceControl::stopRequested, &runner,
                         [&runner] { runner.onSignal(0); });
    }
#endif

#ifdef Q_OS_UNIX
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, signalPipe) != 0)
        return fail(ExitFailure, QStringLiteral("cannot create the signal socket"));
    QSocketNotifier notifier(signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &runner, [&runner] {
        char byte = 0;
        if (::read(signalPipe[0], &byte, 1) == 1)
            runner.onSignal(int(byte));
    });
    struct sigaction action = {};
    action.sa_handler = onSignal;
    sigemptyset(&action.sa_mask);
    action.sa_flags = SA_RESTART;
    for (int s : {SIGTERM, SIGINT, SIGHUP})
        ::sigaction(s, &action, nullptr);
    std::signal(SIGPIPE, SIG_IGN);
#endif

    if (const int code = runner.start(*config)) {
        if (windowsService)
            windowsService->reportStopped(code);
        return code;
    }
    const int code = QCoreApplication::exec();
    if (windowsService)
        windowsService->reportStopped(code);
    return code;
}

} // namespace Warden::Headless
