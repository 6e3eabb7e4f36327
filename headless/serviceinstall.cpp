// `warden service install|uninstall|status`: a hardened systemd unit on Linux (system or
// --user), a service of the SCM on Windows. Install keeps a manifest of what it wrote, and
// uninstall removes exactly that. --root DIR puts every path under DIR and skips systemctl
// (for packaging and tests: nothing outside DIR is touched).
#include "cli.h"
#include "windowsservice.h"

#include <warden/sql/service.h>
#include <warden/sql/sqlworkertype.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QDateTime>
#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QJsonArray>
#include <QtCore/QJsonDocument>
#include <QtCore/QJsonObject>
#include <QtCore/QProcess>
#include <QtCore/QSaveFile>
#include <QtCore/QStandardPaths>

namespace Warden::Headless {

namespace {

struct Layout
{
    bool user = false;
    QString root; // empty: the real system
    QString name;
    QString unitDirectory;
    QString unitFile;
    QString sysusersFile; // system only
    QString manifest;
};

QString under(const QString &root, const QString &path)
{
    return root.isEmpty() ? path : QDir::cleanPath(root + QLatin1Char('/') + path);
}

Layout layoutFor(const CommandLine &cl)
{
    Layout l;
    l.user = cl.has(QStringLiteral("user"));
    l.root = cl.value(QStringLiteral("root"));
    if (!l.root.isEmpty())
        l.root = QFileInfo(l.root).absoluteFilePath();
    l.name = cl.value(QStringLiteral("name"), QStringLiteral("warden"));
    if (l.user) {
        QString configHome = qEnvironmentVariable("XDG_CONFIG_HOME");
        if (configHome.isEmpty())
            configHome = QDir::homePath() + QStringLiteral("/.config");
        l.unitDirectory = under(l.root, configHome + QStringLiteral("/systemd/user"));
        l.manifest =
            under(l.root, configHome + QStringLiteral("/warden/%1.install.json").arg(l.name));
    } else {
        l.unitDirectory = under(l.root, QStringLiteral("/etc/systemd/system"));
        l.sysusersFile = under(l.root, QStringLiteral("/etc/sysusers.d/%1.conf").arg(l.name));
        l.manifest = under(l.root, QStringLiteral("/etc/warden/%1.install.json").arg(l.name));
    }
    l.unitFile = l.unitDirectory + QStringLiteral("/%1.service").arg(l.name);
    return l;
}

bool systemdRuns(const Layout &l)
{
    return l.root.isEmpty() && QFileInfo::exists(QStringLiteral("/run/systemd/system")) &&
           !QStandardPaths::findExecutable(QStringLiteral("systemctl")).isEmpty();
}

QString systemctl(const Layout &l, const QStringList &arguments, int *exitCode = nullptr)
{
    QProcess process;
    QStringList all;
    if (l.user)
        all << QStringLiteral("--user");
    all << arguments;
    process.start(QStringLiteral("systemctl"), all);
    process.waitForFinished(30000);
    if (exitCode)
        *exitCode = process.exitStatus() == QProcess::NormalExit ? process.exitCode() : -1;
    return QString::fromLocal8Bit(process.readAllStandardOutput()).trimmed();
}

//! Directories a worker of \a config writes to, which ProtectSystem=strict must leave writable.
QStringList writablePaths(const Config &config)
{
    QStringList paths;
    auto sqliteDirectory = [](const QString &url) -> QString {
        if (!url.startsWith(QLatin1String("sqlite:")))
            return QString();
        QString path = url.mid(7);
        if (path.startsWith(QLatin1String("//")))
            path = path.mid(2);
        path = path.section(QLatin1Char('?'), 0, 0);
        return QFileInfo(path).absolutePath();
    };
    paths << sqliteDirectory(Service::databaseUrl(config));
    for (const QString &url : config.connections)
        paths << sqliteDirectory(url);
    for (const WorkerConfig &w : config.workers) {
        if (w.type == QLatin1String("command"))
            paths << config.resolvePath(
                w.settings.value(QStringLiteral("working_directory"), config.baseDirectory)
                    .toString());
    }
    paths.removeAll(QString());
    paths.removeDuplicates();
    paths.sort();
    return paths;
}

QString unitText(const Layout &l, const QString &binary, const Config &config)
{
    const qint64 stopSeconds = config.host.shutdownTimeout.count() / 1000 + 15;
    QString text;
    text += QStringLiteral("# Written by `warden service install`; `warden service uninstall` "
                           "removes it.\n");
    text += QStringLiteral("[Unit]\n"
                           "Description=Warden background workers (%1)\n"
                           "Documentation=man:warden(1)\n")
                .arg(config.filePath);
    if (!l.user)
        text += QStringLiteral("Wants=network-online.target\nAfter=network-online.target\n");
    text += QStringLiteral("\n[Service]\n"
                           "Type=notify\n"
                           "NotifyAccess=main\n"
                           "ExecStart=\"%1\" run --config \"%2\"\n"
                           "ExecReload=/bin/kill -HUP $MAINPID\n"
                           "Restart=on-failure\n"
                           "RestartSec=5s\n"
                           "WatchdogSec=60s\n"
                           "TimeoutStopSec=%3s\n"
                           "KillMode=mixed\n"
                           "StateDirectory=warden\n"
                           "WorkingDirectory=%4\n")
                .arg(binary, config.filePath)
                .arg(stopSeconds)
                .arg(l.user ? QStringLiteral("%S/warden") : QStringLiteral("/var/lib/warden"));
    if (!l.user)
        text += QStringLiteral("User=warden\nGroup=warden\n");
    text += QStringLiteral("UMask=0027\n"
                           "NoNewPrivileges=yes\n"
                           "ProtectSystem=strict\n"
                           "ProtectHome=read-only\n"
                           "PrivateTmp=yes\n");
    if (!l.user)
        text += QStringLiteral("PrivateDevices=yes\n"
                               "ProtectKernelTunables=yes\n"
                               "ProtectKernelModules=yes\n"
                               "ProtectKernelLogs=yes\n"
                               "ProtectControlGroups=yes\n"
                               "ProtectClock=yes\n"
                               "ProtectHostname=yes\n"
                               "RestrictNamespaces=yes\n"
                               "RestrictRealtime=yes\n"
                               "RestrictSUIDSGID=yes\n"
                               "LockPersonality=yes\n"
                               "MemoryDenyWriteExecute=yes\n"
                               "RestrictAddressFamilies=AF_UNIX AF_INET AF_INET6\n"
                               "CapabilityBoundingSet=\n"
                               "SystemCallArchitectures=native\n");
    const QStringList writable = writablePaths(config);
    if (!writable.isEmpty()) {
        text += QStringLiteral("# Where the config's database and workers write:\n");
        for (const QString &path : writable)
            text += QStringLiteral("ReadWritePaths=-%1\n").arg(path);
    }
    text +=
        QStringLiteral("\n[Install]\nWantedBy=%1\n")
            .arg(l.user ? QStringLiteral("default.target") : QStringLiteral("multi-user.target"));
    return text;
}

bool writeFile(const QString &path, const QByteArray &content, QString *error)
{
    QSaveFile file(path);
    if (!file.open(QIODevice::WriteOnly) || file.write(content) != content.size() ||
        !file.commit()) {
        *error = QStringLiteral("cannot write %1: %2").arg(path, file.errorString());
        return false;
    }
    return true;
}

//! Creates \a directory and its missing parents; appends the ones it created to \a created.
bool makeDirectory(const QString &directory, QStringList *created, QString *error)
{
    QStringList missing;
    QString d = QDir::cleanPath(directory);
    while (!QFileInfo::exists(d)) {
        missing.prepend(d);
        d = QFileInfo(d).absolutePath();
    }
    for (const QString &m : std::as_const(missing)) {
        if (!QDir().mkdir(m)) {
            *error = QStringLiteral("cannot create %1").arg(m);
            return false;
        }
        created->append(m);
    }
    return true;
}

int install(const CommandLine &cl, const Layout &l)
{
    const QString path = QFileInfo(configPath(cl)).absoluteFilePath();
    QList<ConfigError> errors;
    const auto config = Service::loadConfig(path, &errors);
    if (!config) {
        for (const ConfigError &e : std::as_const(errors))
            printError(e.toString());
        return fail(ExitConfig, QStringLiteral("not installed: fix %1 first").arg(path));
    }
    if (QFileInfo::exists(l.manifest) && !cl.has(QStringLiteral("force")))
        return fail(ExitFailure, QStringLiteral("%1 is installed already (manifest %2); run "
                                                "warden service uninstall first, or --force")
                                     .arg(l.name, l.manifest));
    if (QFileInfo::exists(l.unitFile) && !cl.has(QStringLiteral("force")))
        return fail(ExitFailure, QStringLiteral("%1 exists and was not written by warden; not "
                                                "overwriting it (--force does)")
                                     .arg(l.unitFile));
    const QString binary = QCoreApplication::applicationFilePath();
    QStringList createdDirectories;
    QStringList files;
    QString error;
    if (!makeDirectory(l.unitDirectory, &createdDirectories, &error) ||
        !makeDirectory(QFileInfo(l.manifest).absolutePath(), &createdDirectories, &error))
        return fail(ExitFailure, error);
    if (!writeFile(l.unitFile, unitText(l, binary, *config).toUtf8(), &error))
        return fail(ExitFailure, error);
    files << l.unitFile;
    if (!l.user) {
        if (!makeDirectory(QFileInfo(l.sysusersFile).absolutePath(), &createdDirectories, &error))
            return fail(ExitFailure, error);
        if (!writeFile(l.sysusersFile,
                       "# The user of the warden service; written by `warden service install`.\n"
                       "u warden - \"Warden background workers\" /var/lib/warden\n",
                       &error))
            return fail(ExitFailure, error);
        files << l.sysusersFile;
    }
    const QJsonObject manifest{
        {QStringLiteral("name"), l.name},
        {QStringLiteral("scope"), l.user ? QStringLiteral("user") : QStringLiteral("system")},
        {QStringLiteral("installed_at"), QDateTime::currentDateTimeUtc().toString(Qt::ISODate)},
        {QStringLiteral("config"), path},
        {QStringLiteral("binary"), binary},
        {QStringLiteral("files"), QJsonArray::fromStringList(files)},
        {QStringLiteral("directories"), QJsonArray::fromStringList(createdDirectories)}};
    if (!writeFile(l.manifest, QJsonDocument(manifest).toJson(), &error))
        return fail(ExitFailure, error);

    if (systemdRuns(l)) {
        if (!l.user) {
            QProcess::execute(QStringLiteral("systemd-sysusers"), {l.sysusersFile});
        }
        systemctl(l, {QStringLiteral("daemon-reload")});
    }
    if (cl.isJson()) {
        std::fputs(QJsonDocument(manifest).toJson().constData(), stdout);
        return ExitSuccess;
    }
    print(QStringLiteral("installed %1").arg(l.unitFile));
    for (const QString &f : std::as_const(files).mid(1))
        print(QStringLiteral("installed %1").arg(f));
    print(QStringLiteral("start it with: systemctl %1enable --now %2.service")
              .arg(l.user ? QStringLiteral("--user ") : QString(), l.name));
    return ExitSuccess;
}

int uninstall(const CommandLine &cl, const Layout &l)
{
    QFile file(l.manifest);
    if (!file.open(QIODevice::ReadOnly))
        return fail(
            ExitFailure,
            QStringLiteral("%1 is not installed (no manifest at %2)").arg(l.name, l.manifest));
    const QJsonObject manifest = QJsonDocument::fromJson(file.readAll()).object();
    file.close();
    if (systemdRuns(l))
        systemctl(l, {QStringLiteral("disable"), QStringLiteral("--now"),
                      l.name + QStringLiteral(".service")});
    QStringList removed;
    for (const QJsonValue &f : manifest.value(QStringLiteral("files")).toArray()) {
        if (QFile::remove(f.toString()))
            removed << f.toString();
    }
    QFile::remove(l.manifest);
    removed << l.manifest;
    // Directories install created, deepest first, and only when empty.
    QStringList directories;
    for (const QJsonValue &d : manifest.value(QStringLiteral("directories")).toArray())
        directories.prepend(d.toString());
    for (const QString &d : std::as_const(directories)) {
        if (QDir().rmdir(d))
            removed << d;
    }
    if (systemdRuns(l))
        systemctl(l, {QStringLiteral("daemon-reload")});
    if (cl.isJson()) {
        std::fputs(QJsonDocument(QJsonObject{{QStringLiteral("name"), l.name},
                                             {QStringLiteral("removed"),
                                              QJsonArray::fromStringList(removed)}})
                       .toJson()
                       .constData(),
                   stdout);
        return ExitSuccess;
    }
    for (const QString &r : std::as_const(removed))
        print(QStringLiteral("removed %1").arg(r));
    return ExitSuccess;
}

int status(const CommandLine &cl, const Layout &l)
{
    const bool installed = QFileInfo::exists(l.manifest);
    QString active = QStringLiteral("unknown");
    QString enabled = QStringLiteral("unknown");
    if (systemdRuns(l)) {
        active = systemctl(l, {QStringLiteral("is-active"), l.name + QStringLiteral(".service")});
        enabled = systemctl(l, {QStringLiteral("is-enabled"), l.name + QStringLiteral(".service")});
    }
    if (cl.isJson()) {
        std::fputs(
            QJsonDocument(QJsonObject{{QStringLiteral("name"), l.name},
                                      {QStringLiteral("scope"),
                                       l.user ? QStringLiteral("user") : QStringLiteral("system")},
                                      {QStringLiteral("installed"), installed},
                                      {QStringLiteral("unit_file"), l.unitFile},
                                      {QStringLiteral("manifest"), l.manifest},
                                      {QStringLiteral("active"), active},
                                      {QStringLiteral("enabled"), enabled}})
                .toJson()
                .constData(),
            stdout);
        return ExitSuccess;
    }
    print(QStringLiteral("%1: %2").arg(l.name, installed ? QStringLiteral("installed")
                                                         : QStringLiteral("not installed")));
    print(QStringLiteral("unit:     %1").arg(l.unitFile));
    print(QStringLiteral("manifest: %1").arg(l.manifest));
    print(QStringLiteral("active:   %1").arg(active));
    print(QStringLiteral("enabled:  %1").arg(enabled));
    return ExitSuccess;
}

} // namespace

int serviceCommand(const CommandLine &cl)
{
    if (cl.operands.size() != 1)
        return fail(ExitUsage, QStringLiteral("service needs one of install, uninstall, status"));
    const QString action = cl.operands.first();
#ifdef Q_OS_WIN
    const QString name = cl.value(QStringLiteral("name"), QStringLiteral("warden"));
    QString error;
    if (action == QLatin1String("install")) {
        const QString config = QFileInfo(configPath(cl)).absoluteFilePath();
        const QString commandLine =
            QStringLiteral("\"%1\" run --config \"%2\"")
                .arg(QDir::toNativeSeparators(QCoreApplication::applicationFilePath()),
                     QDir::toNativeSeparators(config));
        if (!installWindowsService(name, commandLine, &error))
            return fail(ExitFailure, error);
        print(QStringLiteral("installed the service %1; start it with: sc start %1").arg(name));
        return ExitSuccess;
    }
    if (action == QLatin1String("uninstall")) {
        if (!uninstallWindowsService(name, &error))
            return fail(ExitFailure, error);
        print(QStringLiteral("removed the service %1").arg(name));
        return ExitSuccess;
    }
    if (action == QLatin1String("status")) {
        const QString state = windowsServiceState(name, &error);
        if (state.isEmpty())
            return fail(ExitFailure, error);
        print(QStringLiteral("%1: %2").arg(name, state));
        return ExitSuccess;
    }
#else
    const Layout l = layoutFor(cl);
    if (action == QLatin1String("install"))
        return install(cl, l);
    if (action == QLatin1String("uninstall"))
        return uninstall(cl, l);
    if (action == QLatin1String("status"))
        return status(cl, l);
#endif
    return fail(ExitUsage, QStringLiteral("unknown service action \"%1\"; use install, "
                                          "uninstall or status")
                               .arg(action));
}

} // namespace Warden::Headless
