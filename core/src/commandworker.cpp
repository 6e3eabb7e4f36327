// The `command` worker type: runs an external program for each run (periodic), or keeps one
// running (continuous = true; it is restarted with back-off when it exits).
//
//   command = ["rm", "-f", "old.log"]     # an argument vector, no shell
//   command = "find logs -mtime +7 -delete"  with shell = true: run by /bin/sh -c
//   working_directory = "logs"            # relative to the config file's folder
//   environment = { LANG = "C" }          # added to warden's own environment
//   inherit_environment = true
//   kill_grace = "10s"                    # between SIGTERM and SIGKILL on stop or timeout
#include "commandprocess_p.h"
#include "leasekeeper_p.h"

#include <warden/continuousworker.h>
#include <warden/logging.h>
#include <warden/periodicworker.h>
#include <warden/workertyperegistry.h>

namespace Warden {

using namespace std::chrono;

WorkerTypeRegistry::Type commandWorkerType()
{
    using VT = WorkerTypeRegistry::ValueType;
    WorkerTypeRegistry::Type type;
    type.name = QStringLiteral("command");
    type.keys = {{QStringLiteral("command"), VT::StringOrList, true},
                 {QStringLiteral("shell"), VT::Boolean, false},
                 {QStringLiteral("working_directory"), VT::String, false},
                 {QStringLiteral("environment"), VT::StringMap, false},
                 {QStringLiteral("inherit_environment"), VT::Boolean, false},
                 {QStringLiteral("kill_grace"), VT::Duration, false}};
    type.validator = [](const WorkerConfig &worker, const Config &, QString *key, QString *error,
                        QString *hint) {
        const QVariant command = worker.settings.value(QStringLiteral("command"));
        const bool shell = worker.settings.value(QStringLiteral("shell")).toBool();
        *key = QStringLiteral("command");
        if (shell && command.typeId() != QMetaType::QString) {
            *error = QStringLiteral("with shell = true, command must be one string");
            *hint = QStringLiteral("write the shell command line as a string");
            return false;
        }
        if (!shell && command.typeId() == QMetaType::QString) {
            *error = QStringLiteral("command is a string, but no shell runs it");
            *hint = QStringLiteral("write an argument vector such as [\"rm\", \"-f\", \"x\"], "
                                   "or set shell = true");
            return false;
        }
        if (command.toStringList().isEmpty() || (shell && command.toString().isEmpty())) {
            *error = QStringLiteral("command is empty");
            *hint = QStringLiteral("give the program and its arguments");
            return false;
        }
        return true;
    };
    type.factory = [](const WorkerConfig &worker, const Config &config, QString *) -> Worker * {
        CommandSpec spec;
        const QVariantMap &s = worker.settings;
        if (s.value(QStringLiteral("shell")).toBool())
            spec.arguments = {QStringLiteral("/bin/sh"), QStringLiteral("-c"),
                              s.value(QStringLiteral("command")).toString()};
        else
            spec.arguments = s.value(QStringLiteral("command")).toStringList();
        spec.workingDirectory =
            config.resolvePath(s.value(QStringLiteral("working_directory")).toString());
        if (spec.workingDirectory.isEmpty())
            spec.workingDirectory = config.baseDirectory;
        const QVariantMap environment = s.value(QStringLiteral("environment")).toMap();
        for (auto it = environment.cbegin(); it != environment.cend(); ++it)
            spec.environment.insert(it.key(), it.value().toString());
        spec.inheritEnvironment = s.value(QStringLiteral("inherit_environment"), true).toBool();
        if (s.contains(QStringLiteral("kill_grace")))
            spec.killGrace = milliseconds(s.value(QStringLiteral("kill_grace")).toLongLong());
        if (worker.lockMode != LockMode::None && s.contains(QStringLiteral("kill_grace"))) {
            // After a lost lease SIGKILL must land before the lease can end: the grace is
            // what the safety margin leaves (see commandprocess_unix.cpp).
            const milliseconds bound = LeaseKeeper::safetyMargin(config.locks.timeToLive) * 3 / 4;
            if (spec.killGrace > bound)
                qCWarning(lcHost,
                          "worker %s: kill_grace %s is longer than lock ttl %s leaves after a lost "
                          "lease; such a stop sends SIGKILL %s after SIGTERM (a stop that keeps "
                          "the lease waits the whole kill_grace)",
                          qPrintable(worker.name),
                          qPrintable(IntervalSchedule::formatDuration(spec.killGrace)),
                          qPrintable(IntervalSchedule::formatDuration(config.locks.timeToLive)),
                          qPrintable(IntervalSchedule::formatDuration(bound)));
        }
        if (worker.kind == Worker::Kind::Continuous)
            return ContinuousWorker::create(
                worker.name, [spec](RunContext &context) { runCommand(spec, context); });
        return PeriodicWorker::create(worker.name,
                                      [spec](RunContext &context) { runCommand(spec, context); });
    };
    return type;
}

QProcessEnvironment commandEnvironment(const CommandSpec &spec, const RunContext &context)
{
    QProcessEnvironment environment =
        spec.inheritEnvironment ? QProcessEnvironment::systemEnvironment() : QProcessEnvironment();
    for (auto it = spec.environment.cbegin(); it != spec.environment.cend(); ++it)
        environment.insert(it.key(), it.value());
    environment.insert(QStringLiteral("WARDEN_WORKER"), context.workerName());
    environment.insert(QStringLiteral("WARDEN_NODE"), context.nodeId());
    environment.insert(QStringLiteral("WARDEN_RUN_ID"), context.runId());
    environment.insert(QStringLiteral("WARDEN_SCHEDULED_AT"),
                       context.scheduledAt().toUTC().toString(Qt::ISODateWithMs));
    if (context.holdsLease()) {
        environment.insert(QStringLiteral("WARDEN_FENCING_TOKEN"),
                           QString::number(context.fencingToken()));
        environment.insert(QStringLiteral("WARDEN_LOCK"), context.lockName());
    } else {
        environment.remove(QStringLiteral("WARDEN_FENCING_TOKEN"));
        environment.remove(QStringLiteral("WARDEN_LOCK"));
    }
    return environment;
}

} // namespace Warden
