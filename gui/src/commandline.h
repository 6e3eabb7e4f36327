#pragma once

#include <QtCore/QCommandLineParser>
#include <QtCore/QCoreApplication>
#include <QtCore/QStringList>

namespace Warden::Console {

class MainWindow;

//! What the console was asked to do on its command line.
struct StartupOptions
{
    QString database;   //!< --database URL
    QString hostConfig; //!< --host CONFIG
    int pollIntervalMs = 1000;
    QString screenshotDirectory;
    int screenshotDelayMs = 3000;
};

/*!
    The console's command line: what main() parses, and what the tests start a window with,
    so that both go through the same code.
*/
class CommandLine final
{
    Q_DECLARE_TR_FUNCTIONS(Warden::Console::CommandLine)
public:
    CommandLine();

    //! Parses \a arguments (the program name first); false with errorText() on a usage error.
    bool parse(const QStringList &arguments);
    QString errorText() const { return m_error; }
    bool isHelpRequested() const;
    bool isVersionRequested() const;
    QString helpText() const;
    const StartupOptions &options() const { return m_options; }

private:
    QCommandLineParser m_parser;
    StartupOptions m_options;
    QString m_error;
};

/*!
    Starts \a window as \a options say: hosts the config's workers (\c{--host}), opens the
    store, or asks for one. A config that cannot be loaded starts nothing: false, with the
    config's errors (one per line, "FILE:LINE:COLUMN: error: ...") in \a error.
*/
bool startConsole(MainWindow &window, const StartupOptions &options, QString *error);

} // namespace Warden::Console
