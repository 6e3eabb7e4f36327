// The warden commands as an admin meets them: exit codes, --json shapes, and the message for
// each class of bad input (file, line, column, and what to do).
#include "wardentest.h"

#include <warden/adminactions.h>

#include <QtCore/QStandardPaths>
#include <QtCore/QTemporaryDir>
#include <QtTest/QTest>

using namespace WardenTest;

class tst_HeadlessCli : public QObject
{
    Q_OBJECT

private slots:
    void initTestCase();
    void cleanupTestCase();
    void helpAndVersion();
    void usageErrors_data();
    void usageErrors();
    void badConfig_data();
    void badConfig();
    void badConfigJson();
    void goodConfig();
    void schedule();
    void scheduleErrors();
    void databaseUnreachable_data();
    void databaseUnreachable();
    void listingsAsJson();
    void adminActionsAreAudited();
    void triggerRunsOnce();
    void releaseAsksAndNamesTheHolder();
    void serviceInstallVerifyUninstall_data();
    void serviceInstallVerifyUninstall();
    void runWithBadDatabaseOptionIsUsage();
    void logFollowEnds();

private:
    QTemporaryDir m_dir;
    QString m_config;
    QString m_url;
    std::unique_ptr<Node> m_node;
};

void tst_HeadlessCli::initTestCase()
{
    QVERIFY(m_dir.isValid());
    // One node for the admin commands: a periodic worker, a per-run locked one, a leader.
    m_config = m_dir.filePath(QStringLiteral("warden.toml"));
    writeFile(m_config, R"([host]
node_id = "cli-node"
database = "sqlite:warden.db"
shutdown_timeout = "5s"

[locks]
ttl = "30s"

[workers.hourly]
type = "command"
every = "1h"
command = ["true"]

[workers.locked]
type = "command"
every = "1h"
lock = "locked-lock"
command = ["true"]

[workers.leader]
type = "command"
continuous = true
lock = "leader-lock"
command = ["sleep", "3600"]
)");
    m_url = QStringLiteral("sqlite://") + m_dir.filePath(QStringLiteral("warden.db"));
    m_node = std::make_unique<Node>(QStringList{QStringLiteral("--config"), m_config});
    QVERIFY2(m_node->waitForLog("running 3 workers"), m_node->log().constData());
    // Until the store has the statuses, the first runs and the leader's lease.
    QTRY_VERIFY_WITH_TIMEOUT(run({QStringLiteral("workers"), QStringLiteral("--config"), m_config,
                                  QStringLiteral("--json")})
                                     .json()
                                     .array()
                                     .size() == 3,
                             15000);
    QTRY_VERIFY_WITH_TIMEOUT(run({QStringLiteral("runs"), QStringLiteral("--config"), m_config,
                                  QStringLiteral("--json")})
                                     .json()
                                     .array()
                                     .size() >= 2,
                             15000);
}

void tst_HeadlessCli::cleanupTestCase()
{
    if (m_node) {
        m_node->signal(SIGTERM);
        QVERIFY(m_node->waitForExit(15000));
        QCOMPARE(m_node->process().exitCode(), 0);
    }
}

void tst_HeadlessCli::helpAndVersion()
{
    const Output help = run({QStringLiteral("--help")});
    QCOMPARE(help.exitCode, 0);
    for (const char *text : {"Exit codes", "64", "69", "78", "check-config", "schedule EXPR",
                             "service install", "--json", "release LOCK"})
        QVERIFY2(help.out.contains(text), text);
    // The man page documents the same commands and exit codes.
    QFile man(QStringLiteral(WARDEN_MAN_PAGE));
    QVERIFY(man.open(QIODevice::ReadOnly));
    const QByteArray page = man.readAll();
    for (const char *text :
         {".SH EXIT STATUS", ".B 64", ".B 69", ".B 78", "check\\-config", ".B status", ".B workers",
          ".B locks", ".B nodes", "runs", "log", "enable", "disable", "trigger", "release",
          "schedule", "service", ".SH JSON OUTPUT", ".SS [workers.NAME]"})
        QVERIFY2(page.contains(text), text);
    const Output version = run({QStringLiteral("--version")});
    QCOMPARE(version.exitCode, 0);
    QVERIFY(version.out.startsWith("warden "));
}

void tst_HeadlessCli::usageErrors_data()
{
    QTest::addColumn<QStringList>("arguments");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("no command") << QStringList() << QByteArray("no command given");
    QTest::newRow("unknown command") << QStringList{QStringLiteral("frobnicate")}
                                     << QByteArray("unknown command \"frobnicate\"");
    QTest::newRow("unknown option")
        << QStringList{QStringLiteral("workers"), QStringLiteral("--bogus")}
        << QByteArray("unknown option --bogus for workers");
    QTest::newRow("option of another command")
        << QStringList{QStringLiteral("workers"), QStringLiteral("--follow")}
        << QByteArray("unknown option --follow");
    QTest::newRow("missing value") << QStringList{QStringLiteral("runs"), QStringLiteral("--limit")}
                                   << QByteArray("option --limit needs a value");
    QTest::newRow("bad limit") << QStringList{QStringLiteral("runs"), QStringLiteral("--limit"),
                                              QStringLiteral("many"), QStringLiteral("--database"),
                                              QStringLiteral("sqlite:/nonexistent.db")}
                               << QByteArray("--limit needs a positive number");
    QTest::newRow("enable without name")
        << QStringList{QStringLiteral("enable")} << QByteArray("enable needs exactly one name");
    QTest::newRow("schedule without expression")
        << QStringList{QStringLiteral("schedule")} << QByteArray("schedule needs one expression");
    QTest::newRow("service without action")
        << QStringList{QStringLiteral("service")} << QByteArray("service needs one of install");
}

void tst_HeadlessCli::usageErrors()
{
    QFETCH(QStringList, arguments);
    QFETCH(QByteArray, message);
    const Output result = run(arguments);
    QCOMPARE(result.exitCode, 64);
    QVERIFY2(result.err.contains(message), result.err.constData());
}

void tst_HeadlessCli::badConfig_data()
{
    QTest::addColumn<QByteArray>("toml");
    QTest::addColumn<int>("line");
    QTest::addColumn<int>("column");
    QTest::addColumn<QByteArray>("message");
    QTest::addColumn<QByteArray>("hint");

    const QByteArray head = "[host]\ndatabase = \"sqlite:w.db\"\n\n";
    QTest::newRow("unknown key") << head + "[workers.a]\ntype = \"command\"\nevry = \"10m\"\n"
                                           "command = [\"true\"]\n"
                                 << 6 << 1 << QByteArray("unknown key \"evry\" in worker \"a\"")
                                 << QByteArray("did you mean \"every\"?");
    QTest::newRow("wrong type")
        << head + "[workers.a]\ntype = \"command\"\nevery = 10\n"
                  "command = [\"true\"]\n"
        << 6 << 9 << QByteArray("worker \"a\": every must be a duration string, not an integer")
        << QByteArray("\"1h30m\"");
    QTest::newRow("bad duration") << head +
                                         "[workers.a]\ntype = \"command\"\nevery = \"10 minutes\"\n"
                                         "command = [\"true\"]\n"
                                  << 6 << 9
                                  << QByteArray("worker \"a\": every: bad duration \"10 minutes\"")
                                  << QByteArray("write a duration as a string");
    QTest::newRow("bad cron")
        << head + "[workers.a]\ntype = \"command\"\ncron = \"61 * * * *\"\n"
                  "command = [\"true\"]\n"
        << 6 << 8
        << QByteArray(
               "worker \"a\": bad cron expression \"61 * * * *\": minute: 61 is outside 0-59")
        << QByteArray("warden schedule");
    QTest::newRow("unknown time zone")
        << head +
               "[workers.a]\ntype = \"command\"\ncron = \"0 3 * * *\"\ntimezone = \"Mars/Base\"\n"
               "command = [\"true\"]\n"
        << 7 << 12 << QByteArray("worker \"a\": timezone: unknown time zone \"Mars/Base\"")
        << QByteArray("IANA name");
    QTest::newRow("dead_after too short")
        << QByteArray("[host]\ndatabase = \"sqlite:w.db\"\ndead_after = \"5s\"\n") << 3 << 14
        << QByteArray("host.dead_after must be at least 10s") << QByteArray("leave it out for 15s");
    QTest::newRow("duplicate name")
        << head + "[workers.a]\ntype = \"command\"\nevery = \"1m\"\ncommand = [\"true\"]\n\n"
                  "[workers.a]\ntype = \"command\"\nevery = \"1m\"\ncommand = [\"true\"]\n"
        << 9 << 1 << QByteArray("syntax:") << QByteArray("every name may appear once");
    QTest::newRow("unknown type") << head + "[workers.a]\ntype = \"comand\"\nevery = \"1m\"\n"
                                  << 5 << 8 << QByteArray("worker \"a\": unknown type \"comand\"")
                                  << QByteArray("did you mean \"command\"?");
    QTest::newRow("no schedule") << head + "[workers.a]\ntype = \"command\"\ncommand = [\"true\"]\n"
                                 << 4 << 1 << QByteArray("worker \"a\" has no schedule")
                                 << QByteArray("continuous = true");
    QTest::newRow("unknown section")
        << head + "[wokers.a]\ntype = \"command\"\n"
        << 4 << 2 << QByteArray("unknown key \"wokers\" in the top level")
        << QByteArray("did you mean \"workers\"?");
    QTest::newRow("missing connection")
        << head + "[workers.a]\ntype = \"sql\"\nevery = \"1m\"\nconnection = \"app\"\n"
                  "statements = [\"SELECT 1\"]\n"
        << 7 << 14 << QByteArray("worker \"a\": no connection named \"app\"")
        << QByteArray("[connections.app]");
    QTest::newRow("string command without shell")
        << head + "[workers.a]\ntype = \"command\"\nevery = \"1m\"\ncommand = \"rm -rf x\"\n"
        << 7 << 11 << QByteArray("worker \"a\": command is a string, but no shell runs it")
        << QByteArray("or set shell = true");
    QTest::newRow("bad lock mode")
        << head + "[workers.a]\ntype = \"command\"\nevery = \"1m\"\nlock = true\n"
                  "lock_mode = \"solo\"\ncommand = [\"true\"]\n"
        << 8 << 13 << QByteArray("worker \"a\": lock_mode: unknown mode \"solo\"")
        << QByteArray("\"per-run\"");
    QTest::newRow("syntax error") << head + "[workers.a\ntype = \"command\"\n"
                                  << 4 << 11 << QByteArray("syntax:")
                                  << QByteArray("fix the TOML syntax");
    QTest::newRow("bad database URL")
        << QByteArray("[host]\ndatabase = \"mysql://db/app\"\n") << 2 << 12
        << QByteArray("host.database: unsupported database URL") << QByteArray("sqlite:FILE");
    QTest::newRow("bad connection URL")
        << head + "[connections.app]\nurl = \"postgresql://db/app?sslmod=require\"\n"
        << 5 << 7 << QByteArray("connections.app.url: ") << QByteArray("postgresql://USER@HOST");
    QTest::newRow("host key type")
        << QByteArray("[host]\nshutdown_timeout = true\n") << 2 << 20
        << QByteArray("host.shutdown_timeout must be a duration string") << QByteArray("\"90s\"");
}

void tst_HeadlessCli::badConfig()
{
    QFETCH(QByteArray, toml);
    QFETCH(int, line);
    QFETCH(int, column);
    QFETCH(QByteArray, message);
    QFETCH(QByteArray, hint);
    const QString path = m_dir.filePath(QStringLiteral("bad-%1.toml")
                                            .arg(QString::fromLatin1(QTest::currentDataTag())
                                                     .replace(QLatin1Char(' '), QLatin1Char('-'))));
    writeFile(path, toml);
    for (const QString &command : {QStringLiteral("check-config"), QStringLiteral("run")}) {
        const Output result = run({command, QStringLiteral("--config"), path});
        QCOMPARE(result.exitCode, 78);
        const QByteArray where =
            QStringLiteral("%1:%2:%3: error: ").arg(path).arg(line).arg(column).toUtf8();
        QVERIFY2(result.err.contains(where + message),
                 (QByteArray("expected ") + where + message + "\ngot: " + result.err).constData());
        QVERIFY2(result.err.contains("hint: ") && result.err.contains(hint),
                 result.err.constData());
        QVERIFY2(result.err.contains("nothing was started"), result.err.constData());
        QCOMPARE(result.err.count(": error: "), 1);
    }
}

void tst_HeadlessCli::badConfigJson()
{
    const QString path = m_dir.filePath(QStringLiteral("bad-json.toml"));
    writeFile(path,
              "[workers.a]\ntype = \"command\"\nevery = \"1x\"\ncommand = [\"true\"]\n"
              "[workers.b]\ntype = \"command\"\nevery = \"1m\"\ncommand = [\"true\"]\nfoo = 1\n");
    const Output result = run({QStringLiteral("check-config"), QStringLiteral("--config"), path,
                               QStringLiteral("--json")});
    QCOMPARE(result.exitCode, 78);
    const QJsonObject root = result.json().object();
    QCOMPARE(root.value(QStringLiteral("valid")).toBool(true), false);
    QCOMPARE(root.value(QStringLiteral("file")).toString(), path);
    const QJsonArray errors = root.value(QStringLiteral("errors")).toArray();
    QCOMPARE(errors.size(), 2);
    const QJsonObject first = errors.at(0).toObject();
    for (const char *key : {"file", "line", "column", "message", "hint"})
        QVERIFY2(first.contains(QLatin1String(key)), key);
    QCOMPARE(first.value(QStringLiteral("line")).toInt(), 3);
    QCOMPARE(first.value(QStringLiteral("column")).toInt(), 9);
    QCOMPARE(errors.at(1).toObject().value(QStringLiteral("line")).toInt(), 9);
}

void tst_HeadlessCli::goodConfig()
{
    const Output text = run({QStringLiteral("check-config"), QStringLiteral("--config"), m_config});
    QCOMPARE(text.exitCode, 0);
    QVERIFY(text.out.contains("valid, 3 worker(s)"));
    // The file may also be given as the operand; not both, and not two.
    const Output operand = run({QStringLiteral("check-config"), m_config});
    QCOMPARE(operand.exitCode, 0);
    QCOMPARE(operand.out, text.out);
    QCOMPARE(run({QStringLiteral("check-config"), m_config, QStringLiteral("--config"), m_config})
                 .exitCode,
             64);
    QCOMPARE(run({QStringLiteral("check-config"), m_config, m_config}).exitCode, 64);
    const Output json = run({QStringLiteral("check-config"), QStringLiteral("--config"), m_config,
                             QStringLiteral("--json")});
    QCOMPARE(json.exitCode, 0);
    const QJsonObject root = json.json().object();
    QVERIFY(root.value(QStringLiteral("valid")).toBool());
    const QJsonArray workers = root.value(QStringLiteral("workers")).toArray();
    QCOMPARE(workers.size(), 3);
    const QJsonObject leader = workers.at(1).toObject();
    QCOMPARE(leader.value(QStringLiteral("name")).toString(), QStringLiteral("leader"));
    QCOMPARE(leader.value(QStringLiteral("kind")).toString(), QStringLiteral("continuous"));
    QCOMPARE(leader.value(QStringLiteral("lock_mode")).toString(), QStringLiteral("leader"));
    QCOMPARE(leader.value(QStringLiteral("lock")).toString(), QStringLiteral("leader-lock"));
    // The example config of resources/ is valid too.
    const Output example = run({QStringLiteral("check-config"), QStringLiteral("--config"),
                                QStringLiteral(WARDEN_EXAMPLE_CONFIG)});
    QVERIFY2(example.exitCode == 0, example.err.constData());
}

void tst_HeadlessCli::schedule()
{
    // Across the spring-forward day in Berlin: the offset changes, the wall time does not.
    const Output result = run({QStringLiteral("schedule"), QStringLiteral("0 3 * * *"),
                               QStringLiteral("--tz"), QStringLiteral("Europe/Berlin"),
                               QStringLiteral("--from"), QStringLiteral("2026-03-28T00:00:00Z"),
                               QStringLiteral("--count"), QStringLiteral("3")});
    QCOMPARE(result.exitCode, 0);
    QCOMPARE(result.out, QByteArray("2026-03-28T03:00:00+01:00\n2026-03-29T03:00:00+02:00\n"
                                    "2026-03-30T03:00:00+02:00\n"));
    const Output utc = run({QStringLiteral("schedule"), QStringLiteral("*/15 * * * *"),
                            QStringLiteral("--tz"), QStringLiteral("UTC"), QStringLiteral("--from"),
                            QStringLiteral("2026-01-01T00:00:00Z"), QStringLiteral("--count"),
                            QStringLiteral("2"), QStringLiteral("--json")});
    QCOMPARE(utc.exitCode, 0);
    QCOMPARE(utc.json().array(), (QJsonArray{QStringLiteral("2026-01-01T00:15:00+00:00"),
                                             QStringLiteral("2026-01-01T00:30:00+00:00")}));
    const Output every = run({QStringLiteral("schedule"), QStringLiteral("90m"),
                              QStringLiteral("--tz"), QStringLiteral("UTC"),
                              QStringLiteral("--from"), QStringLiteral("2026-01-01T00:00:00Z"),
                              QStringLiteral("--count"), QStringLiteral("2")});
    QCOMPARE(every.out, QByteArray("2026-01-01T00:00:00+00:00\n2026-01-01T01:30:00+00:00\n"));
}

void tst_HeadlessCli::scheduleErrors()
{
    const Output cron = run({QStringLiteral("schedule"), QStringLiteral("0 25 * * *")});
    QCOMPARE(cron.exitCode, 64);
    QVERIFY2(cron.err.contains("bad cron expression \"0 25 * * *\": hour"), cron.err.constData());
    const Output zone = run({QStringLiteral("schedule"), QStringLiteral("0 3 * * *"),
                             QStringLiteral("--tz"), QStringLiteral("Nowhere/Town")});
    QCOMPARE(zone.exitCode, 64);
    QVERIFY(zone.err.contains("unknown time zone"));
    const Output from = run({QStringLiteral("schedule"), QStringLiteral("0 3 * * *"),
                             QStringLiteral("--from"), QStringLiteral("yesterday")});
    QCOMPARE(from.exitCode, 64);
    QVERIFY(from.err.contains("bad time \"yesterday\""));
}

void tst_HeadlessCli::databaseUnreachable_data()
{
    QTest::addColumn<QString>("url");
    QTest::addColumn<QByteArray>("message");
    QTest::newRow("sqlite file missing")
        << QStringLiteral("sqlite:/proc/warden-no-such-dir/w.db") << QByteArray("does not exist");
    QTest::newRow("postgresql refused") << QStringLiteral("postgresql://nobody@127.0.0.1:1/none")
                                        << QByteArray("cannot open the database");
}

void tst_HeadlessCli::databaseUnreachable()
{
    QFETCH(QString, url);
    QFETCH(QByteArray, message);
    for (const QString &command :
         {QStringLiteral("status"), QStringLiteral("workers"), QStringLiteral("locks")}) {
        const Output result = run({command, QStringLiteral("--database"), url});
        QCOMPARE(result.exitCode, 69);
        QVERIFY2(result.err.contains(message), result.err.constData());
    }
    // And `run` itself, for a database it cannot open.
    const QString path = m_dir.filePath(QStringLiteral("unreachable.toml"));
    writeFile(path,
              "[host]\ndatabase = \"" + url.toUtf8() +
                  "\"\n[workers.a]\ntype = \"command\"\nevery = \"1m\"\ncommand = [\"true\"]\n");
    const Output running = run({QStringLiteral("run"), QStringLiteral("--config"), path});
    QCOMPARE(running.exitCode, 69);
    // Both say what to do, and where the URL came from.
    if (message == "cannot open the database") {
        const Output status = run({QStringLiteral("status"), QStringLiteral("--config"), path});
        for (const Output *output : {&status, &running}) {
            QVERIFY2(output->err.contains("hint: check that the database server is running"),
                     output->err.constData());
            QVERIFY2(output->err.contains("database in [host] of " + QFile::encodeName(path)),
                     output->err.constData());
        }
    }
}

void tst_HeadlessCli::listingsAsJson()
{
    const QStringList base{QStringLiteral("--config"), m_config, QStringLiteral("--json")};
    const Output status = run(QStringList{QStringLiteral("status")} + base);
    QCOMPARE(status.exitCode, 0);
    const QJsonObject s = status.json().object();
    QCOMPARE(s.value(QStringLiteral("nodes")).toObject().value(QStringLiteral("alive")).toInt(), 1);
    QCOMPARE(s.value(QStringLiteral("workers")).toObject().value(QStringLiteral("total")).toInt(),
             3);
    QVERIFY(s.value(QStringLiteral("locks")).toObject().contains(QStringLiteral("held")));
    QVERIFY(s.value(QStringLiteral("database")).toString().startsWith(QStringLiteral("sqlite://")));

    const QJsonArray workers = run(QStringList{QStringLiteral("workers")} + base).json().array();
    QCOMPARE(workers.size(), 3);
    for (const char *key : {"worker", "node", "kind", "state", "enabled", "schedule", "lock_mode",
                            "lock", "next_run_at", "last_run_at", "last_outcome",
                            "last_duration_ms", "last_error", "run_count", "failure_count",
                            "skip_count", "paused_until", "disabled_reason", "updated_at"})
        QVERIFY2(workers.at(0).toObject().contains(QLatin1String(key)), key);
    QCOMPARE(workers.at(0).toObject().value(QStringLiteral("node")).toString(),
             QStringLiteral("cli-node"));
    // Absent values are null, not "" or -1: the leader (continuous) has no schedule.
    for (const QJsonValue &w : workers) {
        const QJsonObject o = w.toObject();
        if (o.value(QStringLiteral("kind")).toString() == QLatin1String("continuous"))
            QVERIFY(o.value(QStringLiteral("schedule")).isNull());
        QVERIFY(o.value(QStringLiteral("last_duration_ms")).isNull() ||
                o.value(QStringLiteral("last_duration_ms")).toInteger() >= 0);
    }

    const QJsonArray locks = run(QStringList{QStringLiteral("locks")} + base).json().array();
    QVERIFY(!locks.isEmpty());
    bool leaderHeld = false;
    for (const QJsonValue &l : locks) {
        for (const char *key :
             {"name", "holder", "held", "fencing_token", "acquired_at", "renewed_at", "expires_at"})
            QVERIFY2(l.toObject().contains(QLatin1String(key)), key);
        if (l.toObject().value(QStringLiteral("name")).toString() == QLatin1String("leader-lock"))
            leaderHeld = l.toObject().value(QStringLiteral("held")).toBool() &&
                         l.toObject().value(QStringLiteral("holder")).toString() ==
                             QLatin1String("cli-node");
    }
    QVERIFY(leaderHeld);

    const QJsonArray nodes = run(QStringList{QStringLiteral("nodes")} + base).json().array();
    QCOMPARE(nodes.size(), 1);
    for (const char *key : {"id", "host_name", "pid", "version", "started_at", "heartbeat_at",
                            "heartbeat_interval_ms", "clock_offset_ms", "alive"})
        QVERIFY2(nodes.at(0).toObject().contains(QLatin1String(key)), key);
    QCOMPARE(nodes.at(0).toObject().value(QStringLiteral("pid")).toInteger(), m_node->pid());

    const Output runs =
        run(QStringList{QStringLiteral("runs"), QStringLiteral("--worker"),
                        QStringLiteral("hourly"), QStringLiteral("--limit"), QStringLiteral("5")} +
            base);
    QCOMPARE(runs.exitCode, 0);
    const QJsonArray runList = runs.json().array();
    QVERIFY(!runList.isEmpty());
    for (const QJsonValue &r : runList) {
        QCOMPARE(r.toObject().value(QStringLiteral("worker")).toString(), QStringLiteral("hourly"));
        for (const char *key :
             {"run_id", "node", "outcome", "scheduled_at", "started_at", "finished_at",
              "duration_ms", "lateness_ms", "manual", "trigger", "fencing_token", "error"})
            QVERIFY2(r.toObject().contains(QLatin1String(key)), key);
    }

    // log --json: one object a line.
    const Output log = run(
        QStringList{QStringLiteral("log"), QStringLiteral("--limit"), QStringLiteral("5")} + base);
    QCOMPARE(log.exitCode, 0);
    const QList<QByteArray> lines = log.out.trimmed().split('\n');
    QVERIFY(!lines.isEmpty());
    for (const QByteArray &line : lines) {
        const QJsonObject o = QJsonDocument::fromJson(line).object();
        for (const char *key :
             {"id", "time", "node", "worker", "run_id", "level", "category", "message"})
            QVERIFY2(o.contains(QLatin1String(key)), line.constData());
    }

    // Text output of the same commands works too.
    for (const QString &c :
         {QStringLiteral("status"), QStringLiteral("workers"), QStringLiteral("locks"),
          QStringLiteral("nodes"), QStringLiteral("runs"), QStringLiteral("log")}) {
        const Output text = run({c, QStringLiteral("--config"), m_config});
        QVERIFY2(text.exitCode == 0 && !text.out.isEmpty(), qPrintable(c));
    }
}

void tst_HeadlessCli::adminActionsAreAudited()
{
    const QStringList base{QStringLiteral("--config"), m_config};
    const Output disable = run(
        QStringList{QStringLiteral("disable"), QStringLiteral("hourly"), QStringLiteral("--reason"),
                    QStringLiteral("maintenance"), QStringLiteral("--json")} +
        base);
    QCOMPARE(disable.exitCode, 0);
    QCOMPARE(disable.json().object().value(QStringLiteral("enabled")).toBool(true), false);
    auto stateOf = [&](const QString &worker) {
        for (const QJsonValue &w :
             run(QStringList{QStringLiteral("workers"), QStringLiteral("--json")} + base)
                 .json()
                 .array()) {
            if (w.toObject().value(QStringLiteral("worker")).toString() == worker)
                return w.toObject();
        }
        return QJsonObject();
    };
    QTRY_COMPARE_WITH_TIMEOUT(
        stateOf(QStringLiteral("hourly")).value(QStringLiteral("state")).toString(),
        QStringLiteral("disabled"), 10000);
    QCOMPARE(stateOf(QStringLiteral("hourly")).value(QStringLiteral("disabled_reason")).toString(),
             QStringLiteral("maintenance"));

    const Output pause = run(QStringList{QStringLiteral("disable"), QStringLiteral("locked"),
                                         QStringLiteral("--until"), QStringLiteral("2h")} +
                             base);
    QCOMPARE(pause.exitCode, 0);
    QVERIFY(pause.out.startsWith("paused locked until "));
    QTRY_VERIFY_WITH_TIMEOUT(
        !stateOf(QStringLiteral("locked")).value(QStringLiteral("paused_until")).isNull(), 10000);

    const Output badUntil = run(QStringList{QStringLiteral("disable"), QStringLiteral("locked"),
                                            QStringLiteral("--until"), QStringLiteral("soon")} +
                                base);
    QCOMPARE(badUntil.exitCode, 64);

    QCOMPARE(run(QStringList{QStringLiteral("enable"), QStringLiteral("hourly")} + base).exitCode,
             0);
    QCOMPARE(run(QStringList{QStringLiteral("enable"), QStringLiteral("locked")} + base).exitCode,
             0);
    QTRY_COMPARE_WITH_TIMEOUT(
        stateOf(QStringLiteral("hourly")).value(QStringLiteral("state")).toString(),
        QStringLiteral("idle"), 10000);

    // The audit trail has each action with the OS user.
    auto db = openDatabase(m_url);
    QVERIFY(db);
    const auto audit = db->store()->auditTrail(50);
    QVERIFY(audit.isOk());
    QStringList actions;
    for (const Warden::AuditEntry &e : audit.value()) {
        QCOMPARE(e.user, Warden::AdminActions::currentUser());
        QCOMPARE(e.origin, QStringLiteral("warden"));
        actions.append(e.action + QLatin1Char(' ') + e.target);
    }
    for (const char *expected :
         {"disable hourly", "pause locked", "enable hourly", "enable locked"})
        QVERIFY2(actions.contains(QLatin1String(expected)),
                 qPrintable(actions.join(QLatin1Char(','))));
}

void tst_HeadlessCli::triggerRunsOnce()
{
    const QStringList base{QStringLiteral("--config"), m_config};
    auto runCount = [&] {
        return run(QStringList{QStringLiteral("runs"), QStringLiteral("--worker"),
                               QStringLiteral("hourly"), QStringLiteral("--json")} +
                   base)
            .json()
            .array()
            .size();
    };
    const qsizetype before = runCount();
    const Output trigger = run(
        QStringList{QStringLiteral("trigger"), QStringLiteral("hourly"), QStringLiteral("--json")} +
        base);
    QCOMPARE(trigger.exitCode, 0);
    QVERIFY(trigger.json().object().value(QStringLiteral("trigger_sequence")).toInteger() > 0);
    QTRY_COMPARE_WITH_TIMEOUT(runCount(), before + 1, 10000);
    const QJsonObject newest = run(QStringList{QStringLiteral("runs"), QStringLiteral("--worker"),
                                               QStringLiteral("hourly"), QStringLiteral("--json")} +
                                   base)
                                   .json()
                                   .array()
                                   .at(0)
                                   .toObject();
    QVERIFY(newest.value(QStringLiteral("manual")).toBool());
    QCOMPARE(newest.value(QStringLiteral("trigger")).toString(), QStringLiteral("run-now"));

    const Output unknown =
        run(QStringList{QStringLiteral("trigger"), QStringLiteral("nope")} + base);
    QCOMPARE(unknown.exitCode, 1);
    QVERIFY(unknown.err.contains("no node runs a worker named \"nope\""));
}

void tst_HeadlessCli::releaseAsksAndNamesTheHolder()
{
    const QStringList base{QStringLiteral("--config"), m_config};
    const Output refused =
        run(QStringList{QStringLiteral("release"), QStringLiteral("leader-lock")} + base, "n\n");
    QCOMPARE(refused.exitCode, 1);
    QVERIFY2(refused.err.contains("Release lock \"leader-lock\" held by cli-node"),
             refused.err.constData());
    QVERIFY(refused.err.contains("not released"));

    const Output unknown =
        run(QStringList{QStringLiteral("release"), QStringLiteral("no-such-lock"),
                        QStringLiteral("--yes")} +
            base);
    QCOMPARE(unknown.exitCode, 1);
    QVERIFY(unknown.err.contains("no lock named \"no-such-lock\""));

    const Output released =
        run(QStringList{QStringLiteral("release"), QStringLiteral("leader-lock"),
                        QStringLiteral("--yes"), QStringLiteral("--json")} +
            base);
    QCOMPARE(released.exitCode, 0);
    const QJsonObject o = released.json().object();
    QCOMPARE(o.value(QStringLiteral("previous_holder")).toString(), QStringLiteral("cli-node"));
    QVERIFY(o.value(QStringLiteral("released")).toBool());
    // The leader loses its lease, cancels its run, and takes the lease again: a takeover, so
    // the fencing token grows.
    const qint64 before = o.value(QStringLiteral("fencing_token")).toInteger();
    auto leaderToken = [&] {
        for (const QJsonValue &l :
             run(QStringList{QStringLiteral("locks"), QStringLiteral("--json")} + base)
                 .json()
                 .array()) {
            const QJsonObject lock = l.toObject();
            if (lock.value(QStringLiteral("name")).toString() == QLatin1String("leader-lock") &&
                lock.value(QStringLiteral("held")).toBool())
                return lock.value(QStringLiteral("fencing_token")).toInteger();
        }
        return qint64(0);
    };
    QTRY_VERIFY_WITH_TIMEOUT(leaderToken() > before, 20000);
    // The node's stderr may reach us a moment after the new token is in the database.
    QTRY_VERIFY2_WITH_TIMEOUT(m_node->log().contains("[leader] stop requested"),
                              m_node->log().constData(), 10000);
}

void tst_HeadlessCli::serviceInstallVerifyUninstall_data()
{
    QTest::addColumn<bool>("user");
    QTest::newRow("system") << false;
    QTest::newRow("user") << true;
}

void tst_HeadlessCli::serviceInstallVerifyUninstall()
{
    QFETCH(bool, user);
    QTemporaryDir root;
    QVERIFY(root.isValid());
    QStringList arguments{QStringLiteral("service"),  QStringLiteral("install"),
                          QStringLiteral("--config"), m_config,
                          QStringLiteral("--root"),   root.path()};
    if (user)
        arguments << QStringLiteral("--user");
    const Output install = run(arguments);
    QVERIFY2(install.exitCode == 0, install.err.constData());
    QString unit;
    if (user) {
        QString configHome = qEnvironmentVariable("XDG_CONFIG_HOME");
        if (configHome.isEmpty())
            configHome = QDir::homePath() + QStringLiteral("/.config");
        unit = root.path() + configHome + QStringLiteral("/systemd/user/warden.service");
    } else {
        unit = root.filePath(QStringLiteral("etc/systemd/system/warden.service"));
    }
    const QByteArray text = readFile(unit);
    QVERIFY2(!text.isEmpty(), qPrintable(unit));
    for (const char *line :
         {"Type=notify", "NoNewPrivileges=yes", "ProtectSystem=strict", "StateDirectory=warden",
          "ExecReload=/bin/kill -HUP $MAINPID", "WatchdogSec=", "run --config"})
        QVERIFY2(text.contains(line), line);
    QCOMPARE(text.contains("User=warden"), !user);
    if (!user)
        QVERIFY(
            readFile(root.filePath(QStringLiteral("etc/sysusers.d/warden.conf"))).startsWith("#"));

    // A second install is refused; status knows it is installed.
    arguments[1] = QStringLiteral("install");
    QCOMPARE(run(arguments).exitCode, 1);
    arguments[1] = QStringLiteral("status");
    const Output status = run(arguments + QStringList{QStringLiteral("--json")});
    QCOMPARE(status.exitCode, 0);
    QVERIFY(status.json().object().value(QStringLiteral("installed")).toBool());

    const QString analyze = QStandardPaths::findExecutable(QStringLiteral("systemd-analyze"));
    if (!analyze.isEmpty()) {
        QProcess verify;
        verify.start(analyze, {QStringLiteral("verify"), QStringLiteral("--man=no"), unit});
        QVERIFY(verify.waitForFinished(60000));
        const QByteArray out = verify.readAllStandardOutput() + verify.readAllStandardError();
        QVERIFY2(verify.exitCode() == 0, out.constData());
        // Warnings about the unit itself count as failures too.
        QVERIFY2(!out.contains(QFileInfo(unit).fileName().toUtf8() + ":"), out.constData());
    }

    arguments[1] = QStringLiteral("uninstall");
    const Output uninstall = run(arguments);
    QVERIFY2(uninstall.exitCode == 0, uninstall.err.constData());
    // Exactly what install added is gone: the root is empty again.
    QCOMPARE(QDir(root.path()).entryList(QDir::AllEntries | QDir::NoDotAndDotDot | QDir::Hidden),
             QStringList());
    QCOMPARE(run(arguments).exitCode, 1); // not installed any more
    if (analyze.isEmpty())
        QSKIP("systemd-analyze is missing: the unit was installed and removed, not verified");
}

void tst_HeadlessCli::runWithBadDatabaseOptionIsUsage()
{
    // A good config with a bad --database: the option is wrong (64), not the config (78).
    const QString path = m_dir.filePath(QStringLiteral("good-for-override.toml"));
    writeFile(path, "[workers.p]\ntype = \"command\"\nevery = \"1m\"\ncommand = [\"true\"]\n");
    const Output bogus = run({QStringLiteral("run"), QStringLiteral("--config"), path,
                              QStringLiteral("--database"), QStringLiteral("bogus://x")});
    QCOMPARE(bogus.exitCode, 64);
    QVERIFY2(bogus.err.contains("--database"), bogus.err.constData());
}

void tst_HeadlessCli::logFollowEnds()
{
    // SIGTERM and SIGINT end `log --follow` with exit code 0.
    for (const int signal : {SIGTERM, SIGINT}) {
        QProcess follower;
        follower.start(binary(), {QStringLiteral("log"), QStringLiteral("--follow"),
                                  QStringLiteral("--limit"), QStringLiteral("1"),
                                  QStringLiteral("--config"), m_config});
        QVERIFY(follower.waitForStarted(10000));
        // Once the existing line is out, it is following.
        QVERIFY(follower.waitForReadyRead(10000));
        ::kill(pid_t(follower.processId()), signal);
        QVERIFY(follower.waitForFinished(10000));
        QCOMPARE(follower.exitStatus(), QProcess::NormalExit);
        QCOMPARE(follower.exitCode(), 0);
    }
    // Its reader goes away after the first line: it ends too, although no new line comes.
    QProcess pipeline;
    pipeline.start(QStringLiteral("/bin/sh"),
                   {QStringLiteral("-c"),
                    QStringLiteral("{ \"$0\" log --follow --limit 1 --config \"$1\"; "
                                   "echo \"warden exited $?\" >&2; } | head -n 1"),
                    binary(), m_config});
    QVERIFY(pipeline.waitForFinished(15000));
    QCOMPARE(pipeline.exitCode(), 0);
    QCOMPARE(pipeline.readAllStandardError().trimmed(), QByteArray("warden exited 0"));
}

QTEST_GUILESS_MAIN(tst_HeadlessCli)
#include "tst_headless_cli.moc"
