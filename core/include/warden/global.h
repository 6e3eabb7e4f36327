#pragma once

#include <QtCore/QStringList>
#include <QtCore/qglobal.h>
#include <QtCore/qobjectdefs.h>

#if defined(WARDEN_CORE_STATIC)
#define WARDEN_CORE_EXPORT
#elif defined(WARDEN_CORE_BUILDING)
#define WARDEN_CORE_EXPORT Q_DECL_EXPORT
#else
#define WARDEN_CORE_EXPORT Q_DECL_IMPORT
#endif

/*!
    The Warden namespace holds the enums shared by every part of Warden, registered with
    the meta-object system so that they print by name (QDebug, QMetaEnum, the store).
*/
namespace Warden {
Q_NAMESPACE_EXPORT(WARDEN_CORE_EXPORT)

//! What a user sees of a worker.
enum class WorkerState {
    Stopped,  //!< not started, or stopped
    Idle,     //!< started, waiting for its next tick
    Waiting,  //!< standby: another node holds the worker's leader lease
    Running,  //!< a run is in progress
    Stopping, //!< stop requested; the current run has been asked to finish
    Disabled, //!< started, but disabled (per worker, paused, or the host's global switch)
    Failed,   //!< cannot run (for example: its schedule can never fire again)
};
Q_ENUM_NS(WorkerState)

//! How one run ended.
enum class RunOutcome {
    Succeeded, //!< doWork() returned without reporting an error
    Failed,    //!< doWork() threw, or reported an error with RunContext::fail()
    TimedOut,  //!< the per-run timeout fired and the run then finished
    Cancelled, //!< the run was cut short by a stop request (shutdown, disable, lease lost)
    Skipped,   //!< the tick did not run by the misfire policy (or the lease ended before it)
    Abandoned, //!< the run did not finish within the host's shutdown timeout
    Missed,    //!< the tick could not run: the database or the lock could not be reached
    Lost,      //!< the run's node died while it ran; closed by another node (or by it on restart)
    Running,   //!< not ended yet: the run ledger's row from the run's start to its end
};
Q_ENUM_NS(RunOutcome)

/*!
    Whether \a outcome counts as a failure: failed, timed out, abandoned or lost. The one
    definition that the host's failure count, the console's "last run failed" filter and
    colours, and the CLI use.
*/
WARDEN_CORE_EXPORT bool isFailure(RunOutcome outcome);
//! Every outcome that isFailure() counts, as keywords (for filters).
WARDEN_CORE_EXPORT QStringList failureKeywords();

//! What started a run.
enum class RunTrigger {
    Schedule, //!< a tick of the worker's schedule
    RunNow,   //!< "run now" (console, admin command or Host::runNow())
    CatchUp,  //!< a tick missed while no node ran the worker, run late by the misfire or catch-up
              //!< policy
    Retry,    //!< a retry of a failed run (Warden does not retry runs by itself yet)
};
Q_ENUM_NS(RunTrigger)

//! How a worker uses its lock.
enum class LockMode {
    None,   //!< no lock: every node that has the worker runs it
    PerRun, //!< every run acquires the lock; a node that cannot acquire it skips the tick
    Leader, //!< one node holds the lock and runs the worker; the others stand by (Waiting)
};
Q_ENUM_NS(LockMode)

//! What a periodic worker does with a tick it missed (previous run still going, process suspended).
enum class MisfirePolicy {
    RunOnce, //!< run once, at once, then go on with the schedule
    Skip,    //!< skip to the next time of the schedule
};
Q_ENUM_NS(MisfirePolicy)

//! Why a stop token fired.
enum class StopReason {
    None,
    Shutdown,  //!< the worker or the host is stopping
    Timeout,   //!< the per-run timeout elapsed
    LeaseLost, //!< the worker's lease could not be renewed in time (self-fencing)
    Disabled,  //!< the worker was disabled while running a continuous loop
};
Q_ENUM_NS(StopReason)

WARDEN_CORE_EXPORT QString toKeyword(WorkerState state);
WARDEN_CORE_EXPORT QString toKeyword(RunOutcome outcome);
WARDEN_CORE_EXPORT QString toKeyword(RunTrigger trigger);
WARDEN_CORE_EXPORT QString toKeyword(LockMode mode);
WARDEN_CORE_EXPORT QString toKeyword(MisfirePolicy policy);
WARDEN_CORE_EXPORT QString toKeyword(StopReason reason);

//! Parses the lower-case keywords that toKeyword() returns; returns false on an unknown name.
WARDEN_CORE_EXPORT bool fromKeyword(const QString &text, WorkerState *state);
WARDEN_CORE_EXPORT bool fromKeyword(const QString &text, RunOutcome *outcome);
WARDEN_CORE_EXPORT bool fromKeyword(const QString &text, RunTrigger *trigger);
WARDEN_CORE_EXPORT bool fromKeyword(const QString &text, LockMode *mode);
WARDEN_CORE_EXPORT bool fromKeyword(const QString &text, MisfirePolicy *policy);

/*!
    The order of log levels, which QtMsgType's own values do not give (QtInfoMsg comes last
    there): debug 0, info 1, warning 2, critical 3, fatal 4. Stores keep log levels as these.
*/
WARDEN_CORE_EXPORT int severity(QtMsgType type);
//! The inverse of severity(); values out of range give QtInfoMsg.
WARDEN_CORE_EXPORT QtMsgType messageTypeFromSeverity(int severity);

//! The version of the Warden library, as "major.minor.patch".
WARDEN_CORE_EXPORT QString version();

} // namespace Warden
