#pragma once

#include <QtCore/QHash>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <cstdio>

namespace Warden::Headless {

//! Exit codes, from BSD's sysexits.h: documented in `warden --help` and warden(1).
enum ExitCode {
    ExitSuccess = 0,
    ExitFailure = 1,
    ExitUsage = 64,       //!< EX_USAGE: bad command line
    ExitNotFound = 66,    //!< EX_NOINPUT: no run, node (...) by that name
    ExitUnavailable = 69, //!< EX_UNAVAILABLE: the database cannot be reached
    ExitConfig = 78,      //!< EX_CONFIG: the config is wrong
};

//! The parsed command line: the command, its operands, and every option given.
struct CommandLine
{
    QString command;
    QStringList operands;
    QHash<QString, QString> options; //!< name without dashes -> value ("" for flags)

    bool has(const QString &name) const { return options.contains(name); }
    QString value(const QString &name, const QString &fallback = QString()) const
    {
        return options.value(name, fallback);
    }
    bool isJson() const { return has(QStringLiteral("json")); }
};

//! Thrown-free error reporting: "warden: MESSAGE" on stderr, then the code.
int fail(int code, const QString &message);
void print(const QString &text);
void printError(const QString &text);

int runCommand(const CommandLine &commandLine);     // run.cpp
int serviceCommand(const CommandLine &commandLine); // systemdunit.cpp / windows
int adminCommand(const CommandLine &commandLine);   // commands.cpp
QString helpText();                                 // main.cpp
QString configPath(const CommandLine &commandLine); // commands.cpp
//! What to do when the database cannot be opened; \a configFile empty: it came from --database.
QString databaseHint(const QString &configFile); // main.cpp

} // namespace Warden::Headless
