// The command worker's process handling on Unix: fork/exec with pipes, poll() on the
// output, the stop token and a pidfd, all in the run's own thread.
//
// Why not QProcess: the run thread has no event loop, and a prompt reaction to the stop token
// needs a file descriptor to poll beside the pipes.
//
// A command must never outlive the warden process that started it, even when that process is
// killed with SIGKILL, or what it started could go on writing after its lease passed to another
// node. PR_SET_PDEATHSIG alone covers only a direct child (and fires when the *thread* that
// forked exits). So every command runs under a keeper, a small process forked from the run
// thread that does not exec:
//
//   warden (run thread) ──fork──► keeper ──fork──► command (leader of its own process group)
//                        ◄─socket─►                   └── whatever the command starts
//
// - The keeper holds one end of a socket pair; warden holds the other. When warden dies, for
//   any reason, the kernel closes warden's end and the keeper reads end-of-file: it kills the
//   command's process group and every other descendant, then exits. Nothing else holds that
//   end: other keepers close every inherited descriptor at once, commands close it on exec.
// - The keeper is a child subreaper (PR_SET_CHILD_SUBREAPER): a descendant that leaves the
//   process group (setsid, a double-forked daemon) is still re-parented to the keeper when its
//   parent exits, so the keeper finds it in /proc and kills it too.
// - The command has PR_SET_PDEATHSIG = SIGKILL towards the keeper, a single-threaded process:
//   should the keeper itself be killed, the command dies with it.
// - On stop or timeout warden asks the keeper to send SIGTERM, then SIGKILL, to the command's
//   process group. The keeper signals the group only while it has not reaped the command, so
//   the process group id cannot have been reused.
// - When the command exits, the keeper kills what it left behind (its process group and any
//   other descendant): nothing of a run survives the run. Then it reports the exit status.
// - The keeper enforces the run's lease. When the run holds one, the keeper knows two moments
//   on the monotonic clock (CLOCK_MONOTONIC, one clock for every process of the machine): the
//   fence time, when it sends SIGTERM to the command's group, and the kill time, when it sends
//   SIGKILL, at the latest a quarter of the safety margin before the lease would expire by
//   this node's clock (the database counts the same ttl from a later moment). Warden moves
//   both on after every successful renewal. So when warden is frozen (SIGSTOP), stuck or
//   starved and stops renewing, the keeper ends the command before another node can hold the
//   lease, whatever the command's kill_grace and whether it ignores SIGTERM. Only a keeper
//   frozen together with warden (a whole stopped machine or process tree) escapes this: the
//   fencing token is the defence there.
//
// The keeper and the command run between fork() and exec() of a multithreaded process: they
// make async-signal-safe system calls only (no malloc, no locks, no Qt).
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
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <vector>

#if defined(Q_OS_LINUX)
#include <sys/prctl.h>
#include <sys/signalfd.h>
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
    int stage = 0; // 1: working directory, 2: exec, 3: the lease's fence time passed
    int error = 0;
};

//! What the keeper tells warden over the socket.
struct KeeperReport
{
    enum Kind : int { Started = 1, ForkFailed = 2, Finished = 3 };
    int kind = 0;
    int value = 0; // Started: the command's pid; ForkFailed: errno; Finished: wait status
    qint64 at = 0; // Finished: when the keeper saw the command end (CLOCK_MONOTONIC ns)
};

//! What warden asks of the keeper: one byte, DeadlineRequest followed by a LeaseDeadline.
constexpr char TerminateRequest = 'T';
constexpr char KillRequest = 'K';
constexpr char DeadlineRequest = 'D';

//! The lease's deadlines for the keeper, in CLOCK_MONOTONIC nanoseconds; 0: none.
struct LeaseDeadline
{
    qint64 terminateAt = 0;
    qint64 killAt = 0;
};

qint64 monotonicNow()
{
    timespec now = {};
    ::clock_gettime(CLOCK_MONOTONIC, &now); // async-signal-safe
    return qint64(now.tv_sec) * 1000000000 + now.tv_nsec;
}

//! \a time on CLOCK_MONOTONIC: libstdc++'s steady_clock is that clock.
qint64 monotonicNanoseconds(steady_clock::time_point time)
{
    static_assert(std::is_same_v<steady_clock::duration, nanoseconds>);
    return time.time_since_epoch().count();
}

/*!
    The deadlines for a run holding a lease: SIGTERM at the fence time, SIGKILL after the
    grace period but at the latest a quarter of the safety margin before the lease ends.
*/
LeaseDeadline leaseDeadline(const RunContext &context, milliseconds killGrace)
{
    const steady_clock::time_point validUntil = context.leaseValidUntil();
    if (validUntil == steady_clock::time_point::max())
        return LeaseDeadline();
    const steady_clock::time_point fenceAt = context.leaseFenceAt();
    const steady_clock::time_point killAt = std::min<steady_clock::time_point>(
        fenceAt + killGrace, validUntil - (validUntil - fenceAt) / 4);
    return LeaseDeadline{monotonicNanoseconds(fenceAt), monotonicNanoseconds(killAt)};
}

//! Everything the keeper and the command need, prepared before fork().
struct ChildSetup
{
    const char *program = nullptr;
    char *const *argv = nullptr;
    char *const *envp = nullptr;
    const char *directory = nullptr;
    int devNull = -1;
    int outWrite = -1;
    int errWrite = -1;
    int failWrite = -1;
    int keeperSocket = -1; // the keeper's end
    LeaseDeadline lease;   // the lease's deadlines at the start
};

bool writeAll(int fd, const void *data, size_t size)
{
    const char *p = static_cast<const char *>(data);
    while (size > 0) {
        const ssize_t n = ::write(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        size -= size_t(n);
    }
    return true;
}

bool readAll(int fd, void *data, size_t size)
{
    char *p = static_cast<char *>(data);
    while (size > 0) {
        const ssize_t n = ::read(fd, p, size);
        if (n < 0 && errno == EINTR)
            continue;
        if (n <= 0)
            return false;
        p += n;
        size -= size_t(n);
    }
    return true;
}

[[noreturn]] void execCommand(const ChildSetup &setup, pid_t keeper)
{
    // The command: async-signal-safe calls only.
    ::setpgid(0, 0);
#if defined(Q_OS_LINUX)
    ::prctl(PR_SET_PDEATHSIG, SIGKILL);
    if (::getppid() != keeper) // the keeper died before the death signal was set
        ::_exit(127);
#else
    Q_UNUSED(keeper)
#endif
    for (int s = 1; s < NSIG; ++s) {
        if (s != SIGKILL && s != SIGSTOP)
            ::signal(s, SIG_DFL);
    }
    sigset_t none;
    sigemptyset(&none);
    ::sigprocmask(SIG_SETMASK, &none, nullptr);
    ::dup2(setup.devNull, 0);
    ::dup2(setup.outWrite, 1);
    ::dup2(setup.errWrite, 2);
    ExecFailure failure;
    if (setup.lease.terminateAt > 0 && monotonicNow() >= setup.lease.terminateAt) {
        // The lease's fence time passed before the command could start (warden or the keeper
        // was frozen or starved between the lease check and this fork): it starts nothing.
        failure = ExecFailure{3, 0};
    } else if (::chdir(setup.directory) != 0) {
        failure = ExecFailure{1, errno};
    } else {
        ::execve(setup.program, setup.argv, setup.envp);
        failure = ExecFailure{2, errno};
    }
    writeAll(setup.failWrite, &failure, sizeof failure);
    ::_exit(127);
}

pid_t forkInChild()
{
#if defined(__GLIBC__) && (__GLIBC__ > 2 || (__GLIBC__ == 2 && __GLIBC_MINOR__ >= 34))
    return ::_Fork(); // no atfork handlers: async-signal-safe
#else
    return ::fork();
#endif
}

//! Closes every descriptor from \a first on, except \a keep.
void closeFrom(int first, int keep)
{
    auto closeRange = [](unsigned from, unsigned to) {
        if (from > to)
            return;
#if defined(SYS_close_range)
        if (::syscall(SYS_close_range, from, to, 0) == 0)
            return;
#endif
        for (unsigned fd = from; fd <= to && fd < 65536; ++fd)
            ::close(int(fd));
    };
    if (keep >= first) {
        closeRange(unsigned(first), unsigned(keep) - 1);
        closeRange(unsigned(keep) + 1, ~0U);
    } else {
        closeRange(unsigned(first), ~0U);
    }
}

#if defined(Q_OS_LINUX)
/*!
    Sends SIGKILL to every process whose parent is the calling process, found in /proc (the
    kernel here may lack /proc/PID/task/TID/children). Returns how many it found.
*/
int killChildren()
{
    const pid_t self = ::getpid();
    const int dir = ::open("/proc", O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (dir < 0)
        return -1;
    int found = 0;
    alignas(8) char entries[4096];
    for (;;) {
        const long got = ::syscall(SYS_getdents64, dir, entries, sizeof entries);
        if (got <= 0)
            break;
        for (long at = 0; at < got;) {
            // struct linux_dirent64: u64 inode, s64 offset, u16 record length, u8 type, name
            unsigned short length = 0;
            std::memcpy(&length, entries + at + 16, sizeof length);
            const char *name = entries + at + 19;
            at += length;
            pid_t pid = 0;
            const char *c = name;
            for (; *c >= '0' && *c <= '9'; ++c)
                pid = pid * 10 + (*c - '0');
            if (*c != '\0' || pid <= 0 || pid == self)
                continue;
            char path[48] = "/proc/";
            size_t n = 6;
            for (const char *d = name; *d && n < sizeof path - 6; ++d)
                path[n++] = *d;
            std::memcpy(path + n, "/stat", 6);
            const int fd = ::open(path, O_RDONLY | O_CLOEXEC);
            if (fd < 0)
                continue;
            char stat[512];
            const ssize_t size = ::read(fd, stat, sizeof stat - 1);
            ::close(fd);
            if (size <= 0)
                continue;
            stat[size] = '\0';
            // "pid (comm) S ppid ...": the name may hold anything, so look for the last ')'.
            const char *close = nullptr;
            for (const char *d = stat; *d; ++d) {
                if (*d == ')')
                    close = d;
            }
            if (!close || close[1] != ' ' || !close[2] || close[3] != ' ')
                continue;
            pid_t parent = 0;
            for (const char *d = close + 4; *d >= '0' && *d <= '9'; ++d)
                parent = parent * 10 + (*d - '0');
            if (parent == self) {
                ::kill(pid, SIGKILL);
                ++found;
            }
        }
    }
    ::close(dir);
    return found;
}
#endif

/*!
    Kills and reaps every remaining descendant of the calling process (a subreaper): what is
    killed re-parents its own children to us, so repeat until there is no child left.
*/
void killDescendants()
{
    for (int idle = 0; idle < 200;) {
        siginfo_t info = {};
        if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 && errno == ECHILD)
            return;
#if defined(Q_OS_LINUX)
        const int found = killChildren();
#else
        const int found = 0;
#endif
        int status = 0;
        const pid_t reaped = ::waitpid(-1, &status, found > 0 ? 0 : WNOHANG);
        if (reaped > 0) {
            idle = 0;
        } else {
            ++idle; // a child we cannot see yet (or at all): look again shortly
            const timespec pause = {0, 5 * 1000 * 1000};
            ::nanosleep(&pause, nullptr);
        }
    }
}

/*!
    The keeper (see the top of this file). Async-signal-safe calls only: it runs in a child of
    a multithreaded process and never execs.
*/
[[noreturn]] void runKeeper(const ChildSetup &setup)
{
    ::setpgid(0, 0); // out of warden's process group: a Ctrl-C in the terminal is warden's
    struct sigaction ignore = {};
    ignore.sa_handler = SIG_IGN;
    for (int s : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGPIPE, SIGUSR1, SIGUSR2})
        ::sigaction(s, &ignore, nullptr);
    struct sigaction byDefault = {};
    byDefault.sa_handler = SIG_DFL;
    ::sigaction(SIGCHLD, &byDefault, nullptr);
    sigset_t childSignal;
    sigemptyset(&childSignal);
    sigaddset(&childSignal, SIGCHLD);
    ::sigprocmask(SIG_SETMASK, &childSignal, nullptr);
#if defined(Q_OS_LINUX)
    ::prctl(PR_SET_CHILD_SUBREAPER, 1);
#endif
    // Above the standard descriptors, which are about to become /dev/null (warden may have
    // been started with some of them closed).
    int control = setup.keeperSocket;
    if (control < 3)
        control = ::fcntl(control, F_DUPFD_CLOEXEC, 3);
    const pid_t self = ::getpid();

    const pid_t command = forkInChild();
    if (command == 0)
        execCommand(setup, self);
    if (command > 0)
        ::setpgid(command, command); // also here: the group exists before it is signalled
    // The keeper keeps its socket only: the pipes and anything else inherited from warden go
    // (another keeper must not hold this one's socket, nor a command warden's output pipes).
    for (int fd = 0; fd < 3; ++fd)
        ::dup2(setup.devNull, fd);
    closeFrom(3, control);
    // SIGCHLD is blocked, so one that came before this point is still pending and reported.
    int events = -1;
#if defined(Q_OS_LINUX)
    events = ::signalfd(-1, &childSignal, SFD_CLOEXEC | SFD_NONBLOCK);
#endif
    if (command < 0) {
        const KeeperReport report{KeeperReport::ForkFailed, errno};
        writeAll(control, &report, sizeof report);
        ::_exit(1);
    }
    const KeeperReport started{KeeperReport::Started, int(command)};
    writeAll(control, &started, sizeof started);

    bool orphaned = false;
    int status = 0;
    LeaseDeadline lease = setup.lease;
    bool terminated = false; // by the lease's deadline
    bool killed = false;
    for (;;) {
        // Reap re-parented orphans; peek at the command without reaping it, so that its pid,
        // the process group id, cannot be reused while the group may still be signalled.
        bool commandExited = false;
        for (;;) {
            siginfo_t info = {};
            if (::waitid(P_ALL, 0, &info, WEXITED | WNOHANG | WNOWAIT) != 0 || info.si_pid == 0)
                break;
            if (info.si_pid == command) {
                commandExited = true;
                break;
            }
            ::waitpid(info.si_pid, nullptr, 0);
        }
        if (commandExited)
            break;
        // The lease: warden did not move its deadlines on in time.
        const qint64 now = monotonicNow();
        if (lease.killAt > 0 && !killed && now >= lease.killAt) {
            killed = true;
            ::kill(-command, SIGKILL);
        } else if (lease.terminateAt > 0 && !terminated && now >= lease.terminateAt) {
            terminated = true;
            ::kill(-command, SIGTERM);
        }
        int timeout = events >= 0 ? -1 : 100;
        for (qint64 at : {terminated ? 0 : lease.terminateAt, killed ? 0 : lease.killAt}) {
            if (at <= 0)
                continue;
            const qint64 left = (at - now + 999999) / 1000000;
            const int ms = int(std::max<qint64>(0, std::min<qint64>(left, 60000)));
            timeout = timeout < 0 ? ms : std::min(timeout, ms);
        }
        pollfd fds[2] = {{control, POLLIN, 0}, {events, POLLIN, 0}};
        const int ready = ::poll(fds, events >= 0 ? 2 : 1, timeout);
        if (ready < 0 && errno != EINTR) {
            orphaned = true;
            break;
        }
        if (events >= 0 && fds[1].revents) {
            char drain[sizeof(long) * 16 * 8];
            while (::read(events, drain, sizeof drain) > 0) {
            }
        }
        if (fds[0].revents) {
            char request = 0;
            const ssize_t got = ::read(control, &request, 1);
            if (got == 0 || (got < 0 && errno != EINTR && errno != EAGAIN)) {
                orphaned = true; // warden is gone, or finished with this run
                break;
            }
            if (got == 1 && request == TerminateRequest) {
                ::kill(-command, SIGTERM);
            } else if (got == 1 && request == KillRequest) {
                ::kill(-command, SIGKILL);
            } else if (got == 1 && request == DeadlineRequest) {
                LeaseDeadline extended;
                if (!readAll(control, &extended, sizeof extended)) {
                    orphaned = true;
                    break;
                }
                // Later only: a deadline that passed has been acted on.
                if (!terminated)
                    lease.terminateAt = std::max(lease.terminateAt, extended.terminateAt);
                if (!killed)
                    lease.killAt = std::max(lease.killAt, extended.killAt);
            }
        }
    }
    const qint64 endedAt = monotonicNow();
    ::kill(-command, SIGKILL);
    ::waitpid(command, &status, 0);
    killDescendants();
    if (!orphaned) {
        const KeeperReport finished{KeeperReport::Finished, status, endedAt};
        writeAll(control, &finished, sizeof finished);
    }
    ::_exit(0);
}

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
    // A run stopped before it began (its lease lost meanwhile, say) starts nothing: the stop
    // callback below only reaches a command that exists.
    if (context.isStopRequested() || steady_clock::now() >= context.leaseFenceAt()) {
        context.fail(context.isStopRequested()
                         ? QStringLiteral("not started: stop requested (%1) before the command "
                                          "began")
                               .arg(toKeyword(context.stopToken().stopReason()))
                         : QStringLiteral("not started: the lease passed its fence time before "
                                          "the command began"));
        return;
    }
    const QProcessEnvironment environment = commandEnvironment(spec, context);

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

    int sockets[2] = {-1, -1};
    if (::socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sockets) != 0) {
        context.fail(QStringLiteral("cannot start %1: %2")
                         .arg(program, QString::fromLocal8Bit(std::strerror(errno))));
        return;
    }
    FileDescriptor control(sockets[0]);
    FileDescriptor keeperSocket(sockets[1]);

    ChildSetup setup;
    setup.program = programPath.constData();
    setup.argv = argv.data();
    setup.envp = envp.data();
    setup.directory = directory.constData();
    setup.devNull = devNull.get();
    setup.outWrite = outWrite.get();
    setup.errWrite = errWrite.get();
    setup.failWrite = failWrite.get();
    setup.keeperSocket = keeperSocket.get();
    setup.lease = leaseDeadline(context, spec.killGrace);

    const pid_t keeper = ::fork();
    if (keeper < 0) {
        context.fail(QStringLiteral("cannot start %1: fork: %2")
                         .arg(program, QString::fromLocal8Bit(std::strerror(errno))));
        return;
    }
    if (keeper == 0)
        runKeeper(setup);
    outWrite.reset();
    errWrite.reset();
    failWrite.reset();
    keeperSocket.reset();

    auto reapKeeper = [keeper] {
        while (::waitpid(keeper, nullptr, 0) < 0 && errno == EINTR) {
        }
    };
    KeeperReport report;
    if (!readAll(control.get(), &report, sizeof report) || report.kind != KeeperReport::Started) {
        reapKeeper();
        context.fail(QStringLiteral("cannot start %1: fork: %2")
                         .arg(program, QString::fromLocal8Bit(std::strerror(
                                           report.kind == KeeperReport::ForkFailed ? report.value
                                                                                   : EAGAIN))));
        return;
    }
    const pid_t pid = report.value;

    ExecFailure failure;
    if (readAll(failRead.get(), &failure, sizeof failure)) {
        reapKeeper();
        const QString why = QString::fromLocal8Bit(std::strerror(failure.error));
        if (failure.stage == 3) {
            context.fail(QStringLiteral("not started: the lease passed its fence time before %1 "
                                        "could start (this node was frozen or starved)")
                             .arg(program));
            return;
        }
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
    auto ask = [&control](char request) {
        [[maybe_unused]] const ssize_t n = ::send(control.get(), &request, 1, MSG_NOSIGNAL);
    };
    // A run on a lease: warden passes every renewal on to the keeper (see the top of the file).
    const bool leased = context.leaseValidUntil() != steady_clock::time_point::max();
    LeaseDeadline sentDeadline = setup.lease;
    auto passOnRenewal = [&] {
        const LeaseDeadline now = leaseDeadline(context, spec.killGrace);
        if (now.terminateAt <= sentDeadline.terminateAt && now.killAt <= sentDeadline.killAt)
            return;
        char message[1 + sizeof(LeaseDeadline)];
        message[0] = DeadlineRequest;
        std::memcpy(message + 1, &now, sizeof now);
        [[maybe_unused]] const ssize_t n =
            ::send(control.get(), message, sizeof message, MSG_NOSIGNAL);
        sentDeadline = now;
    };

    // The keeper exits once the command and everything it started are gone.
    FileDescriptor pidFd;
#if defined(SYS_pidfd_open)
    pidFd.reset(int(::syscall(SYS_pidfd_open, keeper, 0)));
#endif

    LineLogger out(context, QtInfoMsg);
    LineLogger err(context, QtWarningMsg);
    bool outOpen = true;
    bool errOpen = true;
    bool terminating = false;
    bool killed = false;
    steady_clock::time_point killAt;
    steady_clock::time_point termSentAt;
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
        if (leased) {
            passOnRenewal();
            timeout = timeout < 0 ? 100 : std::min(timeout, 100); // renewals come every ttl/3
            // However long the grace, SIGKILL lands before the lease can end; while the lease
            // is renewed (a shutdown keeps renewing until the run ends) the grace is whole.
            if (terminating && !killed)
                killAt = std::min(termSentAt + spec.killGrace,
                                  steady_clock::time_point(
                                      nanoseconds(leaseDeadline(context, spec.killGrace).killAt)));
        }
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
            if (leased)
                killAt = std::min(killAt, steady_clock::time_point(nanoseconds(
                                              leaseDeadline(context, spec.killGrace).killAt)));
            termSentAt = steady_clock::now();
            context.log(QtInfoMsg,
                        QStringLiteral("stop requested (%1): sending SIGTERM to %2 (pid %3)")
                            .arg(toKeyword(context.stopToken().stopReason()), program)
                            .arg(pid));
            ask(TerminateRequest);
        }
        if (terminating && !killed && steady_clock::now() >= killAt) {
            killed = true;
            const auto waited = duration_cast<milliseconds>(steady_clock::now() - termSentAt);
            if (waited < milliseconds(10) && killAt < termSentAt + spec.killGrace)
                // Warden noticed late (it was frozen or starved): the lease's deadline passed
                // already, and the keeper acted on it on its own.
                context.log(QtWarningMsg,
                            QStringLiteral("the lease's deadline has passed: SIGKILL to %1 (its "
                                           "keeper ends it on the same deadline by itself)")
                                .arg(program));
            else
                context.log(
                    QtWarningMsg,
                    QStringLiteral("%1 did not exit within %2 of SIGTERM%3: sending SIGKILL")
                        .arg(program, IntervalSchedule::formatDuration(waited),
                             killAt < termSentAt + spec.killGrace
                                 ? QStringLiteral(" (kill_grace cut short: the lease ends)")
                                 : QString()));
            ask(KillRequest);
        }
        if (pidIndex < 0 || fds[pidIndex].revents) {
            int keeperStatus = 0;
            const pid_t done = ::waitpid(keeper, &keeperStatus, WNOHANG);
            if (done == keeper || (done < 0 && errno == ECHILD))
                break;
        }
    }
    context.stopToken().removeCallback(callback);
    // The keeper reported the command's status before it exited; the rest of the output waits
    // in the pipes.
    const bool reported =
        readAll(control.get(), &report, sizeof report) && report.kind == KeeperReport::Finished;
    const int status = report.value;
    // The command's true end, which the run records even when warden learns of it later.
    if (reported && report.at > 0)
        context.setWorkEndedAt(steady_clock::time_point(nanoseconds(report.at)));
    if (outOpen)
        drain(outRead.get(), out);
    if (errOpen)
        drain(errRead.get(), err);
    out.finish();
    err.finish();

    if (!reported)
        context.fail(QStringLiteral("%1: its keeper process was killed; the command and what it "
                                    "started were killed with it")
                         .arg(program));
    else if (WIFEXITED(status) && WEXITSTATUS(status) != 0)
        context.fail(
            QStringLiteral("%1 exited with code %2").arg(program).arg(WEXITSTATUS(status)));
    else if (WIFSIGNALED(status) && leased && steady_clock::now() >= context.leaseFenceAt())
        context.fail(QStringLiteral("%1 was ended by its keeper with %2: the lease passed its "
                                    "fence time without a renewal")
                         .arg(program, signalName(WTERMSIG(status))));
    else if (WIFSIGNALED(status))
        context.fail(
            QStringLiteral("%1 was killed by %2").arg(program, signalName(WTERMSIG(status))));
}

} // namespace Warden

#endif // Q_OS_UNIX
