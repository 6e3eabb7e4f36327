// Test helper: one Warden node (a Host on the SQL lock manager and store) for the
// multi-process tests, or a one-shot lease probe.
//
//   warden_sql_testnode node --url URL --node ID --log FILE [--ttl MS] [--per-run N]
//                            [--leaders N] [--interval MS] [--work-ms MS] [--standby-poll MS]
//   warden_sql_testnode probe --url URL acquire NAME HOLDER TTL_MS
//   warden_sql_testnode probe --url URL acquire-wait-renew NAME HOLDER TTL_MS WAIT_MS
//
// In node mode every run appends "S lock token node t_us run_id" before its work begins and
// "E lock token node t_us run_id" when it ends (t_us: CLOCK_MONOTONIC, shared by every process of
// the machine), with one write(2) per line on an O_APPEND file: a line written is in the
// kernel, so a SIGKILL cannot lose it. SIGTERM stops the host gracefully.

#include <warden/continuousworker.h>
#include <warden/host.h>
#include <warden/periodicworker.h>
#include <warden/sql/database.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QTextStream>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <atomic>
#include <csignal>
#include <cstdio>
#include <ctime>
#include <fcntl.h>
#include <random>
#include <thread>
#include <unistd.h>

using namespace std::chrono;

namespace {

std::atomic<bool> terminateRequested{false};

void onTerminate(int)
{
    terminateRequested = true;
}

qint64 monotonicMicros()
{
    timespec ts{};
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return qint64(ts.tv_sec) * 1000000 + ts.tv_nsec / 1000;
}

int logFd = -1;

void writeLine(char kind, const Warden::RunContext &context, const QString &lock,
               const QString &node)
{
    const QByteArray line = QStringLiteral("%1 %2 %3 %4 %5 %6\n")
                                .arg(QLatin1Char(kind))
                                .arg(lock)
                                .arg(context.fencingToken())
                                .arg(node)
                                .arg(monotonicMicros())
                                .arg(context.runId())
                                .toUtf8();
    if (::write(logFd, line.constData(), size_t(line.size())) != line.size())
        std::perror("write");
}

int probe(const QStringList &args, const QString &url)
{
    QTextStream out(stdout);
    auto db = Warden::Database::open(url);
    if (!db) {
        out << "ERROR " << db.errorString() << Qt::endl;
        return 2;
    }
    auto locks = db.value().lockManager();
    const QString command = args.value(0);
    const QString name = args.value(1);
    const QString holder = args.value(2);
    const milliseconds ttl(args.value(3).toLongLong());
    const auto attempt = locks->tryAcquire(name, holder, ttl);
    out << "acquire " << QVariant::fromValue(attempt.status).toString() << " token "
        << attempt.lease.fencingToken << " acquired_ms "
        << attempt.lease.acquiredAt.toMSecsSinceEpoch() << " local_ms "
        << QDateTime::currentMSecsSinceEpoch() << Qt::endl;
    if (command == QLatin1String("acquire-wait-renew")) {
        QThread::msleep(args.value(4).toULong());
        const auto renewed = locks->renew(attempt.lease, ttl);
        out << "renew " << QVariant::fromValue(renewed.status).toString() << Qt::endl;
    }
    return 0;
}

} // namespace

int main(int argc, char **argv)
{
    QCoreApplication app(argc, argv);
    QCommandLineParser parser;
    parser.addPositionalArgument(QStringLiteral("mode"), QStringLiteral("node or probe"));
    const QCommandLineOption urlOption(QStringLiteral("url"), QStringLiteral("database URL"),
                                       QStringLiteral("url"));
    const QCommandLineOption nodeOption(QStringLiteral("node"), QStringLiteral("node id"),
                                        QStringLiteral("id"));
    const QCommandLineOption logOption(QStringLiteral("log"), QStringLiteral("interval file"),
                                       QStringLiteral("file"));
    const QCommandLineOption ttlOption(QStringLiteral("ttl"), QStringLiteral("lease ttl ms"),
                                       QStringLiteral("ms"), QStringLiteral("1500"));
    const QCommandLineOption perRunOption(QStringLiteral("per-run"),
                                          QStringLiteral("per-run locked workers"),
                                          QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption leadersOption(QStringLiteral("leaders"),
                                           QStringLiteral("leader locked workers"),
                                           QStringLiteral("n"), QStringLiteral("0"));
    const QCommandLineOption intervalOption(QStringLiteral("interval"),
                                            QStringLiteral("per-run interval ms"),
                                            QStringLiteral("ms"), QStringLiteral("100"));
    const QCommandLineOption workOption(QStringLiteral("work-ms"),
                                        QStringLiteral("longest per-run work ms"),
                                        QStringLiteral("ms"), QStringLiteral("60"));
    const QCommandLineOption pollOption(QStringLiteral("standby-poll"),
                                        QStringLiteral("standby poll ms"), QStringLiteral("ms"),
                                        QStringLiteral("200"));
    const QCommandLineOption prefixOption(QStringLiteral("prefix"),
                                          QStringLiteral("lock name prefix"), QStringLiteral("p"),
                                          QString());
    parser.addOptions({urlOption, nodeOption, logOption, ttlOption, perRunOption, leadersOption,
                       intervalOption, workOption, pollOption, prefixOption});
    parser.process(app);
    const QStringList positional = parser.positionalArguments();
    const QString url = parser.value(urlOption);
    if (positional.value(0) == QLatin1String("probe"))
        return probe(positional.mid(1), url);
    if (positional.value(0) != QLatin1String("node"))
        parser.showHelp(64);

    std::signal(SIGTERM, onTerminate);
    logFd = ::open(qPrintable(parser.value(logOption)), O_WRONLY | O_APPEND | O_CREAT, 0644);
    if (logFd < 0) {
        std::perror("open");
        return 2;
    }
    auto db = Warden::Database::open(url);
    if (!db) {
        std::fprintf(stderr, "%s\n", qPrintable(db.errorString()));
        return 2;
    }
    const QString nodeId = parser.value(nodeOption);
    const QString prefix = parser.value(prefixOption);
    const milliseconds ttl(parser.value(ttlOption).toLongLong());

    Warden::Host host;
    host.setNodeId(nodeId);
    host.setLockManager(db.value().lockManager());
    host.setStore(db.value().store());
    host.setLeaseTimeToLive(ttl);
    host.setLeaseRenewInterval(ttl / 3);
    host.setStandbyPollInterval(milliseconds(parser.value(pollOption).toLongLong()));
    host.setHeartbeatInterval(seconds(1));
    host.setSettingsPollInterval(seconds(1));
    host.setShutdownTimeout(seconds(5));

    const int workMs = std::max(5, parser.value(workOption).toInt());
    for (int i = 0; i < parser.value(perRunOption).toInt(); ++i) {
        const QString lock = prefix + QStringLiteral("pr%1").arg(i);
        auto *worker = Warden::PeriodicWorker::create(
            lock, [lock, nodeId, workMs](Warden::RunContext &context) {
                thread_local std::mt19937 random(std::random_device{}());
                writeLine('S', context, lock, nodeId);
                const auto until =
                    steady_clock::now() + milliseconds(5 + int(random() % unsigned(workMs)));
                while (steady_clock::now() < until && !context.isStopRequested())
                    std::this_thread::sleep_for(milliseconds(2));
                writeLine('E', context, lock, nodeId);
            });
        worker->setInterval(milliseconds(parser.value(intervalOption).toLongLong()));
        worker->setLock(Warden::LockMode::PerRun, lock);
        QString error;
        if (!host.addWorker(worker, &error))
            qFatal("%s", qPrintable(error));
    }
    for (int i = 0; i < parser.value(leadersOption).toInt(); ++i) {
        const QString lock = prefix + QStringLiteral("ld%1").arg(i);
        auto *worker =
            Warden::ContinuousWorker::create(lock, [lock, nodeId](Warden::RunContext &context) {
                writeLine('S', context, lock, nodeId);
                while (!context.isStopRequested())
                    context.stopToken().waitFor(seconds(1));
                writeLine('E', context, lock, nodeId);
            });
        worker->setLock(Warden::LockMode::Leader, lock);
        worker->setRestartBackoff(milliseconds(50), milliseconds(500));
        QString error;
        if (!host.addWorker(worker, &error))
            qFatal("%s", qPrintable(error));
    }

    QObject::connect(&host, &Warden::Host::stopped, &app, &QCoreApplication::quit);
    QTimer watch;
    QObject::connect(&watch, &QTimer::timeout, &host, [&] {
        if (terminateRequested.exchange(false))
            host.stop();
    });
    watch.start(10);
    host.start();
    std::fprintf(stdout, "started %s\n", qPrintable(nodeId));
    std::fflush(stdout);
    const int code = app.exec();
    ::close(logFd);
    return code;
}
