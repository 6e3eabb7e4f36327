#include "commandline.h"

#include "consoleclient.h"
#include "mainwindow.h"

#include <warden/config.h>
#include <warden/sql/databaseurl.h>
#include <warden/sql/service.h>
#include <warden/sql/sqlworkertype.h>

#include <QtCore/QTimer>

namespace Warden::Console {

namespace {

const QString databaseName = QStringLiteral("database");
const QString hostName = QStringLiteral("host");
const QString pollName = QStringLiteral("poll-interval");
const QString screenshotName = QStringLiteral("screenshot-dir");
const QString settleName = QStringLiteral("screenshot-delay");

} // namespace

CommandLine::CommandLine()
{
    m_parser.setApplicationDescription(
        tr("Shows and controls the workers of a Warden cluster; with --host, also runs the "
           "workers of a config inside the console."));
    m_parser.addOption(QCommandLineOption(
        {QStringLiteral("h"), QStringLiteral("help"), QStringLiteral("?")}, tr("Show this help.")));
    m_parser.addOption(QCommandLineOption({QStringLiteral("v"), QStringLiteral("version")},
                                          tr("Show the version.")));
    m_parser.addOption(QCommandLineOption(
        {QStringLiteral("d"), databaseName},
        tr("Open the store at <url> (sqlite:///path or postgresql://user@host/db). With "
           "--host, the hosted workers use it too, instead of the config's database."),
        QStringLiteral("url")));
    m_parser.addOption(QCommandLineOption(
        hostName,
        tr("Run the workers of the TOML config <file> inside the console (the desktop mode) and "
           "show the store it names. Closing the window stops them gracefully."),
        QStringLiteral("file")));
    m_parser.addOption(QCommandLineOption(pollName,
                                          tr("Refresh every <ms> milliseconds (default 1000)."),
                                          QStringLiteral("ms"), QStringLiteral("1000")));
    m_parser.addOption(QCommandLineOption(screenshotName,
                                          tr("Save a PNG of each view into <dir>, then quit."),
                                          QStringLiteral("dir")));
    m_parser.addOption(QCommandLineOption(
        settleName, tr("Wait <ms> after the first refresh before the screenshots (default 3000)."),
        QStringLiteral("ms"), QStringLiteral("3000")));
}

bool CommandLine::parse(const QStringList &arguments)
{
    m_error.clear();
    if (!m_parser.parse(arguments)) {
        m_error = m_parser.errorText();
        return false;
    }
    if (!m_parser.positionalArguments().isEmpty()) {
        m_error = tr("Unexpected argument: %1").arg(m_parser.positionalArguments().constFirst());
        return false;
    }
    auto number = [this](const QString &name, int minimum, int *value) {
        bool ok = false;
        const int parsed = m_parser.value(name).toInt(&ok);
        if (!ok || parsed < minimum) {
            m_error = tr("--%1 takes a number of milliseconds of at least %2, not \"%3\"")
                          .arg(name)
                          .arg(minimum)
                          .arg(m_parser.value(name));
            return false;
        }
        *value = parsed;
        return true;
    };
    StartupOptions options;
    options.database = m_parser.value(databaseName);
    options.hostConfig = m_parser.value(hostName);
    options.screenshotDirectory = m_parser.value(screenshotName);
    if (!number(pollName, 50, &options.pollIntervalMs) ||
        !number(settleName, 0, &options.screenshotDelayMs))
        return false;
    // A URL that cannot work is a usage error now, not an outage retried forever.
    if (!options.database.isEmpty()) {
        const auto url = DatabaseUrl::parse(options.database);
        if (!url.isOk()) {
            m_error = tr("--database: %1").arg(url.errorString());
            return false;
        }
    }
    m_options = options;
    return true;
}

bool CommandLine::isHelpRequested() const
{
    return m_parser.isSet(QStringLiteral("help"));
}

bool CommandLine::isVersionRequested() const
{
    return m_parser.isSet(QStringLiteral("version"));
}

QString CommandLine::helpText() const
{
    QString text = m_parser.helpText();
    // Without an application object the parser cannot know the program's name.
    text.replace(QLatin1String("<executable_name>"), QLatin1String("warden-console"));
    return text;
}

bool startConsole(MainWindow &window, const StartupOptions &options, QString *error)
{
    std::optional<Config> config;
    if (!options.hostConfig.isEmpty()) {
        // Read (and check) before anything starts: a broken config opens no window.
        QList<ConfigError> errors;
        config = Service::loadConfig(options.hostConfig, &errors);
        if (!config) {
            QStringList lines;
            for (const ConfigError &e : std::as_const(errors))
                lines.append(e.toString());
            if (error)
                *error = lines.join(QLatin1Char('\n'));
            return false;
        }
    }
    window.client()->setPollInterval(options.pollIntervalMs);
    if (!options.screenshotDirectory.isEmpty())
        window.takeScreenshots(options.screenshotDirectory, options.screenshotDelayMs);
    if (config)
        window.startHost(*config, options.database);
    else if (!options.database.isEmpty())
        window.openStore(options.database);
    else
        QTimer::singleShot(0, &window, &MainWindow::showConnectDialog);
    return true;
}

} // namespace Warden::Console
