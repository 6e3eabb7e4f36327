// A small host with three example workers, printing their runs until Ctrl-C:
//  - mark-users-passive (periodic, every 3 s, per-run lock): marks users of a SQLite table
//    passive who have not logged in for 30 days;
//  - delete-old-logs (periodic, cron "*/5 * * * * *"): deletes log files older than 10 s;
//  - log-writer (continuous): writes a log file every second.
// Files go to $WARDEN_EXAMPLE_DIR, by default ./var/example.
#include <warden/continuousworker.h>
#include <warden/cronschedule.h>
#include <warden/host.h>
#include <warden/periodicworker.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QDirIterator>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QRandomGenerator>
#include <QtCore/QSocketNotifier>
#include <QtCore/QThread>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <csignal>
#include <cstdio>
#include <sys/socket.h>
#include <unistd.h>

using namespace std::chrono_literals;

namespace {

int signalPipe[2] = {-1, -1};

void onSignal(int signal)
{
    const char byte = char(signal);
    [[maybe_unused]] const ssize_t written = ::write(signalPipe[1], &byte, 1);
}

QSqlDatabase threadConnection(const QString &file)
{
    const QString name = QStringLiteral("app-%1").arg(quintptr(QThread::currentThreadId()));
    QSqlDatabase db = QSqlDatabase::database(name);
    if (!db.isValid()) {
        db = QSqlDatabase::addDatabase(QStringLiteral("QSQLITE"), name);
        db.setDatabaseName(file);
    }
    if (!db.isOpen())
        db.open();
    return db;
}

void seedUsers(const QString &file)
{
    QSqlDatabase db = threadConnection(file);
    QSqlQuery q(db);
    q.exec(QStringLiteral("CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, "
                          "name TEXT, last_login TEXT, passive INTEGER DEFAULT 0)"));
    q.exec(QStringLiteral("DELETE FROM users"));
    q.prepare(QStringLiteral("INSERT INTO users (name, last_login) "
                             "VALUES (?, datetime('now', ?))"));
    for (int i = 0; i < 100; ++i) {
        q.addBindValue(QStringLiteral("user%1").arg(i));
        q.addBindValue(QStringLiteral("-%1 days").arg(QRandomGenerator::global()->bounded(60)));
        q.exec();
    }
}

} // namespace

int main(int argc, char *argv[])
{
    QCoreApplication app(argc, argv);
    const QString dir = qEnvironmentVariable(
        "WARDEN_EXAMPLE_DIR", QDir::current().filePath(QStringLiteral("var/example")));
    QDir().mkpath(dir + QStringLiteral("/logs"));
    const QString dbFile = dir + QStringLiteral("/app.db");
    seedUsers(dbFile);

    Warden::Host host;
    host.setShutdownTimeout(10s);

    auto *passive = Warden::PeriodicWorker::create(
        QStringLiteral("mark-users-passive"), [dbFile](Warden::RunContext &context) {
            QSqlQuery q(threadConnection(dbFile));
            if (!q.exec(QStringLiteral("UPDATE users SET passive = 1 WHERE passive = 0 AND "
                                       "last_login < datetime('now', '-30 days')")))
                return context.fail(q.lastError().text());
            context.info() << "marked" << q.numRowsAffected() << "users passive";
        });
    passive->setInterval(3s);
    passive->setLock(Warden::LockMode::PerRun);
    host.addWorker(passive);

    auto *cleaner = Warden::PeriodicWorker::create(
        QStringLiteral("delete-old-logs"), [dir](Warden::RunContext &context) {
            int removed = 0;
            QDirIterator it(dir + QStringLiteral("/logs"), {QStringLiteral("*.log")}, QDir::Files);
            while (it.hasNext()) {
                const QFileInfo info(it.next());
                if (info.lastModified().secsTo(QDateTime::currentDateTime()) > 10 &&
                    QFile::remove(info.filePath()))
                    ++removed;
            }
            context.info() << "deleted" << removed << "old log files";
        });
    const auto every5s =
        Warden::CronSchedule::parse(QStringLiteral("*/5 * * * * *"), QStringLiteral("UTC"));
    if (every5s.isOk())
        cleaner->setSchedule(every5s.value());
    host.addWorker(cleaner);

    auto *writer = Warden::ContinuousWorker::create(
        QStringLiteral("log-writer"), [dir](Warden::RunContext &context) {
            int n = 0;
            while (!context.stopToken().waitFor(1s)) {
                QFile file(
                    QStringLiteral("%1/logs/%2-%3.log").arg(dir, context.runId().left(8)).arg(++n));
                if (file.open(QIODevice::WriteOnly))
                    file.write("written by log-writer\n");
            }
        });
    host.addWorker(writer);

    QObject::connect(&host, &Warden::Host::runFinished, &app, [](const Warden::RunRecord &run) {
        std::printf(
            "%s  %-20s %-10s %5lld ms  late %lld ms%s%s\n",
            qPrintable(run.startedAt.toLocalTime().toString(QStringLiteral("HH:mm:ss.zzz"))),
            qPrintable(run.worker), qPrintable(Warden::toKeyword(run.outcome)),
            static_cast<long long>(run.durationMs()),
            static_cast<long long>(run.isManual() ? 0 : run.latenessMs()),
            run.error.isEmpty() ? "" : "  ", qPrintable(run.error));
        std::fflush(stdout);
    });

    // Ctrl-C and SIGTERM stop the host gracefully; a second one exits at once.
    if (::socketpair(AF_UNIX, SOCK_STREAM, 0, signalPipe) != 0)
        return 1;
    QSocketNotifier notifier(signalPipe[0], QSocketNotifier::Read);
    QObject::connect(&notifier, &QSocketNotifier::activated, &app, [&] {
        char byte = 0;
        [[maybe_unused]] const ssize_t got = ::read(signalPipe[0], &byte, 1);
        if (!host.isRunning())
            std::_Exit(130);
        std::printf("stopping (signal %d)...\n", int(byte));
        std::fflush(stdout);
        host.stop();
    });
    QObject::connect(&host, &Warden::Host::stopped, &app, &QCoreApplication::quit);
    std::signal(SIGINT, onSignal);
    std::signal(SIGTERM, onSignal);

    std::printf("warden example: 3 workers in %s; Ctrl-C stops\n", qPrintable(dir));
    std::fflush(stdout);
    host.start();
    return app.exec();
}
