// bench_sql: what a lease costs on SQLite and PostgreSQL, beside the baselines that bound
// it (see tests/sql/BENCHMARK.md).
//
//   bench_sql [--pairs N]
//
// PostgreSQL comes from WARDEN_TEST_PG_URL; when it is unset, the benchmark starts a
// throwaway server with tests/sql/pg-server.sh and stops it at the end.

#include <warden/sql/database.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QUrl>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <libpq-fe.h>
#include <sqlite3.h>

#include <algorithm>
#include <cstdio>
#include <ctime>
#include <functional>
#include <thread>
#include <vector>

using namespace std::chrono;

namespace {

qint64 monotonicMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

struct Figure
{
    double meanUs = 0;
    double p99Us = 0;
};

//! Runs \a op \a n times; per-operation latency in microseconds.
Figure measure(int n, const std::function<void(int)> &op)
{
    std::vector<double> samples;
    samples.reserve(size_t(n));
    for (int i = 0; i < n; ++i) {
        QElapsedTimer t;
        t.start();
        op(i);
        samples.push_back(t.nsecsElapsed() / 1000.0);
    }
    Figure f;
    for (double s : samples)
        f.meanUs += s;
    f.meanUs /= n;
    std::sort(samples.begin(), samples.end());
    f.p99Us = samples[size_t(n * 99 / 100)];
    return f;
}

void print(const char *what, const Figure &f)
{
    std::printf("  %-58s %9.1f us/op  p99 %9.1f us  (%8.0f op/s)\n", what, f.meanUs, f.p99Us,
                1e6 / f.meanUs);
}

[[noreturn]] void die(const QString &why)
{
    std::fprintf(stderr, "bench_sql: %s\n", qPrintable(why));
    std::exit(1);
}

QSqlQuery prepared(QSqlDatabase db, const QString &sql)
{
    QSqlQuery q(db);
    if (!q.prepare(sql))
        die(q.lastError().text());
    return q;
}

void exec(QSqlQuery &q)
{
    if (!q.exec())
        die(q.lastError().text());
    while (q.next()) {
    }
    q.finish();
}

void execDirect(QSqlDatabase db, const QString &sql)
{
    QSqlQuery q(db);
    if (!q.exec(sql))
        die(q.lastError().text());
}

// The lease statements as the library sends them, for the C clients.
const char *pgAcquire =
    "WITH t AS (SELECT clock_timestamp() AS now_), up AS (INSERT INTO warden_leases AS l "
    "(name, holder, token, acquired_at, renewed_at, expires_at) SELECT $1, $2, 1, t.now_, t.now_, "
    "t.now_ + make_interval(secs => CAST($3 AS double precision) / 1000.0) FROM t "
    "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, token = l.token + 1, "
    "acquired_at = EXCLUDED.acquired_at, renewed_at = EXCLUDED.renewed_at, "
    "expires_at = EXCLUDED.expires_at WHERE l.expires_at <= EXCLUDED.acquired_at RETURNING l.*) "
    "SELECT true, up.token FROM up UNION ALL SELECT false, c.token FROM warden_leases c "
    "WHERE c.name = $4 AND NOT EXISTS (SELECT 1 FROM up)";
const char *pgRelease =
    "UPDATE warden_leases SET holder = '', expires_at = CASE WHEN expires_at < clock_timestamp() "
    "THEN expires_at ELSE clock_timestamp() END WHERE name = $1 AND holder = $2 AND token = $3";
const char *liteNow = "CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)";

int standbyChild(const QString &url)
{
    auto db = Warden::Database::open(url);
    if (!db)
        die(db.errorString());
    auto locks = db.value().lockManager();
    const QString me = QStringLiteral("child-%1").arg(QCoreApplication::applicationPid());
    const auto end = steady_clock::now() + seconds(10);
    auto next = steady_clock::now();
    while (steady_clock::now() < end) {
        std::this_thread::sleep_until(next);
        next += milliseconds(100); // the standby poll interval
        const auto a = locks->tryAcquire(QStringLiteral("starve"), me, seconds(5));
        if (a.status != Warden::LockManager::Status::Acquired)
            continue;
        std::printf("A %lld\n", static_cast<long long>(monotonicMicros()));
        std::this_thread::sleep_for(milliseconds(150));
        std::printf("R %lld\n", static_cast<long long>(monotonicMicros()));
        std::fflush(stdout);
        locks->release(a.lease);
        next = steady_clock::now() + milliseconds(100);
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    if (args.value(1) == QLatin1String("--standby-child"))
        return standbyChild(args.value(2));
    const int pairs = args.value(1) == QLatin1String("--pairs") ? args.value(2).toInt() : 2000;

    QTemporaryDir dir;
    QString pgBase = qEnvironmentVariable("WARDEN_TEST_PG_URL");
    QString ownServer;
    if (pgBase.isEmpty()) {
        ownServer = dir.filePath(QStringLiteral("pg"));
        QProcess p;
        p.start(QStringLiteral(WARDEN_PG_SERVER_SCRIPT), {QStringLiteral("start"), ownServer});
        if (!p.waitForFinished(120000) || p.exitCode() != 0)
            die(QStringLiteral("cannot start a PostgreSQL server with pg-server.sh"));
        for (const QByteArray &line : p.readAllStandardOutput().split('\n')) {
            if (!line.startsWith("export "))
                continue;
            const QByteArray kv = line.mid(7);
            const qsizetype eq = kv.indexOf('=');
            QByteArray value = kv.mid(eq + 1);
            if (value.startsWith('\'') && value.endsWith('\''))
                value = value.mid(1, value.size() - 2);
            qputenv(kv.left(eq).constData(), value);
        }
        pgBase = qEnvironmentVariable("WARDEN_TEST_PG_URL");
    }

    std::printf("bench_sql: %d acquire+release pairs per client; one thread, one connection each\n",
                pairs);

    // ---------------------------------------------------------------- SQLite
    {
        const QString file = dir.filePath(QStringLiteral("bench.db"));
        const QString url = QStringLiteral("sqlite://") + file;
        auto db = Warden::Database::open(url);
        if (!db)
            die(db.errorString());
        auto locks = db.value().lockManager();
        std::printf("\nSQLite %s (WAL, synchronous=NORMAL)\n", sqlite3_libversion());
        Warden::Lease held;
        const Figure acquire = measure(pairs, [&](int i) {
            auto a = locks->tryAcquire(QStringLiteral("bench%1").arg(i % 16), QStringLiteral("me"),
                                       seconds(30));
            if (a.status != Warden::LockManager::Status::Acquired)
                die(QStringLiteral("acquire failed: %1").arg(a.error));
            held = a.lease;
            locks->release(held);
        });
        // Acquire alone and release alone.
        QList<Warden::Lease> leases;
        const Figure acquireOnly = measure(pairs, [&](int i) {
            leases.append(
                locks
                    ->tryAcquire(QStringLiteral("solo%1").arg(i), QStringLiteral("me"), seconds(30))
                    .lease);
        });
        const Figure releaseOnly = measure(pairs, [&](int i) { locks->release(leases.at(i)); });
        QSqlDatabase qdb = Warden::SqlConnections::forCurrentThread(url);
        QSqlQuery one = prepared(qdb, QStringLiteral("SELECT 1"));
        const Figure select1 = measure(pairs, [&](int) { exec(one); });
        one = QSqlQuery();

        sqlite3 *c = nullptr;
        if (sqlite3_open(qPrintable(file), &c) != SQLITE_OK)
            die(QStringLiteral("sqlite3_open"));
        sqlite3_busy_timeout(c, 5000);
        sqlite3_exec(c, "PRAGMA journal_mode=WAL; PRAGMA synchronous=NORMAL", nullptr, nullptr,
                     nullptr);
        const QByteArray acquireSql =
            QStringLiteral(
                "INSERT INTO warden_leases (name, holder, token, acquired_at, renewed_at, "
                "expires_at) SELECT ?1, ?2, 1, t.now_, t.now_, t.now_ + ?3 FROM (SELECT %1 "
                "AS now_) AS t WHERE true ON CONFLICT (name) DO UPDATE SET holder = "
                "excluded.holder, token = warden_leases.token + 1, acquired_at = "
                "excluded.acquired_at, renewed_at = excluded.renewed_at, expires_at = "
                "excluded.expires_at WHERE warden_leases.expires_at <= excluded.acquired_at "
                "RETURNING token")
                .arg(QLatin1String(liteNow))
                .toUtf8();
        const QByteArray releaseSql =
            QStringLiteral(
                "UPDATE warden_leases SET holder = '', expires_at = CASE WHEN expires_at < "
                "%1 THEN expires_at ELSE %1 END WHERE name = ?1 AND holder = ?2 AND token = ?3")
                .arg(QLatin1String(liteNow))
                .toUtf8();
        sqlite3_stmt *acq = nullptr;
        sqlite3_stmt *rel = nullptr;
        sqlite3_stmt *sel = nullptr;
        sqlite3_prepare_v2(c, acquireSql.constData(), -1, &acq, nullptr);
        sqlite3_prepare_v2(c, releaseSql.constData(), -1, &rel, nullptr);
        sqlite3_prepare_v2(c, "SELECT 1", -1, &sel, nullptr);
        if (!acq || !rel || !sel)
            die(QString::fromUtf8(sqlite3_errmsg(c)));
        const Figure capi = measure(pairs, [&](int i) {
            const QByteArray name = "capi" + QByteArray::number(i % 16);
            sqlite3_bind_text(acq, 1, name.constData(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(acq, 2, "me", -1, SQLITE_STATIC);
            sqlite3_bind_int64(acq, 3, 30000);
            if (sqlite3_step(acq) != SQLITE_ROW)
                die(QString::fromUtf8(sqlite3_errmsg(c)));
            const sqlite3_int64 token = sqlite3_column_int64(acq, 0);
            sqlite3_reset(acq);
            sqlite3_bind_text(rel, 1, name.constData(), -1, SQLITE_TRANSIENT);
            sqlite3_bind_text(rel, 2, "me", -1, SQLITE_STATIC);
            sqlite3_bind_int64(rel, 3, token);
            sqlite3_step(rel);
            sqlite3_reset(rel);
        });
        const Figure capiSelect = measure(pairs, [&](int) {
            sqlite3_step(sel);
            sqlite3_reset(sel);
        });
        sqlite3_finalize(acq);
        sqlite3_finalize(rel);
        sqlite3_finalize(sel);
        sqlite3_close(c);

        print("Warden acquire+release pair (QSQLITE)", acquire);
        print("Warden acquire alone", acquireOnly);
        print("Warden release alone", releaseOnly);
        print("bare SELECT 1 (QSQLITE)", select1);
        print("same lease statements, sqlite3 C API (pair)", capi);
        print("bare SELECT 1, sqlite3 C API", capiSelect);
        std::printf("  ratio pair QSQLITE / sqlite3 C API: %.2f (target <= 2.0)\n",
                    acquire.meanUs / capi.meanUs);

        // 10,000 runs per second, from a "tick" loop that must never be delayed: first one
        // record per run (the baseline), then the run ledger's two (a running row at the start,
        // completed at the end), as hosts write them.
        auto store = db.value().store();
        auto measureRuns = [&](bool ledger) {
            const int perTick = 100;
            const int ticks = 500; // 5 s at 10 ms
            qint64 slowestCallNs = 0;
            qint64 worstLatenessUs = 0;
            const qint64 writtenBefore = store->statistics().written;
            const auto start = steady_clock::now();
            for (int t = 0; t < ticks; ++t) {
                const auto due = start + milliseconds(10 * t);
                std::this_thread::sleep_until(due);
                worstLatenessUs = std::max<qint64>(
                    worstLatenessUs,
                    duration_cast<microseconds>(steady_clock::now() - due).count());
                for (int i = 0; i < perTick; ++i) {
                    Warden::RunRecord run;
                    run.runId = QStringLiteral("%1-r%2-%3")
                                    .arg(ledger ? QStringLiteral("ledger") : QStringLiteral("one"))
                                    .arg(t)
                                    .arg(i);
                    run.worker = QStringLiteral("w%1").arg(i % 50);
                    run.node = QStringLiteral("bench");
                    run.scheduledAt = run.startedAt = QDateTime::currentDateTimeUtc();
                    QElapsedTimer call;
                    call.start();
                    if (ledger) {
                        run.outcome = Warden::RunOutcome::Running;
                        store->recordRun(run);
                        run.outcome = Warden::RunOutcome::Succeeded;
                    }
                    run.finishedAt = QDateTime::currentDateTimeUtc();
                    store->recordRun(run);
                    slowestCallNs = std::max(slowestCallNs, call.nsecsElapsed());
                }
            }
            const bool flushed = store->flush(seconds(60));
            const double elapsed = duration<double>(steady_clock::now() - start).count();
            const auto stats = store->statistics();
            const double runsPerSecond = perTick * ticks / elapsed;
            std::printf("  runs, %s: %d at 10,000/s; all written after %.2f s (%s), %.0f runs/s "
                        "(%.0f rows/s) sustained; slowest call %.3f ms; worst tick lateness "
                        "%.3f ms; dropped %lld\n",
                        ledger ? "ledger (start + finish rows)" : "one record each (baseline)",
                        perTick * ticks, elapsed, flushed ? "flushed" : "NOT flushed",
                        runsPerSecond, (stats.written - writtenBefore) / elapsed,
                        slowestCallNs / 1e6, worstLatenessUs / 1e3,
                        static_cast<long long>(stats.droppedRuns));
            return runsPerSecond;
        };
        const double oneEach = measureRuns(false);
        const double ledger = measureRuns(true);
        std::printf("  ratio ledger / baseline runs/s: %.2f\n", ledger / oneEach);

        // Standbys on one file must not starve: 4 processes polling every 100 ms.
        std::vector<std::unique_ptr<QProcess>> children;
        for (int i = 0; i < 4; ++i) {
            children.push_back(std::make_unique<QProcess>());
            children.back()->start(QCoreApplication::applicationFilePath(),
                                   {QStringLiteral("--standby-child"), url});
        }
        struct Event
        {
            qint64 time;
            char kind;
            int child;
        };
        std::vector<Event> events;
        std::vector<int> acquisitions(children.size(), 0);
        for (size_t i = 0; i < children.size(); ++i) {
            children[i]->waitForFinished(30000);
            for (const QByteArray &line : children[i]->readAllStandardOutput().split('\n')) {
                if (line.size() < 3)
                    continue;
                events.push_back({line.mid(2).toLongLong(), line.at(0), int(i)});
                if (line.at(0) == 'A')
                    ++acquisitions[i];
            }
        }
        std::sort(events.begin(), events.end(),
                  [](const Event &a, const Event &b) { return a.time < b.time; });
        qint64 worstGapUs = 0;
        int handovers = 0;
        for (size_t i = 0; i + 1 < events.size(); ++i) {
            if (events[i].kind == 'R' && events[i + 1].kind == 'A') {
                worstGapUs = std::max(worstGapUs, events[i + 1].time - events[i].time);
                ++handovers;
            }
        }
        std::printf("  standbys: 4 processes polling every 100 ms, %d handovers, worst "
                    "release-to-acquire %.1f ms (target <= 100 ms); acquisitions per process:",
                    handovers, worstGapUs / 1e3);
        for (int a : acquisitions)
            std::printf(" %d", a);
        std::printf("\n");
    }

    // ------------------------------------------------------------ PostgreSQL
    if (pgBase.isEmpty())
        die(QStringLiteral("no PostgreSQL server"));
    {
        const QString schema = QStringLiteral("bench_%1").arg(QCoreApplication::applicationPid());
        const QString url =
            pgBase + (pgBase.contains(QLatin1Char('?')) ? QLatin1Char('&') : QLatin1Char('?')) +
            QStringLiteral("schema=") + schema;
        auto db = Warden::Database::open(url);
        if (!db)
            die(db.errorString());
        auto locks = db.value().lockManager();
        QSqlDatabase qdb = Warden::SqlConnections::forCurrentThread(url);
        {
            QSqlQuery v(qdb);
            v.exec(
                QStringLiteral("SELECT current_setting('server_version'), "
                               "current_setting('synchronous_commit'), current_setting('fsync')"));
            v.next();
            std::printf("\nPostgreSQL %s over TCP on 127.0.0.1 (synchronous_commit=%s, fsync=%s)\n",
                        qPrintable(v.value(0).toString()), qPrintable(v.value(1).toString()),
                        qPrintable(v.value(2).toString()));
        }
        execDirect(qdb,
                   QStringLiteral(
                       "CREATE TABLE bench_insert (id bigserial PRIMARY KEY, v text NOT NULL)"));
        // Warm up every connection.
        for (int i = 0; i < 50; ++i)
            locks->release(
                locks->tryAcquire(QStringLiteral("warm"), QStringLiteral("me"), seconds(30)).lease);
        QList<Warden::Lease> leases;
        const Figure acquireOnly = measure(pairs, [&](int i) {
            auto a = locks->tryAcquire(QStringLiteral("solo%1").arg(i % 16), QStringLiteral("me"),
                                       seconds(30));
            if (a.status != Warden::LockManager::Status::Acquired)
                die(QStringLiteral("acquire failed: %1").arg(a.error));
            leases.append(a.lease);
            locks->release(a.lease);
        });
        leases.clear();
        const Figure acquireAlone = measure(pairs, [&](int i) {
            leases.append(locks
                              ->tryAcquire(QStringLiteral("alone%1").arg(i), QStringLiteral("me"),
                                           seconds(30))
                              .lease);
        });
        const Figure releaseAlone = measure(pairs, [&](int i) { locks->release(leases.at(i)); });
        QSqlQuery one = prepared(qdb, QStringLiteral("SELECT 1"));
        const Figure select1 = measure(pairs, [&](int) { exec(one); });
        QSqlQuery insert =
            prepared(qdb, QStringLiteral("INSERT INTO bench_insert (v) VALUES (:v)"));
        const Figure bareInsert = measure(pairs, [&](int i) {
            insert.bindValue(QStringLiteral(":v"), QStringLiteral("row %1").arg(i));
            exec(insert);
        });

        // libpq with the same statements.
        const QUrl parsed(pgBase);
        const QByteArray conninfo =
            QStringLiteral("host=%1 port=%2 dbname=%3 user=%4 options='-csearch_path=%5'")
                .arg(parsed.host())
                .arg(parsed.port(5432))
                .arg(parsed.path().mid(1), parsed.userName(), schema)
                .toUtf8();
        PGconn *pg = PQconnectdb(conninfo.constData());
        if (PQstatus(pg) != CONNECTION_OK)
            die(QString::fromUtf8(PQerrorMessage(pg)));
        PQclear(PQprepare(pg, "acq", pgAcquire, 4, nullptr));
        PQclear(PQprepare(pg, "rel", pgRelease, 3, nullptr));
        PQclear(PQprepare(pg, "one", "SELECT 1", 0, nullptr));
        PQclear(PQprepare(pg, "ins", "INSERT INTO bench_insert (v) VALUES ($1)", 1, nullptr));
        std::vector<QByteArray> tokens(static_cast<size_t>(pairs));
        const Figure libpqAcquire = measure(pairs, [&](int i) {
            const QByteArray name = "lpq" + QByteArray::number(i);
            const char *values[] = {name.constData(), "me", "30000", name.constData()};
            PGresult *r = PQexecPrepared(pg, "acq", 4, values, nullptr, nullptr, 0);
            if (PQresultStatus(r) != PGRES_TUPLES_OK)
                die(QString::fromUtf8(PQerrorMessage(pg)));
            tokens[size_t(i)] = QByteArray(PQgetvalue(r, 0, 1));
            PQclear(r);
        });
        const Figure libpqRelease = measure(pairs, [&](int i) {
            const QByteArray name = "lpq" + QByteArray::number(i);
            const char *values[] = {name.constData(), "me", tokens[size_t(i)].constData()};
            PQclear(PQexecPrepared(pg, "rel", 3, values, nullptr, nullptr, 0));
        });
        const Figure libpqSelect = measure(pairs, [&](int) {
            PQclear(PQexecPrepared(pg, "one", 0, nullptr, nullptr, nullptr, 0));
        });
        const Figure libpqInsert = measure(pairs, [&](int) {
            const char *values[] = {"row"};
            PQclear(PQexecPrepared(pg, "ins", 1, values, nullptr, nullptr, 0));
        });
        PQfinish(pg);

        print("Warden acquire+release pair (QPSQL)", acquireOnly);
        print("Warden acquire alone (QPSQL)", acquireAlone);
        print("Warden release alone (QPSQL)", releaseAlone);
        print("bare SELECT 1 (QPSQL)", select1);
        print("bare single-row durable INSERT (QPSQL)", bareInsert);
        print("same acquire statement, libpq", libpqAcquire);
        print("same release statement, libpq", libpqRelease);
        print("bare SELECT 1, libpq", libpqSelect);
        print("bare single-row durable INSERT, libpq", libpqInsert);
        std::printf("  ratio acquire / bare INSERT (QPSQL): %.2f (target <= 1.3)\n",
                    acquireAlone.meanUs / bareInsert.meanUs);
        std::printf("  ratio acquire QPSQL / libpq: %.2f; SELECT 1 QPSQL / libpq: %.2f\n",
                    acquireAlone.meanUs / libpqAcquire.meanUs, select1.meanUs / libpqSelect.meanUs);
        one = QSqlQuery();
        insert = QSqlQuery();
        execDirect(qdb, QStringLiteral("SET client_min_messages = warning"));
        execDirect(qdb, QStringLiteral("DROP SCHEMA %1 CASCADE").arg(schema));
    }
    if (!ownServer.isEmpty()) {
        QProcess p;
        p.start(QStringLiteral(WARDEN_PG_SERVER_SCRIPT), {QStringLiteral("stop"), ownServer});
        p.waitForFinished(60000);
    }
    return 0;
}
