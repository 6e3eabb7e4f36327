// Nanoseconds per CronSchedule::nextFireTime() call for a few typical expressions, beside two
// baselines measured in the same run: QDateTime::currentDateTimeUtc() and one
// QTimeZone::offsetFromUtc() call in Europe/Berlin.
//
//   build/tests/cron/bench_cron [milliseconds per case, default 1000]

#include <warden/cronschedule.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QElapsedTimer>
#include <QtCore/QTimeZone>

#include <cstdio>
#include <functional>

namespace {

qint64 volatile g_sink = 0;

// Runs body in batches until budgetMs elapsed; returns nanoseconds per call.
double measure(qint64 budgetMs, const std::function<void(int)> &body)
{
    // Warm up.
    for (int i = 0; i < 1000; ++i)
        body(i);
    QElapsedTimer timer;
    timer.start();
    qint64 calls = 0;
    while (timer.elapsed() < budgetMs) {
        for (int i = 0; i < 1000; ++i)
            body(int(calls + i));
        calls += 1000;
    }
    return double(timer.nsecsElapsed()) / double(calls);
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    const qint64 budgetMs = argc > 1 ? QByteArray(argv[1]).toLongLong() : 1000;

    // Start instants spread over 2025 (one a minute and a bit), so that the calls do not all
    // hit the same day and cache line.
    const qint64 base = QDateTime(QDate(2025, 1, 1), QTime(0, 0), Qt::UTC).toMSecsSinceEpoch();
    QList<QDateTime> starts;
    for (int i = 0; i < 4096; ++i)
        starts.append(
            QDateTime::fromMSecsSinceEpoch(base + qint64(i) * 7703 * 1000 + i % 1000, Qt::UTC));

    const QTimeZone berlin(QByteArrayLiteral("Europe/Berlin"));
    const double nowNs = measure(budgetMs, [](int) {
        g_sink = g_sink + QDateTime::currentDateTimeUtc().toMSecsSinceEpoch();
    });
    const double offsetNs = measure(
        budgetMs, [&](int i) { g_sink = g_sink + berlin.offsetFromUtc(starts.at(i & 4095)); });
    std::printf("baseline QDateTime::currentDateTimeUtc()          %8.0f ns\n", nowNs);
    std::printf("baseline QTimeZone::offsetFromUtc() Europe/Berlin %8.0f ns\n", offsetNs);
    std::printf("\n%-20s %-20s %8s %9s %9s\n", "expression", "zone", "ns/call", "x now()",
                "x offset");

    struct Case
    {
        const char *expression;
        const char *zone;
    };
    const Case cases[] = {
        {"*/15 * * * *", "UTC"},
        {"*/15 * * * *", "Europe/Berlin"},
        {"0 3 * * *", "Europe/Berlin"},
        {"30 9 * * MON-FRI", "America/New_York"},
        {"0 0 L * *", "UTC"},
        {"0 0 L * *", "Europe/Berlin"},
        {"0 0 29 FEB *", "Europe/Berlin"},
        {"0 0 * * 5L", "Australia/Lord_Howe"},
        {"*/10 * * * * *", "Australia/Sydney"},
        {"*/15 * * * *", "Asia/Tokyo"},
    };
    for (const Case &c : cases) {
        const auto parsed = Warden::CronSchedule::parse(QString::fromLatin1(c.expression),
                                                        QString::fromLatin1(c.zone));
        if (!parsed) {
            std::fprintf(stderr, "%s: %s\n", c.expression, qPrintable(parsed.errorString()));
            return 1;
        }
        const Warden::CronSchedule &schedule = parsed.value();
        const double ns = measure(budgetMs, [&](int i) {
            g_sink = g_sink + schedule.nextFireTime(starts.at(i & 4095)).toMSecsSinceEpoch();
        });
        std::printf("%-20s %-20s %8.0f %9.1f %9.1f\n", c.expression, c.zone, ns, ns / nowNs,
                    ns / offsetNs);
    }
    return 0;
}
