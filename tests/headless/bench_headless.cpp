// bench_headless: what `warden run` costs when it does little.
//
//  - start-up to first tick: from fork to the first run's output line, for a fresh database
//    (schema created) and an existing one, beside a bare QCoreApplication started the same way;
//  - idle RSS with 10 workers, beside a bare QCoreApplication;
//  - idle wake-ups per second: context switches of all threads over 10 s;
//  each with Qt's GLib event dispatcher and without it (QT_NO_GLIB=1, warden's default).
//
// Usage: bench_headless [--runs N] [--seconds S] [--output FILE]  (default /tmp/headless-bench.md)
#include <QtCore/QCoreApplication>
#include <QtCore/QDir>
#include <QtCore/QElapsedTimer>
#include <QtCore/QFile>
#include <QtCore/QProcess>
#include <QtCore/QTemporaryDir>
#include <QtCore/QThread>
#include <QtCore/QTimer>

#include <algorithm>
#include <csignal>
#include <cstdio>

namespace {

QString binary()
{
    return QStringLiteral(WARDEN_BINARY);
}

qint64 median(QList<qint64> values)
{
    std::sort(values.begin(), values.end());
    return values.isEmpty() ? -1 : values.at(values.size() / 2);
}

//! Microseconds from start until a line containing \a marker appears on \a channel.
qint64 timeToLine(const QString &program, const QStringList &arguments,
                  const QProcessEnvironment &environment, const QByteArray &marker)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    QElapsedTimer timer;
    timer.start();
    process.start(program, arguments);
    QByteArray seen;
    qint64 elapsed = -1;
    while (process.waitForReadyRead(10000)) {
        seen += process.readAll();
        if (seen.contains(marker)) {
            elapsed = timer.nsecsElapsed() / 1000;
            break;
        }
    }
    process.kill();
    process.waitForFinished(5000);
    return elapsed;
}

struct Idle
{
    qint64 rssKb = 0;
    double wakeupsPerSecond = 0;
    int threads = 0;
    QString perThread;
};

qint64 statusField(const QString &path, const QByteArray &field)
{
    QFile file(path);
    if (!file.open(QIODevice::ReadOnly))
        return 0;
    for (const QByteArray &line : file.readAll().split('\n')) {
        if (line.startsWith(field + ':'))
            return line.mid(field.size() + 1).trimmed().split(' ').first().toLongLong();
    }
    return 0;
}

QHash<QString, qint64> switches(qint64 pid)
{
    QHash<QString, qint64> out;
    const QDir tasks(QStringLiteral("/proc/%1/task").arg(pid));
    for (const QString &tid : tasks.entryList(QDir::Dirs | QDir::NoDotAndDotDot)) {
        const QString status = tasks.filePath(tid + QStringLiteral("/status"));
        QFile comm(tasks.filePath(tid + QStringLiteral("/comm")));
        comm.open(QIODevice::ReadOnly);
        const QString name = QString::fromUtf8(comm.readAll().trimmed()) + QLatin1Char('/') + tid;
        out.insert(name, statusField(status, "voluntary_ctxt_switches") +
                             statusField(status, "nonvoluntary_ctxt_switches"));
    }
    return out;
}

Idle measureIdle(const QString &program, const QStringList &arguments,
                 const QProcessEnvironment &environment, int seconds, const QByteArray &ready)
{
    QProcess process;
    process.setProcessEnvironment(environment);
    process.setProcessChannelMode(QProcess::MergedChannels);
    process.start(program, arguments);
    QByteArray seen;
    while (!seen.contains(ready) && process.waitForReadyRead(10000))
        seen += process.readAll();
    QThread::sleep(3); // let the first runs finish and the writer settle
    process.readAll();
    Idle idle;
    const qint64 pid = process.processId();
    const auto before = switches(pid);
    QThread::sleep(unsigned(seconds));
    const auto after = switches(pid);
    process.readAll();
    idle.rssKb = statusField(QStringLiteral("/proc/%1/status").arg(pid), "VmRSS");
    qint64 total = 0;
    QStringList parts;
    for (auto it = after.cbegin(); it != after.cend(); ++it) {
        const qint64 delta = it.value() - before.value(it.key());
        total += delta;
        if (delta > 0)
            parts.append(QStringLiteral("%1 %2")
                             .arg(it.key().section(QLatin1Char('/'), 0, 0))
                             .arg(double(delta) / seconds, 0, 'f', 1));
    }
    idle.threads = int(after.size());
    idle.wakeupsPerSecond = double(total) / seconds;
    idle.perThread = parts.join(QStringLiteral(", "));
    ::kill(pid_t(pid), SIGTERM);
    process.waitForFinished(10000);
    return idle;
}

QByteArray workerConfig(int workers, const QString &database)
{
    QByteArray text =
        "[host]\nnode_id = \"bench\"\ndatabase = \"sqlite://" + database.toUtf8() + "\"\n";
    for (int i = 0; i < workers; ++i)
        text += QStringLiteral("\n[workers.w%1]\ntype = \"command\"\nevery = \"1h\"\n"
                               "shell = true\ncommand = \"echo tick-%1\"\n")
                    .arg(i)
                    .toUtf8();
    return text;
}

} // namespace

int main(int argc, char *argv[])
{
    // Helper modes: a bare QCoreApplication, the baseline.
    if (argc > 1 && qstrcmp(argv[1], "--bare") == 0) {
        QCoreApplication app(argc, argv);
        std::fputs("ready\n", stdout);
        std::fflush(stdout);
        return app.exec();
    }
    QCoreApplication app(argc, argv);
    int runs = 15;
    int seconds = 10;
    QString output = QStringLiteral("/tmp/headless-bench.md");
    const QStringList args = app.arguments();
    for (int i = 1; i + 1 < args.size(); ++i) {
        if (args.at(i) == QLatin1String("--runs"))
            runs = args.at(i + 1).toInt();
        else if (args.at(i) == QLatin1String("--seconds"))
            seconds = args.at(i + 1).toInt();
        else if (args.at(i) == QLatin1String("--output"))
            output = args.at(i + 1);
    }

    QTemporaryDir dir;
    const QString self = QCoreApplication::applicationFilePath();
    QProcessEnvironment noGlib = QProcessEnvironment::systemEnvironment();
    noGlib.insert(QStringLiteral("QT_NO_GLIB"), QStringLiteral("1"));
    noGlib.insert(QStringLiteral("QT_LOGGING_RULES"), QStringLiteral("*.debug=false"));
    QProcessEnvironment glib = noGlib;
    glib.insert(QStringLiteral("QT_NO_GLIB"), QString()); // set but empty: Qt uses GLib

#ifdef NDEBUG
    const bool optimised = true;
#else
    const bool optimised = false;
#endif
    QString report;
    auto line = [&](const QString &text) {
        report += text + QLatin1Char('\n');
        std::printf("%s\n", qPrintable(text));
        std::fflush(stdout);
    };
    line(QStringLiteral("# bench_headless"));
    line(QString());
    line(QStringLiteral("Command: `%1 --runs %2 --seconds %3` (build type of this binary: %4; "
                        "%5 cores)")
             .arg(QDir::toNativeSeparators(self))
             .arg(runs)
             .arg(seconds)
             .arg(optimised ? QStringLiteral("optimised") : QStringLiteral("debug"))
             .arg(QThread::idealThreadCount()));
    line(QString());
    line(QStringLiteral("## Start-up to first tick (median of %1, microseconds)").arg(runs));
    line(QString());
    line(QStringLiteral("| process | QT_NO_GLIB=1 | GLib dispatcher |"));
    line(QStringLiteral("|---|---:|---:|"));
    for (const char *what :
         {"bare QCoreApplication (to \"ready\")", "warden run, 1 worker, fresh database",
          "warden run, 1 worker, existing database"}) {
        QList<qint64> values[2];
        for (int variant = 0; variant < 2; ++variant) {
            const QProcessEnvironment &env = variant == 0 ? noGlib : glib;
            for (int i = 0; i < runs; ++i) {
                const QString name = QLatin1String(what);
                if (name.startsWith(QLatin1String("bare"))) {
                    values[variant].append(
                        timeToLine(self, {QStringLiteral("--bare")}, env, "ready"));
                    continue;
                }
                const bool fresh = name.contains(QLatin1String("fresh"));
                const QString db =
                    dir.filePath(fresh ? QStringLiteral("fresh-%1-%2.db").arg(variant).arg(i)
                                       : QStringLiteral("existing-%1.db").arg(variant));
                const QString config = dir.filePath(QStringLiteral("start.toml"));
                QFile file(config);
                file.open(QIODevice::WriteOnly | QIODevice::Truncate);
                file.write(workerConfig(1, db));
                file.close();
                if (!fresh && i == 0) // create the schema once
                    timeToLine(binary(),
                               {QStringLiteral("run"), QStringLiteral("--config"), config}, env,
                               "[w0] tick-0");
                values[variant].append(timeToLine(
                    binary(), {QStringLiteral("run"), QStringLiteral("--config"), config}, env,
                    "[w0] tick-0"));
            }
        }
        line(QStringLiteral("| %1 | %2 | %3 |")
                 .arg(QLatin1String(what))
                 .arg(median(values[0]))
                 .arg(median(values[1])));
    }
    line(QString());
    line(QStringLiteral("The first tick is the first run's output line as read by the parent: it "
                        "includes opening SQLite, the schema check, starting the host's threads, "
                        "the first settings read, and fork/exec of `sh -c echo`."));
    line(QString());

    line(QStringLiteral("## Idle: 10 workers (every 1h), after their first runs; %1 s")
             .arg(seconds));
    line(QString());
    line(QStringLiteral("| process | dispatcher | RSS (MB) | threads | wake-ups/s | by thread |"));
    line(QStringLiteral("|---|---|---:|---:|---:|---|"));
    const QString idleConfig = dir.filePath(QStringLiteral("idle.toml"));
    {
        QFile file(idleConfig);
        file.open(QIODevice::WriteOnly | QIODevice::Truncate);
        file.write(workerConfig(10, dir.filePath(QStringLiteral("idle.db"))));
    }
    for (int variant = 0; variant < 2; ++variant) {
        const QProcessEnvironment &env = variant == 0 ? noGlib : glib;
        const QString dispatcher =
            variant == 0 ? QStringLiteral("QT_NO_GLIB=1") : QStringLiteral("GLib");
        const Idle bare = measureIdle(self, {QStringLiteral("--bare")}, env, seconds, "ready");
        line(QStringLiteral("| bare QCoreApplication | %1 | %2 | %3 | %4 | %5 |")
                 .arg(dispatcher)
                 .arg(double(bare.rssKb) / 1024.0, 0, 'f', 1)
                 .arg(bare.threads)
                 .arg(bare.wakeupsPerSecond, 0, 'f', 1)
                 .arg(bare.perThread));
        const Idle warden =
            measureIdle(binary(), {QStringLiteral("run"), QStringLiteral("--config"), idleConfig},
                        env, seconds, "running 10 workers");
        line(QStringLiteral("| warden run, 10 workers | %1 | %2 | %3 | %4 | %5 |")
                 .arg(dispatcher)
                 .arg(double(warden.rssKb) / 1024.0, 0, 'f', 1)
                 .arg(warden.threads)
                 .arg(warden.wakeupsPerSecond, 0, 'f', 1)
                 .arg(warden.perThread));
    }
    line(QString());
    line(QStringLiteral("Wake-ups are voluntary plus involuntary context switches of all threads "
                        "(/proc/PID/task/*/status). warden sets QT_NO_GLIB=1 unless the "
                        "environment sets QT_NO_GLIB."));
    QFile out(output);
    if (out.open(QIODevice::WriteOnly | QIODevice::Truncate))
        out.write(report.toUtf8());
    std::printf("\nwritten to %s\n", qPrintable(output));
    return 0;
}
