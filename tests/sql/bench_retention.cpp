// bench_retention: does enforcing a run cap disturb the ticks? 1,000 workers at 1 s on one
// SQLite file, their runs recorded through the store, first without a cap to enforce (the
// baseline), then with a cap of 30,000 rows over a table pre-filled with 300,000 rows, so
// that retention deletes the surplus while the ticks go on. Prints tick lateness (p50, p99,
// max) of both phases, their ratio, the rows left and the largest WAL seen.
//
//   bench_retention [--workers N] [--seconds S] [--cap ROWS] [--prefill ROWS]

#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/sql/database.h>
#include <warden/sql/sqlconnections.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QElapsedTimer>
#include <QtCore/QEventLoop>
#include <QtCore/QFileInfo>
#include <QtCore/QTemporaryDir>
#include <QtCore/QTimer>
#include <QtCore/QUrl>
#include <QtCore/QUuid>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <algorithm>
#include <cstdio>
#include <mutex>
#include <vector>

using namespace std::chrono;

namespace {

struct Phase
{
    double p50Ms = 0;
    double p99Ms = 0;
    double maxMs = 0;
    qint64 ticks = 0;
    qint64 walMaxBytes = 0;
    qint64 rowsAtEnd = 0;
};

[[noreturn]] void die(const QString &why)
{
    std::fprintf(stderr, "bench_retention: %s\n", qPrintable(why));
    std::exit(1);
}

qint64 countRuns(const QString &url)
{
    QSqlQuery q(Warden::SqlConnections::forCurrentThread(url));
    if (!q.exec(QStringLiteral("SELECT count(*) FROM warden_runs")) || !q.next())
        die(q.lastError().text());
    return q.value(0).toLongLong();
}

void prefill(const QString &url, qint64 rows)
{
    QSqlDatabase db = Warden::SqlConnections::forCurrentThread(url);
    db.transaction();
    QSqlQuery q(db);
    q.prepare(QStringLiteral("INSERT INTO warden_runs (run_id, worker, node, scheduled_at, "
                             "started_at, finished_at, outcome) VALUES (?, ?, 'old', ?, ?, ?, "
                             "'succeeded')"));
    const qint64 base = QDateTime::currentMSecsSinceEpoch() - 3600 * 1000;
    for (qint64 i = 0; i < rows; ++i) {
        q.addBindValue(QUuid::createUuid().toString(QUuid::WithoutBraces));
        q.addBindValue(QStringLiteral("w%1").arg(i % 1000));
        q.addBindValue(base + i);
        q.addBindValue(base + i);
        q.addBindValue(base + i + 1);
        if (!q.exec())
            die(q.lastError().text());
    }
    db.commit();
}

Phase runPhase(const QString &url, int workers, int seconds, qint64 cap)
{
    Warden::DatabaseOptions options;
    options.retention.maximumRuns = cap;
    options.retention.interval = std::chrono::seconds(20);
    auto db = Warden::Database::open(url, options);
    if (!db)
        die(db.errorString());
    std::mutex mutex;
    std::vector<double> lateness;
    lateness.reserve(size_t(workers) * size_t(seconds + 5));
    bool measuring = false;

    Warden::Host host;
    host.setNodeId(QStringLiteral("bench"));
    host.setStore(db.value().store());
    host.setLockManager(db.value().lockManager());
    for (int i = 0; i < workers; ++i) {
        auto *worker = Warden::PeriodicWorker::create(
            QStringLiteral("w%1").arg(i), [&](Warden::RunContext &context) {
                const double ms = duration<double, std::milli>(context.startLateness()).count();
                std::lock_guard<std::mutex> lock(mutex);
                if (measuring)
                    lateness.push_back(ms);
            });
        worker->setInterval(std::chrono::seconds(1));
        QString error;
        if (!host.addWorker(worker, &error))
            die(error);
    }
    const QString wal = QUrl(url).path() + QStringLiteral("-wal");
    Phase phase;
    QTimer sample;
    QObject::connect(&sample, &QTimer::timeout, [&] {
        phase.walMaxBytes = std::max(phase.walMaxBytes, QFileInfo(wal).size());
    });
    sample.start(250);
    host.start();
    // Ten seconds to settle (threads, the first ticks), then measure.
    QEventLoop loop;
    QTimer::singleShot(10000, &loop, [&] {
        std::lock_guard<std::mutex> lock(mutex);
        measuring = true;
    });
    QTimer::singleShot(10000 + seconds * 1000, &loop, &QEventLoop::quit);
    loop.exec();
    {
        std::lock_guard<std::mutex> lock(mutex);
        measuring = false;
    }
    host.stop();
    QEventLoop stopped;
    QObject::connect(&host, &Warden::Host::stopped, &stopped, &QEventLoop::quit);
    if (host.isRunning())
        stopped.exec();
    db.value().store()->flush(std::chrono::seconds(30));
    sample.stop();
    std::sort(lateness.begin(), lateness.end());
    if (lateness.empty())
        die(QStringLiteral("no ticks"));
    phase.ticks = qint64(lateness.size());
    phase.p50Ms = lateness[lateness.size() / 2];
    phase.p99Ms = lateness[lateness.size() * 99 / 100];
    phase.maxMs = lateness.back();
    phase.rowsAtEnd = countRuns(url);
    return phase;
}

void print(const char *name, const Phase &p)
{
    std::printf("  %-34s ticks %8lld  lateness p50 %7.3f ms  p99 %7.3f ms  max %8.3f ms  "
                "rows at end %8lld  WAL max %6.1f MB\n",
                name, static_cast<long long>(p.ticks), p.p50Ms, p.p99Ms, p.maxMs,
                static_cast<long long>(p.rowsAtEnd), double(p.walMaxBytes) / 1e6);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const QStringList args = app.arguments();
    auto option = [&](const char *name, qint64 fallback) {
        const int at = int(args.indexOf(QLatin1String(name)));
        return at > 0 && at + 1 < args.size() ? args.at(at + 1).toLongLong() : fallback;
    };
    const int workers = int(option("--workers", 1000));
    const int seconds = int(option("--seconds", 600));
    const qint64 cap = option("--cap", 30000);
    const qint64 prefillRows = option("--prefill", 300000);
    QTemporaryDir dir;
    if (!dir.isValid())
        die(QStringLiteral("no temporary folder"));

    std::printf("bench_retention: %d workers at 1 s, %d s per phase, SQLite\n", workers, seconds);
    const QString baselineUrl = QStringLiteral("sqlite://") + dir.filePath(QStringLiteral("b.db"));
    if (!Warden::Database::open(baselineUrl))
        die(QStringLiteral("cannot create %1").arg(baselineUrl));
    prefill(baselineUrl, prefillRows);
    const Phase baseline = runPhase(baselineUrl, workers, seconds, 1000000000);
    print("baseline (no cap to enforce)", baseline);

    const QString url = QStringLiteral("sqlite://") + dir.filePath(QStringLiteral("r.db"));
    if (!Warden::Database::open(url))
        die(QStringLiteral("cannot create %1").arg(url));
    prefill(url, prefillRows);
    const Phase capped = runPhase(url, workers, seconds, cap);
    print(qPrintable(QStringLiteral("cap %1 over %2 rows").arg(cap).arg(prefillRows)), capped);
    std::printf("  ratio (cap / baseline): p99 %.2f, max %.2f; rows at end %lld (cap %lld)\n",
                capped.p99Ms / std::max(0.001, baseline.p99Ms),
                capped.maxMs / std::max(0.001, baseline.maxMs),
                static_cast<long long>(capped.rowsAtEnd), static_cast<long long>(cap));
    return 0;
}
