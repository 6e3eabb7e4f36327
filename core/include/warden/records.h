#pragma once

#include <warden/global.h>

#include <QtCore/QDateTime>
#include <QtCore/QList>
#include <QtCore/QMetaType>
#include <QtCore/QString>

namespace Warden {

/*!
    \file records.h
    The plain values that a host writes to a Store and that the console and the admin
    commands read back. All times are UTC.
*/

//! One run of a worker, as recorded when it ended.
struct WARDEN_CORE_EXPORT RunRecord
{
    QString runId;         //!< unique id of the run (a UUID without braces)
    QString worker;        //!< worker name
    QString node;          //!< node id of the host that ran (or skipped) it
    QDateTime scheduledAt; //!< when the schedule wanted it to start
    QDateTime startedAt;   //!< when doWork()/execute() was entered (or the tick was skipped)
    QDateTime finishedAt;  //!< when it returned (for Abandoned: when it was given up)
    RunOutcome outcome = RunOutcome::Succeeded;
    QString error;           //!< error text for Failed, TimedOut, Cancelled, Skipped, Abandoned
    qint64 fencingToken = 0; //!< the lease's fencing token, 0 when the run held no lease
    RunTrigger trigger = RunTrigger::Schedule; //!< what started it

    //! Started by "run now", not by the schedule: its lateness means nothing.
    bool isManual() const { return trigger == RunTrigger::RunNow; }

    qint64 durationMs() const;
    qint64 latenessMs() const; //!< startedAt - scheduledAt
};

//! One log line of a worker or of the host (worker empty).
struct WARDEN_CORE_EXPORT LogLine
{
    QDateTime time;
    QString node;
    QString worker;
    QString runId;
    QtMsgType level = QtInfoMsg;
    QString category;
    QString message;
};

//! A node's heartbeat: who runs where, since when, and how its clock compares.
struct WARDEN_CORE_EXPORT NodeInfo
{
    QString id;
    QString hostName;
    qint64 pid = 0;
    QString version;
    QDateTime startedAt;
    QDateTime heartbeatAt;    //!< set by the store on the database clock when it can
    qint64 clockOffsetMs = 0; //!< node clock minus database clock, as last measured
    int heartbeatIntervalMs = 0;
    /*!
        How old the heartbeat was when the store read it, on the store's own clock (the
        database's), so that neither the node's nor the reader's clock offset enters; -1 when
        unknown.
    */
    qint64 heartbeatAgeMs = -1;
    /*!
        The node's own dead-node threshold (Host::setDeadNodeThreshold(), \c host.dead_after):
        how long it may stay silent before the others count it dead. 0: the default,
        SilentIntervalsWhileAlive heartbeat intervals.
    */
    qint64 deadAfterMs = 0;

    //! How many heartbeat intervals (at least a second each) a live node may stay silent.
    static constexpr int SilentIntervalsWhileAlive = 3;
    //! How old its heartbeat may grow before the node counts as dead.
    qint64 deadThresholdMs() const
    {
        if (deadAfterMs > 0)
            return deadAfterMs;
        return SilentIntervalsWhileAlive *
               (heartbeatIntervalMs > 1000 ? heartbeatIntervalMs : 1000);
    }
    //! Alive while its heartbeat is fresh by the database clock (see heartbeatAgeMs).
    bool isAlive() const { return heartbeatAgeMs >= 0 && heartbeatAgeMs < deadThresholdMs(); }
};

//! What one node says of one of its workers.
struct WARDEN_CORE_EXPORT WorkerStatus
{
    QString worker;
    QString node;
    QString kind; //!< "periodic" or "continuous"
    WorkerState state = WorkerState::Stopped;
    bool enabled = true; //!< the effective switch on this node
    QString schedule;    //!< Schedule::toString(), empty for continuous workers
    LockMode lockMode = LockMode::None;
    QString lockName;
    QDateTime nextRunAt;
    QDateTime lastRunAt; //!< start of the last finished run
    RunOutcome lastOutcome = RunOutcome::Succeeded;
    qint64 lastDurationMs = -1; //!< -1 while there was no run
    qint64 lastLatenessMs = -1;
    qint64 runCount = 0;
    qint64 failureCount = 0;
    /*!
        Ticks this node left to another: the lock was held elsewhere (by the node that ran
        the tick, or that still ran an earlier run or was dying), or the ledger had the tick
        run already. Not runs of this node.
    */
    qint64 skipCount = 0;
    qint64 misfireCount = 0;
    QString lastError;
    QDateTime updatedAt;
    /*!
        False when the node that published this status is not alive (currentStatuses()): the
        state is then the last one the node reported, not what runs.
    */
    bool isNodeAlive = true;
};

/*!
    The worker statuses as the cluster is now, the one place the admin commands and the console
    apply node liveness: statuses of a node that signed off (it has no node row any more) are
    left out; those of a node that is not alive (NodeInfo::isAlive()) are kept with
    isNodeAlive false, so that no view shows them as running.
*/
WARDEN_CORE_EXPORT QList<WorkerStatus> currentStatuses(const QList<WorkerStatus> &statuses,
                                                       const QList<NodeInfo> &nodes);

//! The cluster-wide desired settings of a worker (the admin's switches).
struct WARDEN_CORE_EXPORT WorkerSettings
{
    QString worker;
    bool enabled = true;
    QDateTime pausedUntil; //!< when valid and in the future, the worker does not run until then
    QString reason;
    QString changedBy;
    QDateTime changedAt;
    qint64 triggerSequence = 0; //!< grows by one on every "run now" request

    bool isPausedAt(const QDateTime &now) const
    {
        return pausedUntil.isValid() && pausedUntil > now;
    }
};

//! One admin action: who did what to what, when and why.
struct WARDEN_CORE_EXPORT AuditEntry
{
    QDateTime time;
    QString user;   //!< OS user of the admin
    QString origin; //!< where it came from: "warden", "warden-console", a node id
    QString action; //!< enable, disable, pause, trigger, release, ...
    QString target; //!< worker or lock name
    QString reason;
    QString details;
};

} // namespace Warden

Q_DECLARE_METATYPE(Warden::RunRecord)
Q_DECLARE_METATYPE(Warden::LogLine)
Q_DECLARE_METATYPE(Warden::NodeInfo)
Q_DECLARE_METATYPE(Warden::WorkerStatus)
Q_DECLARE_METATYPE(Warden::WorkerSettings)
Q_DECLARE_METATYPE(Warden::AuditEntry)
