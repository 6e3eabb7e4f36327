// The command worker's process handling on Windows: QProcess in the run's thread (its
// waitFor* members need no event loop), in a job object of its own for each run:
// - the process is created inside the job (PROC_THREAD_ATTRIBUTE_JOB_LIST), so that nothing it
//   starts, even at once, can escape; everything it starts is in the job too;
// - a stop or timeout terminates the whole job (Windows has no SIGTERM for console programs);
// - the job kills what is left in it when its last handle closes (JOB_OBJECT_LIMIT_KILL_ON_JOB_
//   CLOSE): at the end of the run, and when warden exits in any way, killed or not.
//
// Not built or run in this project's Linux CI; the Unix file is the tested one.
#include "commandprocess_p.h"

#include <QtCore/qsystemdetection.h>

#if defined(Q_OS_WIN)

#include <warden/schedule.h>

#include <QtCore/QDir>
#include <QtCore/QProcess>

#include <atomic>
#include <vector>
#include <windows.h>

namespace Warden {

using namespace std::chrono;

namespace {

//! A job object that kills its processes when its last handle closes.
class RunJob
{
public:
    RunJob()
    {
        m_handle = ::CreateJobObjectW(nullptr, nullptr);
        if (!m_handle)
            return;
        JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {};
        limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
        if (!::SetInformationJobObject(m_handle, JobObjectExtendedLimitInformation, &limits,
                                       sizeof limits)) {
            ::CloseHandle(m_handle);
            m_handle = nullptr;
        }
    }
    ~RunJob()
    {
        if (m_handle)
            ::CloseHandle(m_handle); // kills what is still in the job
    }
    RunJob(const RunJob &) = delete;
    RunJob &operator=(const RunJob &) = delete;
    HANDLE handle() const { return m_handle; }

private:
    HANDLE m_handle = nullptr;
};

void logLines(QByteArray &buffer, const QByteArray &more, RunContext &context, QtMsgType level,
              bool flush)
{
    buffer += more;
    qsizetype start = 0;
    for (;;) {
        const qsizetype end = buffer.indexOf('\n', start);
        if (end < 0)
            break;
        QByteArray line = buffer.mid(start, end - start);
        if (line.endsWith('\r'))
            line.chop(1);
        context.log(level, QString::fromLocal8Bit(line));
        start = end + 1;
    }
    buffer.remove(0, start);
    if (flush && !buffer.isEmpty()) {
        context.log(level, QString::fromLocal8Bit(buffer));
        buffer.clear();
    }
}

} // namespace

void runCommand(const CommandSpec &spec, RunContext &context)
{
    if (spec.arguments.isEmpty()) {
        context.fail(QStringLiteral("no command given"));
        return;
    }
    const QProcessEnvironment environment = commandEnvironment(spec, context);

    QProcess process;
    process.setProcessEnvironment(environment);
    if (!spec.workingDirectory.isEmpty())
        process.setWorkingDirectory(spec.workingDirectory);
    process.setProgram(spec.arguments.first());
    process.setArguments(spec.arguments.mid(1));
    process.setStandardInputFile(QProcess::nullDevice());

    RunJob job;
    bool createdInJob = false;
#if defined(PROC_THREAD_ATTRIBUTE_JOB_LIST)
    // Create the process inside the job: assigning it after the start would let what it starts
    // in its first moments escape.
    HANDLE jobHandle = job.handle();
    SIZE_T attributeSize = 0;
    ::InitializeProcThreadAttributeList(nullptr, 1, 0, &attributeSize);
    std::vector<char> attributeBuffer(attributeSize);
    auto *attributes = reinterpret_cast<LPPROC_THREAD_ATTRIBUTE_LIST>(attributeBuffer.data());
    const bool haveAttributes =
        jobHandle && attributeSize > 0 &&
        ::InitializeProcThreadAttributeList(attributes, 1, 0, &attributeSize) &&
        ::UpdateProcThreadAttribute(attributes, 0, PROC_THREAD_ATTRIBUTE_JOB_LIST, &jobHandle,
                                    sizeof jobHandle, nullptr, nullptr);
    STARTUPINFOEXW startup = {};
    if (haveAttributes) {
        process.setCreateProcessArgumentsModifier([&](QProcess::CreateProcessArguments *args) {
            startup.StartupInfo = *args->startupInfo;
            startup.StartupInfo.cb = sizeof startup;
            startup.lpAttributeList = attributes;
            args->startupInfo = &startup.StartupInfo;
            args->flags |= EXTENDED_STARTUPINFO_PRESENT;
        });
        createdInJob = true;
    }
#endif
    process.start();
    const bool started = process.waitForStarted(30000);
#if defined(PROC_THREAD_ATTRIBUTE_JOB_LIST)
    if (haveAttributes)
        ::DeleteProcThreadAttributeList(attributes);
#endif
    if (!started) {
        context.fail(QStringLiteral("cannot start %1: %2")
                         .arg(spec.arguments.first(), process.errorString()));
        return;
    }
    if (job.handle() && !createdInJob) {
        HANDLE handle =
            ::OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, FALSE, DWORD(process.processId()));
        if (handle) {
            ::AssignProcessToJobObject(job.handle(), handle);
            ::CloseHandle(handle);
        }
    }
    QByteArray out, err;
    bool terminated = false;
    while (process.state() != QProcess::NotRunning) {
        process.waitForReadyRead(100);
        logLines(out, process.readAllStandardOutput(), context, QtInfoMsg, false);
        logLines(err, process.readAllStandardError(), context, QtWarningMsg, false);
        if (!terminated && context.isStopRequested()) {
            terminated = true;
            context.log(
                QtInfoMsg,
                QStringLiteral("stop requested: terminating %1").arg(spec.arguments.first()));
            // Windows has no SIGTERM for console programs in general: end the whole tree.
            if (!job.handle() || !::TerminateJobObject(job.handle(), 1))
                process.kill();
        }
    }
    process.waitForFinished(-1);
    logLines(out, process.readAllStandardOutput(), context, QtInfoMsg, true);
    logLines(err, process.readAllStandardError(), context, QtWarningMsg, true);
    if (process.exitStatus() == QProcess::CrashExit)
        context.fail(QStringLiteral("%1 was terminated").arg(spec.arguments.first()));
    else if (process.exitCode() != 0)
        context.fail(QStringLiteral("%1 exited with code %2")
                         .arg(spec.arguments.first())
                         .arg(process.exitCode()));
}

} // namespace Warden

#endif // Q_OS_WIN
