// The command worker's process handling on Windows: QProcess in the run's thread (its
// waitFor* members need no event loop), in a job object that kills the process tree when the
// last handle to the job closes, which happens when warden exits in any way.
//
// Not built or run in this project's Linux CI; the Unix file is the tested one.
#include "commandprocess_p.h"

#include <QtCore/qsystemdetection.h>

#if defined(Q_OS_WIN)

#include <warden/schedule.h>

#include <QtCore/QDir>
#include <QtCore/QProcess>

#include <atomic>
#include <windows.h>

namespace Warden {

using namespace std::chrono;

namespace {

HANDLE processJob()
{
    static HANDLE job = [] {
        HANDLE h = ::CreateJobObjectW(nullptr, nullptr);
        if (h) {
            JOBOBJECT_EXTENDED_LIMIT_INFORMATION limits = {};
            limits.BasicLimitInformation.LimitFlags = JOB_OBJECT_LIMIT_KILL_ON_JOB_CLOSE;
            ::SetInformationJobObject(h, JobObjectExtendedLimitInformation, &limits, sizeof limits);
        }
        return h;
    }();
    return job;
}

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
    QProcessEnvironment environment =
        spec.inheritEnvironment ? QProcessEnvironment::systemEnvironment() : QProcessEnvironment();
    for (auto it = spec.environment.cbegin(); it != spec.environment.cend(); ++it)
        environment.insert(it.key(), it.value());
    environment.insert(QStringLiteral("WARDEN_WORKER"), context.workerName());
    environment.insert(QStringLiteral("WARDEN_NODE"), context.nodeId());
    environment.insert(QStringLiteral("WARDEN_RUN_ID"), context.runId());
    environment.insert(QStringLiteral("WARDEN_SCHEDULED_AT"),
                       context.scheduledAt().toUTC().toString(Qt::ISODateWithMs));
    if (context.holdsLease()) {
        environment.insert(QStringLiteral("WARDEN_FENCING_TOKEN"),
                           QString::number(context.fencingToken()));
        environment.insert(QStringLiteral("WARDEN_LOCK"), context.lockName());
    }

    QProcess process;
    process.setProcessEnvironment(environment);
    if (!spec.workingDirectory.isEmpty())
        process.setWorkingDirectory(spec.workingDirectory);
    process.setProgram(spec.arguments.first());
    process.setArguments(spec.arguments.mid(1));
    process.setStandardInputFile(QProcess::nullDevice());
    process.start();
    if (!process.waitForStarted(30000)) {
        context.fail(QStringLiteral("cannot start %1: %2")
                         .arg(spec.arguments.first(), process.errorString()));
        return;
    }
    if (HANDLE job = processJob()) {
        HANDLE handle =
            ::OpenProcess(PROCESS_SET_QUOTA | PROCESS_TERMINATE, FALSE, DWORD(process.processId()));
        if (handle) {
            ::AssignProcessToJobObject(job, handle);
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
            process.kill(); // Windows has no SIGTERM for console programs in general
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
