// warden: the headless service and the admin commands. See `warden --help` and warden(1).
#include "cli.h"

#include <warden/global.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QSet>

#include <cstdlib>

namespace Warden::Headless {

int fail(int code, const QString &message)
{
    std::fprintf(stderr, "warden: %s\n", message.toLocal8Bit().constData());
    std::fflush(stderr);
    return code;
}

void print(const QString &text)
{
    std::fputs(text.toLocal8Bit().constData(), stdout);
    std::fputc('\n', stdout);
    std::fflush(stdout);
}

QString databaseHint(const QString &configFile)
{
    return QStringLiteral("check that the database server is running and reachable from here, "
                          "the URL (%1) and the password source (WARDEN_DB_PASSWORD, "
                          "password_file, ~/.pgpass)")
        .arg(configFile.isEmpty()
                 ? QStringLiteral("--database")
                 : QStringLiteral("database in [host] of %1, or --database").arg(configFile));
}

void printError(const QString &text)
{
    std::fputs(text.toLocal8Bit().constData(), stderr);
    std::fputc('\n', stderr);
    std::fflush(stderr);
}

QString helpText()
{
    return QStringLiteral(
        R"(Usage: warden [GLOBAL OPTIONS] COMMAND [ARGS] [OPTIONS]

Runs background workers from a TOML config, and administers a Warden cluster.

Commands:
  run                          run the config's workers in the foreground (systemd Type=notify;
                               SIGTERM/SIGINT stop gracefully, SIGHUP reloads the config)
  check-config [FILE]          validate the config (FILE or --config) and list its workers;
                               starts nothing
  status                       nodes, workers by state, locks held
  workers                      every worker on every node
  locks                        every lock: holder, fencing token, expiry
  nodes                        every node: heartbeat, version, clock offset
  nodes forget NODE [--reason TEXT]
                               remove a dead node's rows now (its running runs become lost);
                               refused for a live node
  runs [--worker NAME] [--limit N]
                               recent runs, newest first (default limit 20); a run is
                               recorded from its start (outcome running)
  runs show RUN_ID             one run: every field, the error and the run's own log lines
  log [--worker NAME] [--limit N] [--follow]
                               log lines, oldest first; --follow waits for new ones
  enable NAME [--reason TEXT]  enable a worker on every node
  disable NAME [--reason TEXT] [--until TIME]
                               disable a worker on every node; with --until (ISO 8601 time or
                               a duration such as 2h) it is a pause that ends by itself
  trigger NAME                 run a worker once now, on the node that may run it
  release LOCK [--yes] [--reason TEXT]
                               force-release a stuck lease (asks first unless --yes)
  schedule EXPR [--tz ZONE] [--count N] [--from TIME]
                               print the next fire times of a cron expression (or a duration
                               such as 10m), ISO 8601 with offset, one a line
  service install|uninstall|status [--user] [--root DIR] [--name NAME]
                               install a hardened systemd unit (or a Windows service) that
                               runs `warden run --config FILE`; uninstall removes exactly what
                               install added

Global options:
  --config FILE     the config (default: $WARDEN_CONFIG, else /etc/warden/warden.toml);
                    relative paths in it start at its folder
  --database URL    the database, instead of the config's host.database
                    (sqlite:/path/warden.db or postgresql://user@host/db)
  --json            machine-readable output for status, workers, locks, nodes, runs, log,
                    check-config, schedule, service status and the admin actions; field
                    names are stable and documented in warden(1)
  -h, --help        this text
  --version         the version

Exit codes:
  0   success
  1   any other failure (a refused action, a failed command)
  64  usage error: unknown command or option, missing or bad argument
  66  no such run or node (runs show, nodes forget)
  69  the database cannot be reached or opened
  78  configuration error: the message names file, line and column

See warden(1) for the config reference.)");
}

namespace {

struct OptionSpec
{
    QString name;
    bool takesValue;
};

QList<OptionSpec> optionsOf(const QString &command)
{
    const QList<OptionSpec> global = {{QStringLiteral("config"), true},
                                      {QStringLiteral("database"), true},
                                      {QStringLiteral("json"), false},
                                      {QStringLiteral("help"), false},
                                      {QStringLiteral("version"), false}};
    QList<OptionSpec> own;
    if (command == QLatin1String("runs"))
        own = {{QStringLiteral("worker"), true},
               {QStringLiteral("limit"), true},
               {QStringLiteral("node"), true}};
    else if (command == QLatin1String("log"))
        own = {{QStringLiteral("worker"), true},
               {QStringLiteral("limit"), true},
               {QStringLiteral("node"), true},
               {QStringLiteral("follow"), false}};
    else if (command == QLatin1String("enable") || command == QLatin1String("nodes"))
        own = {{QStringLiteral("reason"), true}};
    else if (command == QLatin1String("disable"))
        own = {{QStringLiteral("reason"), true}, {QStringLiteral("until"), true}};
    else if (command == QLatin1String("release"))
        own = {{QStringLiteral("yes"), false}, {QStringLiteral("reason"), true}};
    else if (command == QLatin1String("schedule"))
        own = {{QStringLiteral("tz"), true},
               {QStringLiteral("count"), true},
               {QStringLiteral("from"), true}};
    else if (command == QLatin1String("service"))
        own = {{QStringLiteral("user"), false},
               {QStringLiteral("root"), true},
               {QStringLiteral("name"), true},
               {QStringLiteral("force"), false}};
    return global + own;
}

const QStringList &commands()
{
    static const QStringList list = {
        QStringLiteral("run"),      QStringLiteral("check-config"), QStringLiteral("status"),
        QStringLiteral("workers"),  QStringLiteral("locks"),        QStringLiteral("nodes"),
        QStringLiteral("runs"),     QStringLiteral("log"),          QStringLiteral("enable"),
        QStringLiteral("disable"),  QStringLiteral("trigger"),      QStringLiteral("release"),
        QStringLiteral("schedule"), QStringLiteral("service"),      QStringLiteral("help")};
    return list;
}

//! Parses \a arguments; returns 0 or a usage error (already reported).
int parse(const QStringList &arguments, CommandLine *out)
{
    // First pass: find the command (the first operand), so that its options are known.
    QString command;
    for (int i = 1; i < arguments.size(); ++i) {
        const QString &a = arguments.at(i);
        if (a == QLatin1String("--config") || a == QLatin1String("--database")) {
            ++i;
            continue;
        }
        if (!a.startsWith(QLatin1Char('-'))) {
            command = a;
            break;
        }
    }
    const QList<OptionSpec> specs = optionsOf(command);
    bool operandsOnly = false;
    for (int i = 1; i < arguments.size(); ++i) {
        const QString &a = arguments.at(i);
        if (operandsOnly || !a.startsWith(QLatin1Char('-')) || a == QLatin1String("-")) {
            if (out->command.isEmpty())
                out->command = a;
            else
                out->operands.append(a);
            continue;
        }
        if (a == QLatin1String("--")) {
            operandsOnly = true;
            continue;
        }
        if (a == QLatin1String("-h")) {
            out->options.insert(QStringLiteral("help"), QString());
            continue;
        }
        QString name = a.mid(a.startsWith(QLatin1String("--")) ? 2 : 1);
        QString value;
        bool haveValue = false;
        const qsizetype eq = name.indexOf(QLatin1Char('='));
        if (eq >= 0) {
            value = name.mid(eq + 1);
            name = name.left(eq);
            haveValue = true;
        }
        const auto spec = std::find_if(specs.cbegin(), specs.cend(),
                                       [&](const OptionSpec &s) { return s.name == name; });
        if (spec == specs.cend())
            return fail(ExitUsage,
                        command.isEmpty()
                            ? QStringLiteral("unknown option %1; see warden --help").arg(a)
                            : QStringLiteral("unknown option %1 for %2; see warden --help")
                                  .arg(a, command));
        if (spec->takesValue && !haveValue) {
            if (i + 1 >= arguments.size())
                return fail(ExitUsage, QStringLiteral("option --%1 needs a value").arg(name));
            value = arguments.at(++i);
        } else if (!spec->takesValue && haveValue) {
            return fail(ExitUsage, QStringLiteral("option --%1 takes no value").arg(name));
        }
        out->options.insert(name, value);
    }
    return 0;
}

} // namespace

} // namespace Warden::Headless

int main(int argc, char *argv[])
{
    using namespace Warden::Headless;
    // The GLib dispatcher wakes more often and holds more memory than Qt's own; warden has no
    // use for GLib integration (see tests/headless/bench_headless.cpp for the figures).
    if (!qEnvironmentVariableIsSet("QT_NO_GLIB"))
        qputenv("QT_NO_GLIB", "1");
    QCoreApplication app(argc, argv);
    QCoreApplication::setApplicationName(QStringLiteral("warden"));
    QCoreApplication::setApplicationVersion(Warden::version());

    CommandLine commandLine;
    if (const int code = parse(QCoreApplication::arguments(), &commandLine))
        return code;
    if (commandLine.has(QStringLiteral("version"))) {
        print(QStringLiteral("warden %1").arg(Warden::version()));
        return ExitSuccess;
    }
    if (commandLine.has(QStringLiteral("help")) || commandLine.command == QLatin1String("help")) {
        print(helpText());
        return ExitSuccess;
    }
    if (commandLine.command.isEmpty()) {
        printError(helpText());
        return fail(ExitUsage, QStringLiteral("no command given"));
    }
    if (!commands().contains(commandLine.command))
        return fail(
            ExitUsage,
            QStringLiteral("unknown command \"%1\"; see warden --help").arg(commandLine.command));
    if (commandLine.command == QLatin1String("run"))
        return runCommand(commandLine);
    if (commandLine.command == QLatin1String("service"))
        return serviceCommand(commandLine);
    return adminCommand(commandLine);
}
