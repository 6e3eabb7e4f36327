// LD_PRELOAD shim for the skewed-clock test: shifts the wall clock that this process's own
// code and Qt read (clock_gettime, gettimeofday) by WARDEN_TEST_CLOCK_OFFSET_S seconds,
// except for calls made from inside libsqlite3: SQLite's clock is the database's clock,
// which must stay true. The monotonic clock is left alone.
#include <dlfcn.h>
#include <sys/time.h>

#include <cstdlib>
#include <cstring>
#include <ctime>

namespace {

long offsetSeconds(void *caller)
{
    const char *offset = std::getenv("WARDEN_TEST_CLOCK_OFFSET_S");
    if (!offset)
        return 0;
    Dl_info info{};
    if (dladdr(caller, &info) && info.dli_fname && std::strstr(info.dli_fname, "libsqlite3"))
        return 0;
    return std::atol(offset);
}

} // namespace

extern "C" int clock_gettime(clockid_t id, struct timespec *ts)
{
    using Real = int (*)(clockid_t, struct timespec *);
    static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "clock_gettime"));
    const int result = real(id, ts);
    if (result == 0 && (id == CLOCK_REALTIME || id == CLOCK_REALTIME_COARSE))
        ts->tv_sec += offsetSeconds(__builtin_return_address(0));
    return result;
}

extern "C" int gettimeofday(struct timeval *tv, void *tz)
{
    using Real = int (*)(struct timeval *, void *);
    static Real real = reinterpret_cast<Real>(dlsym(RTLD_NEXT, "gettimeofday"));
    const int result = real(tv, tz);
    if (result == 0 && tv)
        tv->tv_sec += offsetSeconds(__builtin_return_address(0));
    return result;
}
