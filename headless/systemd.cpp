#include "systemd.h"

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QLoggingCategory>

#include <cstdio>
#include <cstring>

#ifdef Q_OS_UNIX
#include <cstddef>
#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>
#endif

namespace Warden::Headless {

SystemdNotifier::SystemdNotifier()
{
#ifdef Q_OS_UNIX
    m_address = qgetenv("NOTIFY_SOCKET");
    if (m_address.isEmpty() || (m_address.at(0) != '/' && m_address.at(0) != '@') ||
        size_t(m_address.size()) >= sizeof(sockaddr_un::sun_path))
        return;
    m_fd = ::socket(AF_UNIX, SOCK_DGRAM | SOCK_CLOEXEC, 0);
#endif
}

SystemdNotifier::~SystemdNotifier()
{
#ifdef Q_OS_UNIX
    if (m_fd >= 0)
        ::close(m_fd);
#endif
}

bool SystemdNotifier::notify(const QByteArray &state)
{
#ifdef Q_OS_UNIX
    if (m_fd < 0)
        return false;
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    std::memcpy(address.sun_path, m_address.constData(), size_t(m_address.size()));
    socklen_t length = socklen_t(offsetof(sockaddr_un, sun_path) + size_t(m_address.size()));
    if (m_address.at(0) == '@')
        address.sun_path[0] = '\0'; // an abstract socket: no terminating zero counts
    else
        ++length;
    const ssize_t sent = ::sendto(m_fd, state.constData(), size_t(state.size()), MSG_NOSIGNAL,
                                  reinterpret_cast<const sockaddr *>(&address), length);
    return sent == ssize_t(state.size());
#else
    Q_UNUSED(state)
    return false;
#endif
}

std::chrono::microseconds SystemdNotifier::watchdogInterval()
{
    bool ok = false;
    const qint64 usec = qEnvironmentVariable("WATCHDOG_USEC").toLongLong(&ok);
    if (!ok || usec <= 0)
        return std::chrono::microseconds(0);
    const QString pid = qEnvironmentVariable("WATCHDOG_PID");
    if (!pid.isEmpty() && pid.toLongLong() != QCoreApplication::applicationPid())
        return std::chrono::microseconds(0);
    return std::chrono::microseconds(usec);
}

namespace {

bool toJournal = false;

void handler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    int priority = 6;
    const char *level = "info";
    switch (type) {
    case QtDebugMsg:
        priority = 7;
        level = "debug";
        break;
    case QtInfoMsg:
        break;
    case QtWarningMsg:
        priority = 4;
        level = "warning";
        break;
    case QtCriticalMsg:
        priority = 3;
        level = "error";
        break;
    case QtFatalMsg:
        priority = 2;
        level = "fatal";
        break;
    }
    QByteArray line;
    if (toJournal) {
        line = '<' + QByteArray::number(priority) + '>';
    } else {
        line =
            QDateTime::currentDateTime().toString(Qt::ISODateWithMs).toUtf8() + ' ' + level + ' ';
    }
    if (context.category && std::strcmp(context.category, "default") != 0)
        line += QByteArray(context.category) + ": ";
    // One message may hold several lines (a command's output never does); keep the priority.
    QByteArray text = message.toUtf8();
    if (toJournal)
        text.replace('\n', "\n<" + QByteArray::number(priority) + ">  ");
    line += text + '\n';
    std::fwrite(line.constData(), 1, size_t(line.size()), stderr);
    std::fflush(stderr);
    if (type == QtFatalMsg)
        std::abort();
}

} // namespace

void installMessageHandler()
{
    toJournal = !qEnvironmentVariableIsEmpty("JOURNAL_STREAM");
    qInstallMessageHandler(handler);
}

void applyLogLevel(const QString &level)
{
    QString rules = QStringLiteral("qt.*.debug=false\n");
    if (level == QLatin1String("debug"))
        rules += QStringLiteral("warden.*.debug=true\n");
    else
        rules += QStringLiteral("*.debug=false\n");
    if (level == QLatin1String("warning") || level == QLatin1String("error"))
        rules += QStringLiteral("*.info=false\n");
    if (level == QLatin1String("error"))
        rules += QStringLiteral("*.warning=false\n");
    QLoggingCategory::setFilterRules(rules);
}

} // namespace Warden::Headless
