#pragma once

#include <warden/runcontext.h>

#include <QtCore/QMap>
#include <QtCore/QProcessEnvironment>
#include <QtCore/QString>
#include <QtCore/QStringList>

#include <chrono>

namespace Warden {

/*!
    \internal
    What a \c command worker runs: an argument vector (the shell already applied), a working
    directory, and the environment changes.
*/
struct CommandSpec
{
    QStringList arguments;
    QString workingDirectory;
    QMap<QString, QString> environment;
    bool inheritEnvironment = true;
    //! How long a command gets between SIGTERM and SIGKILL (Windows: none).
    std::chrono::milliseconds killGrace = std::chrono::seconds(10);
};

/*!
    \internal
    Runs \a spec to its end in the calling thread, which it blocks: output lines become log
    lines of \a context (stdout: info, stderr: warning), a non-zero exit fails the run, and
    the run's stop token terminates the command (SIGTERM, then SIGKILL after the grace
    period). The command never outlives this process (see the platform files).
*/
void runCommand(const CommandSpec &spec, RunContext &context);

/*!
    The environment a command of \a spec runs with in the run of \a context: the inherited one
    (unless the spec says otherwise), the spec's variables, and the run's WARDEN_* variables.
    WARDEN_FENCING_TOKEN and WARDEN_LOCK are there exactly when the run holds a lease; values
    inherited from warden's own environment never stand in for them.
*/
QProcessEnvironment commandEnvironment(const CommandSpec &spec, const RunContext &context);

} // namespace Warden
