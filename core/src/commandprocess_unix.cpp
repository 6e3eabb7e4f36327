// The command worker's process handling on Unix: fork/exec with pipes, poll() on the
// output, the stop token and a pidfd, all in the run's own thread.
//
// Why not QProcess: the run thread has no event loop, and a prompt reaction to the stop token
// needs a file descriptor to poll beside the pipes. Why a process group: SIGTERM and SIGKILL
// reach what the command started too (a shell's children). Why PR_SET_PDEATHSIG: a command
// must never outlive the warden process that started it, even when that process is killed
// with SIGKILL, or it could go on writing after its lease passed to another node. The death
// signal fires when the *thread* that forked exits; the forking thread here is the run thread,
// and it does not return before the child has been reaped, so it outlives the child.
#include "commandprocess_p.h"

#include <QtCore/qsystemdetection.h>

#if defined(Q_OS_UNIX)

#include <warden/schedule.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QProcessEnvironment>
#include <QtCore/QStandardPaths>

#include <cerrno>
#include <csignal>
#include <cstring>
#include <fcntl.h>
#include <poll.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#if defined(Q_OS_LINUX)
#include <sys/prctl.h>
#endif

namespace Warden {

using namespace std::chrono;

namespace {

class FileDescriptor
{
public:
    FileDescriptor() = default;
    explicit FileDescriptor(int fd)
        : m_fd(fd)
    {}
    ~FileDescriptor() { reset(); }
    FileDescriptor(const FileDescriptor &) = delete;
    FileDescriptor &operator=(const FileDescriptor &) = delete;
    int get() const { return m_fd; }
    void reset(int fd = -1)
    {
        if (m_fd >= 0)
            ::close(m_fd);
        m_fd = fd;
    }

private:
    int m_fd = -1;
};

bool makePipe(FileDescriptor &readEnd, FileDescriptor &writeEnd)
{
    int fds[2];
    if (::pipe(fds) != 0)
        return false;
    for (int fd : fds)
        ::fcntl(fd, F_SETFD, FD_CLOEXEC);
    readEnd.reset(fds[0]);
    writeEnd.reset(fds[1]);
    return true;
}

void setNonBlocking(int fd)
{
    ::fcntl(fd, F_SETFL, ::fcntl(fd, F_GETFL) | O_NONBLOCK);
}

//! Turns a byte stream into log lines of the run.
class LineLogger
{
public:
    LineLogger(RunContext &context, QtMsgType level)
        : m_context(context)
        , m_level(level)
    {}
    void feed(const char *data, qsizetype size)
    {
        m_buffer.append(data, size);
        qsizetype start = 0;
        for (;;) {
            const qsizetype end = m_buffer.indexOf('\n', start);
            if (end < 0)
                break;
            emitLine(m_buffer.mid(start, end - start));
            start = end + 1;
        }
        m_buffer.remove(0, start);
        if (m_buffer.size() > MaximumLine) {
            emitLine(m_buffer);
            m_buffer.clear();
        }
    }
    void finish()
    {
        if (!m_buffer.isEmpty())
            emitLine(m_buffer);
        m_buffer.clear();
    }

private:
    static constexpr qsizetype MaximumLine = 16 * 1024;
    void emitLine(QByteArray line)
    {
        if (line.endsWith('\r'))
            line.chop(1);
        m_context.log(m_level, QString::fromUtf8(line));
    }
    RunContext &m_context;
    QtMsgType m_level;
    QByteArray m_buffer;
};

//! Reads what is there; returns false on end of file.
bool drain(int fd, LineLogger &logger)
{
    char buffer[16384];
    for (;;) {
        const ssize_t got = ::read(fd, buffer, sizeof buffer);
        if (got > 0) {
            logger.feed(buffer, got);
            continue;
        }
        if (got == 0)
            return false;
        if (errno == EINTR)
            continue;
        return errno == EAGAIN || errno == EWOULDBLOCK;
    }
}

struct ExecFailure
{
    int stage = 0; // 1: working directory, 2: exec
    int error = 0;
};

QString signalName(int signal)
{
    switch (signal) {
    case SIGTERM:
        return QStringLiteral("SIGTERM");
    case SIGKILL:
        return QStringLiteral("SIGKILL");
    case SIGINT:
        return QStringLiteral("SIGINT");
    case SIGSEGV:
        return QStringLiteral("SIGSEGV");
    case SIGABRT:
        return QStringLiteral("SIGABRT");
    default:
        return QStringLiteral("signal %1").arg(signal);
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
    } else {
        environment.remove(QStringLiteral("WARDEN_FENCING_TOKEN"));
        environment.remove(QStringLiteral("WARDEN_LOCK"));
    }

    const QString workingDirectory =
        spec.workingDirectory.isEmpty() ? QDir::currentPath() : spec.workingDirectory;
    QString program = spec.arguments.first();
    if (!program.contains(QLatin1Char('/'))) {
        QString path = environment.value(QStringLiteral("PATH"));
        if (path.isEmpty())
            path = QStringLiteral("/usr/local/bin:/usr/bin:/bin");
        const QString found = QStandardPaths::findExecutable(
            program, path.split(QLatin1Char(':'), Qt::SkipEmptyParts));
        if (found.isEmpty()) {
            context.fail(
                QStringLiteral("cannot start %1: not found in PATH (%2)").arg(program, path));
            return;
        }
        program = found;
    } else {
        program = QDir(workingDirectory).absoluteFilePath(program);
    }

    // Everything the child needs, prepared before fork(): the child may only make
    // async-signal-safe calls.
    const QByteArray programPath = QFile::encodeName(program);
    const QByteArray directory = QFile::encodeName(workingDirectory);
    std::vector<QByteArray> argumentStore;
    for (const QString &argument : spec.arguments)
        argumentStore.push_back(argument.toLocal8Bit());
    std::vector<char *> argv;
    for (QByteArray &argument : argumentStore)
        argv.push_back(argument.data());
    argv.push_back(nullptr);
    std::vector<QByteArray> environmentStore;
    for (const QString &entry : environment.toStringList())
        environmentStore.push_back(entry.toLocal8Bit());
    std::vector<char *> envp;
    for (QByteArray &entry : environmentStore)
        envp.push_back(entry.data());
    envp.push_back(nullptr);

    FileDescriptor outRead, outWrite, errRead, errWrite, failRead, failWrite, stopRead, stopWrite;
    FileDescriptor devNull(::open("/dev/null", O_RDONLY | O_CLOEXEC));
    if (!makePipe(outRead, outWrite) || !makePipe(errRead, errWrite) ||
        !makePipe(failRead, failWrite) || !makePipe(stopRead, stopWrite) || devNull.get() < 0) {
        context.fail(QStringLiteral("cannot start %1: %2")
                         .arg(program, QString::fromLocal8Bit(std::strerror(errno))));
        return;
    }

    const pid_t parent = ::getpid();
    const pid_t pid = ::fork();
    if (pid < 0) {
        context.fail(QStringLiteral("cannot start %1: fork: %2")
                         .arg(program, QString::fromLocal8Bit(std::strerror(errno))));
        return;
    }
    if (pid == 0) {
        // The child. Async-signal-safe calls only.
        ::setpgid(0, 0);
#if defined(Q_OS_LINUX)
        ::prctl(PR_SET_PDEATHSIG, SIGKILL);
        if (::getppid() != parent) // the parent died before the death signal was set
            ::_exit(127);
#else
        Q_UNUSED(parent)
#endif
        sigset_t none;
        sigemptyset(&none);
        ::sigprocmask(SIG_SETMASK, &none, nullptr);
        for (int s : {SIGPIPE, SIGTERM, SIGINT, SIGHUP, SIGQUIT, SIGCHLD, SIGUSR1, SIGUSR2})
            ::signal(s, SIG_DFL);
        ::dup2(devNull.get(), 0);
        ::dup2(outWrite.get(), 1);
        ::dup2(errWrite.get(), 2);
        ExecFailure failure;
        if (::chdir(directory.constData()) != 0) {
            failure = ExecFailure{1, errno};
        } else {
            ::execve(programPath.constData(), argv.data(), envp.data());
            failure = ExecFailure{2, errno};
        }
        [[maybe_unused]] const ssize_t written = ::write(failWrite.get(), &failure, sizeof failure);
        ::_exit(127);
    }
    ::setpgid(pid, pid); // also here, so that no signal to the group can come too early
    outWrite.reset();
    errWrite.reset();
    failWrite.reset();

    ExecFailure failure;
    ssize_t got = 0;
    do {
        got = ::read(failRead.get(), &failure, sizeof failure);
    } while (got < 0 && errno == EINTR);
    if (got == ssize_t(sizeof failure)) {
        int status = 0;
        ::waitpid(pid, &status, 0);
        const QString why = QString::fromLocal8Bit(std::strerror(failure.error));
        context.fail(
            failure.stage == 1
                ? QStringLiteral("cannot enter working directory %1: %2").arg(workingDirectory, why)
                : QStringLiteral("cannot start %1: %2").arg(program, why));
        return;
    }
    failRead.reset();

    setNonBlocking(outRead.get());
    setNonBlocking(errRead.get());
    setNonBlocking(stopRead.get());
    const int stopFd = stopWrite.get();
    const int callback = context.stopToken().onStop([stopFd] {
        const char byte = 1;
        [[maybe_unused]] const ssize_t n = ::write(stopFd, &byte, 1);
    });

    FileDescriptor pidFd;
#if defined(SYS_pidfd_open)
    pidFd.reset(int(::syscall(SYS_pidfd_open, pid, 0)));
#endif

    LineLogger out(context, QtInfoMsg);
    LineLogger err(context, QtWarningMsg);
    bool outOpen = true;
    bool errOpen = true;
    bool terminating = false;
    bool killed = false;
    steady_clock::time_point killAt;
    int status = 0;
    for (;;) {
        pollfd fds[4];
        int count = 0;
        int outIndex = -1, errIndex = -1, stopIndex = -1, pidIndex = -1;
        if (outOpen) {
            outIndex = count;
            fds[count++] = pollfd{outRead.get(), POLLIN, 0};
        }
        if (errOpen) {
            errIndex = count;
            fds[count++] = pollfd{errRead.get(), POLLIN, 0};
        }
        if (!terminating) {
            stopIndex = count;
            fds[count++] = pollfd{stopRead.get(), POLLIN, 0};
        }
        if (pidFd.get() >= 0) {
            pidIndex = count;
            fds[count++] = pollfd{pidFd.get(), POLLIN, 0};
        }
        int timeout = pidFd.get() >= 0 ? -1 : 100; // without a pidfd, look for the exit
        if (terminating && !killed) {
            const auto left = duration_cast<milliseconds>(killAt - steady_clock::now()).count() + 1;
            timeout = timeout < 0 ? int(std::max<qint64>(0, left))
                                  : std::min(timeout, int(std::max<qint64>(0, left)));
        }
        const int ready = ::poll(fds, nfds_t(count), timeout);
        if (ready < 0 && errno != EINTR)
            break;
        if (outIndex >= 0 && fds[outIndex].revents)
            outOpen = drain(outRead.get(), out);
        if (errIndex >= 0 && fds[errIndex].revents)
            errOpen = drain(errRead.get(), err);
        if (stopIndex >= 0 && fds[stopIndex].revents) {
            terminating = true;
            killAt = steady_clock::now() + spec.killGrace;
            context.log(QtInfoMsg,
                        QStringLiteral("stop requested (%1): sending SIGTERM to %2 (pid %3)")
                            .arg(toKeyword(context.stopToken().stopReason()), program)
                            .arg(pid));
            ::kill(-pid, SIGTERM);
        }
        if (terminating && !killed && steady_clock::now() >= killAt) {
            killed = true;
            context.log(QtWarningMsg,
                        QStringLiteral("%1 did not exit within %2 of SIGTERM: sending SIGKILL")
                            .arg(program, IntervalSchedule::formatDuration(spec.killGrace)));
            ::kill(-pid, SIGKILL);
        }
        if (pidIndex < 0 || fds[pidIndex].revents) {
            const pid_t done = ::waitpid(pid, &status, WNOHANG);
            if (done == pid || (done < 0 && errno == ECHILD))
                break;
        }
    }
    context.stopToken().removeCallback(callback);
    // What the command left behind in its process group goes with it; then read the rest.
    ::kill(-pid, SIGKILL);
    if (outOpen)
        drain(outRead.get(), out);
    if (errOpen)
        drain(errRead.get(), err);
    out.finish();
    err.finish();

    if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        context.fail(
            QStringLiteral("%1 exited with code %2").arg(program).arg(WEXITSTATUS(status)));
    else if (WIFSIGNALED(status))
        context.fail(
            QStringLiteral("%1 was killed by %2").arg(program, signalName(WTERMSIG(status))));
}

} // namespace Warden

#endif // Q_OS_UNIX
