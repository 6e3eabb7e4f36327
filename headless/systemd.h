#pragma once

#include <QtCore/QByteArray>
#include <QtCore/QString>

#include <chrono>

namespace Warden::Headless {

/*!
    The service manager's side channel: systemd's sd_notify protocol, spoken directly over
    the $NOTIFY_SOCKET datagram socket (no libsystemd), and the log format journald expects.
*/
class SystemdNotifier final
{
public:
    SystemdNotifier();
    ~SystemdNotifier();
    SystemdNotifier(const SystemdNotifier &) = delete;
    SystemdNotifier &operator=(const SystemdNotifier &) = delete;

    //! Whether $NOTIFY_SOCKET was set (warden runs under systemd with Type=notify).
    bool isEnabled() const { return m_fd >= 0; }
    //! Sends \a state ("READY=1\nSTATUS=..."); false when not enabled or on an error.
    bool notify(const QByteArray &state);
    //! The watchdog interval systemd asked for ($WATCHDOG_USEC for this process), or zero.
    static std::chrono::microseconds watchdogInterval();

private:
    int m_fd = -1;
    QByteArray m_address;
};

/*!
    Installs the Qt message handler of warden: with $JOURNAL_STREAM set (stderr goes to the
    journal), each line starts with its syslog priority ("<3>" error, "<4>" warning, "<6>"
    info, "<7>" debug) and carries no time stamp; otherwise lines carry an ISO time and the
    level. The category is shown unless it is "default".
*/
void installMessageHandler();
//! Sets the logging rules for \a level: debug, info, warning or error.
void applyLogLevel(const QString &level);

} // namespace Warden::Headless
