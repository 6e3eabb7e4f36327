#pragma once

#include <QtCore/QObject>
#include <QtCore/QString>

#include <chrono>
#include <memory>

namespace Warden::Headless {

/*!
    `warden run` under the Windows service control manager (SCM).

    connect() starts StartServiceCtrlDispatcher on a control thread of its own and waits
    until the SCM has called ServiceMain (the process runs as a service) or the dispatcher
    has failed (started from a console: Ctrl+C and Ctrl+Break then request the stop). The
    control handler never blocks: a stop or shutdown request reports STOP_PENDING and is
    posted to the Qt thread as stopRequested(). The report* members tell the SCM about
    start and stop progress, with wait hints.

    On other platforms every member is a no-op and connect() returns null.
*/
class WindowsServiceControl final : public QObject
{
    Q_OBJECT
public:
    static std::unique_ptr<WindowsServiceControl> connect(const QString &serviceName);
    ~WindowsServiceControl() override;

    bool isService() const { return m_isService; }
    void reportStartPending(std::chrono::milliseconds waitHint);
    void reportRunning();
    void reportStopPending(std::chrono::milliseconds waitHint);
    void reportStopped(int exitCode);

Q_SIGNALS:
    void stopRequested();

private:
    WindowsServiceControl() = default;
    bool m_isService = false;
};

//! Sends warden's log lines to the Windows Event Log (source \a source) as well.
void installEventLogHandler(const QString &source);

/*!
    Creates the service \a name (automatic start, own process, LocalService account unless
    \a account is given) that runs \a commandLine, with recovery actions: restart after 5 s,
    30 s and 60 s, failure count reset after a day, also for non-crash failures.
*/
bool installWindowsService(const QString &name, const QString &commandLine, QString *error);
//! Stops (if running) and deletes the service \a name.
bool uninstallWindowsService(const QString &name, QString *error);
//! "running", "stopped", "start-pending", ..., or "not-installed".
QString windowsServiceState(const QString &name, QString *error);

} // namespace Warden::Headless
