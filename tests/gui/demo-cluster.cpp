// A small Warden node for the console's screenshots and for trying the console by hand:
// a Host on an SQL store with a handful of workers that succeed, fail, time out, take
// leases and log.
//
//   warden-demo-node --url URL --node ID [--seed N]
//
// SIGTERM and SIGINT stop the host gracefully.

#include <warden/continuousworker.h>
#include <warden/cronschedule.h>
#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/sql/database.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QRandomGenerator>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>

#include <csignal>
#include <cstdio>
#include <unistd.h>

using namespace std::chrono;

namespace {

int signalPipe[2] = {-1, -1};

void onSignal(int)
{
    const char c = 1;
    if (::write(signalPipe[1], &c, 1) < 0) {
        // Nothing to do in a signal handler.
    }
}

void sleepFor(Warden::RunContext &context, int minimumMs, int maximumMs)
{
    const int ms = int(QRandomGenerator::global()->bounded(minimumMs, maximumMs + 1));
    context.stopToken().waitFor(milliseconds(ms));
}

Warden::PeriodicWorker *periodic(const QString &name, milliseconds interval,
                                 std::function<void(Warden::RunContext &)> work)
{
    auto *worker = Warden::PeriodicWorker::create(name, std::move(work));
    worker->setInterval(interval);
    return worker;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.setApplicationDescription(QStringLiteral("A demo Warden node for the console."));
    parser.addHelpOption();
    const QCommandLineOption urlOption(QStringLiteral("url"), QStringLiteral("Database URL."),
                                       QStringLiteral("url"));
    const QCommandLineOption nodeOption(QStringLiteral("node"), QStringLiteral("Node id."),
                                        QStringLiteral("id"), QStringLiteral("demo"));
    parser.addOptions({urlOption, nodeOption});
    parser.process(app);

    auto db = Warden::Database::open(parser.value(urlOption));
    if (!db) {
        std::fprintf(stderr, "warden-demo-node: %s\n", qPrintable(db.errorString()));
        return 2;
    }
    if (::pipe(signalPipe) != 0)
        return 2;
    std::signal(SIGTERM, onSignal);
    std::signal(SIGINT, onSignal);

    Warden::Host host;
    host.setNodeId(parser.value(nodeOption));
    host.setStore(db.value().store());
    host.setLockManager(db.value().lockManager());
    host.setHeartbeatInterval(milliseconds(1000));
    host.setSettingsPollInterval(milliseconds(500));
    host.setLeaseTimeToLive(seconds(15));

    auto *orders = periodic(QStringLiteral("import-orders"), seconds(2), [](Warden::RunContext &c) {
        sleepFor(c, 80, 600);
        c.info() << "imported" << QRandomGenerator::global()->bounded(5, 120) << "orders";
    });
    orders->setLock(Warden::LockMode::PerRun);
    host.addWorker(orders);

    auto *index =
        periodic(QStringLiteral("rebuild-search-index"), seconds(5), [](Warden::RunContext &c) {
            c.info() << "rebuilding the index with token" << c.fencingToken();
            sleepFor(c, 400, 1800);
        });
    index->setLock(Warden::LockMode::Leader);
    host.addWorker(index);

    auto *report = periodic(QStringLiteral("flaky-report"), seconds(3), [](Warden::RunContext &c) {
        sleepFor(c, 50, 400);
        if (QRandomGenerator::global()->bounded(3) == 0) {
            c.warning() << "the reporting service answered 503";
            c.fail(QStringLiteral("report service unavailable (HTTP 503)"));
        }
    });
    host.addWorker(report);

    auto *slow =
        periodic(QStringLiteral("recalculate-prices"), seconds(4), [](Warden::RunContext &c) {
            sleepFor(c, 300, 2500);
            if (c.isStopRequested())
                c.warning() << "stopped before the end of the batch";
        });
    slow->setRunTimeout(milliseconds(2000));
    slow->setLock(Warden::LockMode::PerRun);
    host.addWorker(slow);

    auto *digest =
        Warden::PeriodicWorker::create(QStringLiteral("send-digest"), [](Warden::RunContext &c) {
            c.info() << "sent the digest";
        });
    auto minutely =
        Warden::CronSchedule::parse(QStringLiteral("*/1 * * * *"), QStringLiteral("UTC"));
    if (minutely)
        digest->setSchedule(minutely.value());
    digest->setLock(Warden::LockMode::PerRun);
    host.addWorker(digest);

    auto *backup = Warden::PeriodicWorker::create(
        QStringLiteral("nightly-backup"), [](Warden::RunContext &c) { c.info() << "backup done"; });
    auto nightly =
        Warden::CronSchedule::parse(QStringLiteral("0 3 * * *"), QStringLiteral("Europe/Berlin"));
    if (nightly)
        backup->setSchedule(nightly.value());
    backup->setLock(Warden::LockMode::Leader, QStringLiteral("backup"));
    host.addWorker(backup);

    host.addWorker(
        periodic(QStringLiteral("cleanup-temp-files"), seconds(6), [](Warden::RunContext &c) {
            sleepFor(c, 20, 120);
            c.debug() << "removed" << QRandomGenerator::global()->bounded(40) << "files";
        }));

    auto *listener = Warden::ContinuousWorker::create(
        QStringLiteral("queue-listener"), [](Warden::RunContext &c) {
            c.info() << "listening on the job queue";
            while (!c.stopToken().waitFor(seconds(4)))
                c.info() << "handled" << QRandomGenerator::global()->bounded(1, 30) << "jobs";
        });
    listener->setLock(Warden::LockMode::Leader);
    host.addWorker(listener);

    QSocketNotifier notifier(signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &host, [&host, &notifier] {
        notifier.setEnabled(false);
        host.stop();
    });
    QObject::connect(&host, &Warden::Host::stopped, &app, [] { QCoreApplication::quit(); });
    host.start();
    return app.exec();
}
