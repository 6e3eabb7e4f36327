// The Windows service control manager integration of `warden run` and `warden service`.
// Built only for Windows; the Linux test suite compiles it with MinGW-w64 (-fsyntax-only)
// against Qt's headers, which checks the Win32 and Qt calls but neither links nor runs it.
#include "windowsservice.h"

#if defined(Q_OS_WIN)

#include <QtCore/QByteArray>
#include <QtCore/QMetaObject>

#include <atomic>
#include <future>
#include <mutex>
#include <string>
#include <thread>
#include <windows.h>

namespace Warden::Headless {

using namespace std::chrono;

namespace {

std::wstring wide(const QString &text)
{
    return text.toStdWString();
}

std::atomic<WindowsServiceControl *> instance{nullptr};
std::mutex statusMutex;
SERVICE_STATUS_HANDLE statusHandle = nullptr;
SERVICE_STATUS serviceStatus = {};
HANDLE finishedEvent = nullptr;
std::wstring serviceName;
std::promise<bool> connected;
std::atomic<bool> connectedSet{false};

void setConnected(bool value)
{
    if (!connectedSet.exchange(true))
        connected.set_value(value);
}

void setStatus(DWORD state, DWORD exitCode, DWORD waitHint)
{
    std::lock_guard<std::mutex> lock(statusMutex);
    if (!statusHandle)
        return;
    serviceStatus.dwServiceType = SERVICE_WIN32_OWN_PROCESS;
    serviceStatus.dwCurrentState = state;
    serviceStatus.dwControlsAccepted =
        state == SERVICE_RUNNING ? SERVICE_ACCEPT_STOP | SERVICE_ACCEPT_SHUTDOWN : 0;
    serviceStatus.dwWin32ExitCode = exitCode == 0 ? NO_ERROR : ERROR_SERVICE_SPECIFIC_ERROR;
    serviceStatus.dwServiceSpecificExitCode = exitCode;
    serviceStatus.dwWaitHint = waitHint;
    if (state == SERVICE_START_PENDING || state == SERVICE_STOP_PENDING)
        ++serviceStatus.dwCheckPoint;
    else
        serviceStatus.dwCheckPoint = 0;
    ::SetServiceStatus(statusHandle, &serviceStatus);
}

void postStop()
{
    // Never block here: the Qt thread does the stopping.
    if (WindowsServiceControl *control = instance.load()) {
        QMetaObject::invokeMethod(
            control, [control] { Q_EMIT control->stopRequested(); }, Qt::QueuedConnection);
    }
}

DWORD WINAPI controlHandler(DWORD control, DWORD, LPVOID, LPVOID)
{
    switch (control) {
    case SERVICE_CONTROL_STOP:
    case SERVICE_CONTROL_SHUTDOWN:
        setStatus(SERVICE_STOP_PENDING, 0, 30000);
        postStop();
        return NO_ERROR;
    case SERVICE_CONTROL_INTERROGATE:
        return NO_ERROR;
    default:
        return ERROR_CALL_NOT_IMPLEMENTED;
    }
}

void WINAPI serviceMain(DWORD, LPWSTR *)
{
    statusHandle = ::RegisterServiceCtrlHandlerExW(serviceName.c_str(), controlHandler, nullptr);
    if (!statusHandle) {
        setConnected(false);
        return;
    }
    setStatus(SERVICE_START_PENDING, 0, 30000);
    setConnected(true);
    // ServiceMain lives until warden has reported SERVICE_STOPPED.
    ::WaitForSingleObject(finishedEvent, INFINITE);
}

BOOL WINAPI consoleHandler(DWORD type)
{
    switch (type) {
    case CTRL_C_EVENT:
    case CTRL_BREAK_EVENT:
    case CTRL_CLOSE_EVENT:
        postStop();
        return TRUE;
    default:
        return FALSE;
    }
}

QtMessageHandler previousHandler = nullptr;
HANDLE eventSource = nullptr;

void eventLogHandler(QtMsgType type, const QMessageLogContext &context, const QString &message)
{
    if (eventSource && type != QtDebugMsg) {
        const WORD eventType = type == QtInfoMsg      ? EVENTLOG_INFORMATION_TYPE
                               : type == QtWarningMsg ? EVENTLOG_WARNING_TYPE
                                                      : EVENTLOG_ERROR_TYPE;
        const std::wstring text = wide(message);
        LPCWSTR strings[] = {text.c_str()};
        ::ReportEventW(eventSource, eventType, 0, 0, nullptr, 1, 0, strings, nullptr);
    }
    if (previousHandler)
        previousHandler(type, context, message);
}

QString lastError()
{
    const DWORD code = ::GetLastError();
    wchar_t *buffer = nullptr;
    ::FormatMessageW(FORMAT_MESSAGE_ALLOCATE_BUFFER | FORMAT_MESSAGE_FROM_SYSTEM |
                         FORMAT_MESSAGE_IGNORE_INSERTS,
                     nullptr, code, 0, reinterpret_cast<LPWSTR>(&buffer), 0, nullptr);
    const QString text =
        buffer ? QString::fromWCharArray(buffer).trimmed() : QStringLiteral("error %1").arg(code);
    if (buffer)
        ::LocalFree(buffer);
    return text;
}

struct ScHandle
{
    SC_HANDLE handle = nullptr;
    ~ScHandle()
    {
        if (handle)
            ::CloseServiceHandle(handle);
    }
};

} // namespace

std::unique_ptr<WindowsServiceControl> WindowsServiceControl::connect(const QString &name)
{
    std::unique_ptr<WindowsServiceControl> control(new WindowsServiceControl);
    instance = control.get();
    serviceName = wide(name);
    finishedEvent = ::CreateEventW(nullptr, TRUE, FALSE, nullptr);
    std::future<bool> answer = connected.get_future();
    std::thread([] {
        SERVICE_TABLE_ENTRYW table[] = {{serviceName.data(), serviceMain}, {nullptr, nullptr}};
        // Returns at once with ERROR_FAILED_SERVICE_CONTROLLER_CONNECT outside the SCM;
        // otherwise only after ServiceMain returned.
        if (!::StartServiceCtrlDispatcherW(table))
            setConnected(false);
    }).detach();
    control->m_isService = answer.get();
    if (!control->m_isService)
        ::SetConsoleCtrlHandler(consoleHandler, TRUE);
    return control;
}

WindowsServiceControl::~WindowsServiceControl()
{
    instance = nullptr;
}

void WindowsServiceControl::reportStartPending(milliseconds waitHint)
{
    if (m_isService)
        setStatus(SERVICE_START_PENDING, 0, DWORD(waitHint.count()));
}

void WindowsServiceControl::reportRunning()
{
    if (m_isService)
        setStatus(SERVICE_RUNNING, 0, 0);
}

void WindowsServiceControl::reportStopPending(milliseconds waitHint)
{
    if (m_isService)
        setStatus(SERVICE_STOP_PENDING, 0, DWORD(waitHint.count()));
}

void WindowsServiceControl::reportStopped(int exitCode)
{
    if (!m_isService)
        return;
    setStatus(SERVICE_STOPPED, DWORD(exitCode), 0);
    ::SetEvent(finishedEvent);
}

void installEventLogHandler(const QString &source)
{
    eventSource = ::RegisterEventSourceW(nullptr, wide(source).c_str());
    previousHandler = qInstallMessageHandler(eventLogHandler);
}

bool installWindowsService(const QString &name, const QString &commandLine, QString *error)
{
    ScHandle manager{::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CREATE_SERVICE)};
    if (!manager.handle) {
        *error = QStringLiteral("cannot open the service control manager: %1").arg(lastError());
        return false;
    }
    const std::wstring serviceId = wide(name);
    const std::wstring binary = wide(commandLine);
    const std::wstring display = wide(QStringLiteral("Warden background workers"));
    ScHandle service{::CreateServiceW(
        manager.handle, serviceId.c_str(), display.c_str(), SERVICE_ALL_ACCESS,
        SERVICE_WIN32_OWN_PROCESS, SERVICE_AUTO_START, SERVICE_ERROR_NORMAL, binary.c_str(),
        nullptr, nullptr, nullptr, L"NT AUTHORITY\\LocalService", nullptr)};
    if (!service.handle) {
        *error = QStringLiteral("cannot create the service %1: %2").arg(name, lastError());
        return false;
    }
    std::wstring description =
        wide(QStringLiteral("Runs the background workers of its Warden config."));
    SERVICE_DESCRIPTIONW serviceDescription = {description.data()};
    ::ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_DESCRIPTION, &serviceDescription);

    SC_ACTION actions[3] = {
        {SC_ACTION_RESTART, 5000}, {SC_ACTION_RESTART, 30000}, {SC_ACTION_RESTART, 60000}};
    SERVICE_FAILURE_ACTIONSW failure = {};
    failure.dwResetPeriod = 24 * 3600;
    failure.cActions = 3;
    failure.lpsaActions = actions;
    if (!::ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_FAILURE_ACTIONS, &failure)) {
        *error = QStringLiteral("cannot set the recovery actions: %1").arg(lastError());
        return false;
    }
    // Restart also when warden exits with an error code, not only when it crashes.
    SERVICE_FAILURE_ACTIONS_FLAG flag = {TRUE};
    ::ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_FAILURE_ACTIONS_FLAG, &flag);
    SERVICE_PRESHUTDOWN_INFO preshutdown = {60000};
    ::ChangeServiceConfig2W(service.handle, SERVICE_CONFIG_PRESHUTDOWN_INFO, &preshutdown);
    return true;
}

bool uninstallWindowsService(const QString &name, QString *error)
{
    ScHandle manager{::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT)};
    if (!manager.handle) {
        *error = QStringLiteral("cannot open the service control manager: %1").arg(lastError());
        return false;
    }
    ScHandle service{::OpenServiceW(manager.handle, wide(name).c_str(),
                                    SERVICE_STOP | SERVICE_QUERY_STATUS | DELETE)};
    if (!service.handle) {
        *error = QStringLiteral("cannot open the service %1: %2").arg(name, lastError());
        return false;
    }
    SERVICE_STATUS status = {};
    if (::ControlService(service.handle, SERVICE_CONTROL_STOP, &status)) {
        for (int i = 0; i < 60 && ::QueryServiceStatus(service.handle, &status) &&
                        status.dwCurrentState != SERVICE_STOPPED;
             ++i)
            ::Sleep(500);
    }
    if (!::DeleteService(service.handle)) {
        *error = QStringLiteral("cannot delete the service %1: %2").arg(name, lastError());
        return false;
    }
    return true;
}

QString windowsServiceState(const QString &name, QString *error)
{
    ScHandle manager{::OpenSCManagerW(nullptr, nullptr, SC_MANAGER_CONNECT)};
    if (!manager.handle) {
        *error = QStringLiteral("cannot open the service control manager: %1").arg(lastError());
        return QString();
    }
    ScHandle service{::OpenServiceW(manager.handle, wide(name).c_str(), SERVICE_QUERY_STATUS)};
    if (!service.handle)
        return QStringLiteral("not-installed");
    SERVICE_STATUS status = {};
    if (!::QueryServiceStatus(service.handle, &status)) {
        *error = lastError();
        return QString();
    }
    switch (status.dwCurrentState) {
    case SERVICE_RUNNING:
        return QStringLiteral("running");
    case SERVICE_STOPPED:
        return QStringLiteral("stopped");
    case SERVICE_START_PENDING:
        return QStringLiteral("start-pending");
    case SERVICE_STOP_PENDING:
        return QStringLiteral("stop-pending");
    case SERVICE_PAUSED:
        return QStringLiteral("paused");
    default:
        return QStringLiteral("unknown");
    }
}

} // namespace Warden::Headless

#else // !Q_OS_WIN

namespace Warden::Headless {

std::unique_ptr<WindowsServiceControl> WindowsServiceControl::connect(const QString &)
{
    return nullptr;
}
WindowsServiceControl::~WindowsServiceControl() = default;
void WindowsServiceControl::reportStartPending(std::chrono::milliseconds) {}
void WindowsServiceControl::reportRunning() {}
void WindowsServiceControl::reportStopPending(std::chrono::milliseconds) {}
void WindowsServiceControl::reportStopped(int) {}
void installEventLogHandler(const QString &) {}
bool installWindowsService(const QString &, const QString &, QString *error)
{
    *error = QStringLiteral("Windows services exist on Windows only");
    return false;
}
bool uninstallWindowsService(const QString &, QString *error)
{
    *error = QStringLiteral("Windows services exist on Windows only");
    return false;
}
QString windowsServiceState(const QString &, QString *error)
{
    *error = QStringLiteral("Windows services exist on Windows only");
    return QString();
}

} // namespace Warden::Headless

#endif
