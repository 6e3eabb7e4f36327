// Holds the write lock of a SQLite database from a process of its own, as another
// application sharing the file might: BEGIN IMMEDIATE, wait, COMMIT. While it holds the lock,
// every other writer (lease renewals and acquisitions included) waits in its busy handler.
//
//   sqliteblocker FILE HOLD_MS
//
// Prints "locked MONOTONIC_US" once it holds the lock and "released MONOTONIC_US" after the
// COMMIT, each flushed at once. Exits 0, or 1 when it could not take the lock within 10 s.
#include <sqlite3.h>

#include <cstdio>
#include <cstdlib>
#include <ctime>

namespace {

long long monotonicMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return static_cast<long long>(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

} // namespace

int main(int argc, char *argv[])
{
    if (argc != 3) {
        std::fprintf(stderr, "usage: sqliteblocker FILE HOLD_MS\n");
        return 64;
    }
    const long holdMs = std::atol(argv[2]);
    sqlite3 *db = nullptr;
    if (sqlite3_open_v2(argv[1], &db, SQLITE_OPEN_READWRITE, nullptr) != SQLITE_OK) {
        std::fprintf(stderr, "sqliteblocker: cannot open %s: %s\n", argv[1], sqlite3_errmsg(db));
        return 1;
    }
    sqlite3_busy_timeout(db, 10000);
    char *error = nullptr;
    if (sqlite3_exec(db, "BEGIN IMMEDIATE", nullptr, nullptr, &error) != SQLITE_OK) {
        std::fprintf(stderr, "sqliteblocker: BEGIN IMMEDIATE: %s\n", error ? error : "?");
        sqlite3_free(error);
        sqlite3_close(db);
        return 1;
    }
    std::printf("locked %lld\n", monotonicMicros());
    std::fflush(stdout);
    const long long until = monotonicMicros() + holdMs * 1000LL;
    for (long long now = monotonicMicros(); now < until; now = monotonicMicros()) {
        const long long left = until - now;
        timespec pause = {static_cast<time_t>(left / 1000000),
                          static_cast<long>(left % 1000000) * 1000};
        nanosleep(&pause, nullptr);
    }
    const int committed = sqlite3_exec(db, "COMMIT", nullptr, nullptr, &error);
    std::printf("released %lld\n", monotonicMicros());
    std::fflush(stdout);
    if (committed != SQLITE_OK) {
        std::fprintf(stderr, "sqliteblocker: COMMIT: %s\n", error ? error : "?");
        sqlite3_free(error);
    }
    sqlite3_close(db);
    return committed == SQLITE_OK ? 0 : 1;
}
