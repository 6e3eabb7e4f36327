// The critical section of tst_leasesafety: a `command` worker with a lock runs this program,
// which appends a line to a shared file every few milliseconds while it runs:
//
//   NODE TOKEN MONOTONIC_US PID SEQ STARTED_US
//
// NODE and TOKEN come from WARDEN_NODE and WARDEN_FENCING_TOKEN, MONOTONIC_US is
// CLOCK_MONOTONIC (the wall clock may be shifted by the clock-shift shim; all nodes run on one
// machine), PID names the run, SEQ counts its lines from 0 (the run's first line) and STARTED_US
// is when the process began (a run frozen before its first line was going already). Each line
// is one write() to a file opened with O_APPEND, so lines of concurrent writers never mix.
//
//   cswriter FILE PERIOD_MS [--for-ms N] [--ignore-term]
//
// Without --for-ms it writes until SIGTERM (a continuous worker); with it, for N ms (a periodic
// run) or until SIGTERM. --ignore-term ignores SIGTERM: only SIGKILL ends it early.
//
// Plain C++ and POSIX, no Qt: it starts in a millisecond or two.
#include <cerrno>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <ctime>
#include <fcntl.h>
#include <unistd.h>

namespace {

volatile sig_atomic_t terminated = 0;

void onTerm(int)
{
    terminated = 1;
}

long long monotonicMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

[[noreturn]] void usage()
{
    std::fprintf(stderr, "usage: cswriter FILE PERIOD_MS [--for-ms N] [--ignore-term]\n");
    std::exit(64);
}

} // namespace

int main(int argc, char *argv[])
{
    const long long processStart = monotonicMicros();
    if (argc < 3)
        usage();
    const char *path = argv[1];
    const long periodMs = std::atol(argv[2]);
    long forMs = -1;
    bool ignoreTerm = false;
    for (int i = 3; i < argc; ++i) {
        if (std::strcmp(argv[i], "--for-ms") == 0 && i + 1 < argc)
            forMs = std::atol(argv[++i]);
        else if (std::strcmp(argv[i], "--ignore-term") == 0)
            ignoreTerm = true;
        else
            usage();
    }
    if (periodMs <= 0)
        usage();

    struct sigaction action = {};
    action.sa_handler = ignoreTerm ? SIG_IGN : onTerm;
    sigemptyset(&action.sa_mask);
    sigaction(SIGTERM, &action, nullptr);

    const char *node = std::getenv("WARDEN_NODE");
    const char *token = std::getenv("WARDEN_FENCING_TOKEN");
    if (!node || !*node)
        node = "?";
    if (!token || !*token)
        token = "0"; // no lease: the analysis treats it as the smallest token

    const int fd = open(path, O_WRONLY | O_APPEND | O_CREAT | O_CLOEXEC, 0644);
    if (fd < 0) {
        std::fprintf(stderr, "cswriter: cannot open %s: %s\n", path, std::strerror(errno));
        return 1;
    }
    const long long start = monotonicMicros();
    const long pid = static_cast<long>(getpid());
    for (long long seq = 0; !terminated; ++seq) {
        const long long now = monotonicMicros();
        if (forMs >= 0 && now - start >= forMs * 1000LL)
            break;
        char line[256];
        const int length = std::snprintf(line, sizeof line, "%s %s %lld %ld %lld %lld\n", node,
                                         token, now, pid, seq, processStart);
        if (length <= 0 || length >= static_cast<int>(sizeof line) ||
            write(fd, line, static_cast<size_t>(length)) != length) {
            std::fprintf(stderr, "cswriter: write failed: %s\n", std::strerror(errno));
            return 1;
        }
        timespec pause = {periodMs / 1000, (periodMs % 1000) * 1000000L};
        while (!terminated && nanosleep(&pause, &pause) != 0 && errno == EINTR) {
        }
    }
    close(fd);
    return 0;
}
