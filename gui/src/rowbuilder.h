#pragma once

#include "consoletypes.h"

#include <warden/lockmanager.h>
#include <warden/schedule.h>

#include <QtCore/QCoreApplication>
#include <QtCore/QHash>

#include <memory>

namespace Warden::Console {

/*!
    Turns what the store returns into table rows. It runs in the query thread, so that the
    GUI thread only compares finished cells; it keeps parsed schedules between refreshes.
*/
class RowBuilder final
{
    Q_DECLARE_TR_FUNCTIONS(Warden::Console::RowBuilder)
public:
    TableRows workerRows(const QList<WorkerStatus> &statuses, const QList<WorkerSettings> &settings,
                         const QList<Lease> &leases, const QDateTime &now);
    TableRows lockRows(const QList<Lease> &leases, const QDateTime &now) const;
    TableRows nodeRows(const QList<NodeInfo> &nodes, const QDateTime &now,
                       int *aliveCount = nullptr) const;
    TableRows runRows(const QList<RunRecord> &runs) const;
    TableRows auditRows(const QList<AuditEntry> &entries) const;

    /*!
        The next \a count fire times of the schedule written as \a schedule
        (Schedule::toString()), after \a now; \a nextRunAt (what the nodes reported) anchors
        interval schedules and stands in when the text cannot be parsed.
    */
    QList<QDateTime> nextFireTimes(const QString &schedule, const QDateTime &nextRunAt,
                                   const QDateTime &now, int count);

    enum class NodeHealth { Alive, Late, Dead };
    static NodeHealth nodeHealth(const NodeInfo &node, const QDateTime &now);

    static QString formatTime(const QDateTime &time, const QDateTime &now);
    static QString formatDuration(qint64 milliseconds);
    //! What started a run, for people: "schedule", "run now", "catch-up", "retry".
    static QString triggerText(RunTrigger trigger);
    static QString stateIcon(WorkerState state);
    static QString outcomeIcon(RunOutcome outcome);
    //! Higher is more worth a look: the state a worker row shows for its nodes.
    static int statePriority(WorkerState state);

private:
    std::shared_ptr<const Schedule> parseSchedule(const QString &schedule);
    QHash<QString, std::shared_ptr<const Schedule>> m_schedules;
};

} // namespace Warden::Console
