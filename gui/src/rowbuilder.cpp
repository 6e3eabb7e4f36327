#include "rowbuilder.h"

#include "rowtablemodel.h"

#include <warden/cronschedule.h>

#include <QtCore/QMap>
#include <QtCore/QRegularExpression>

#include <algorithm>

namespace Warden::Console {

namespace {

const QColor failureColor(0xb3, 0x26, 0x1e);
const QColor mutedColor(0x5f, 0x63, 0x68);

Cell textCell(const QString &text, const QVariant &sort = QVariant())
{
    Cell cell;
    cell.text = text;
    cell.sortValue = sort;
    return cell;
}

Cell numberCell(qint64 value)
{
    return textCell(QString::number(value), value);
}

Cell timeCell(const QDateTime &time, const QDateTime &now)
{
    Cell cell = textCell(RowBuilder::formatTime(time, now),
                         time.isValid() ? time.toMSecsSinceEpoch() : qint64(0));
    if (time.isValid())
        cell.toolTip = time.toUTC().toString(Qt::ISODateWithMs);
    return cell;
}

Cell durationCell(qint64 ms)
{
    return textCell(ms < 0 ? QString() : RowBuilder::formatDuration(ms), ms);
}

} // namespace

int RowBuilder::statePriority(WorkerState state)
{
    switch (state) {
    case WorkerState::Running:
        return 6;
    case WorkerState::Failed:
        return 5;
    case WorkerState::Stopping:
        return 4;
    case WorkerState::Idle:
        return 3;
    case WorkerState::Waiting:
        return 2;
    case WorkerState::Disabled:
        return 1;
    case WorkerState::Stopped:
        return 0;
    }
    return 0;
}

QString RowBuilder::stateIcon(WorkerState state)
{
    return QStringLiteral("state-") + toKeyword(state);
}

QString RowBuilder::outcomeIcon(RunOutcome outcome)
{
    return QStringLiteral("outcome-") + toKeyword(outcome);
}

QString RowBuilder::formatTime(const QDateTime &time, const QDateTime &now)
{
    if (!time.isValid())
        return QString();
    const QDateTime local = time.toLocalTime();
    if (local.date() == now.toLocalTime().date())
        return local.toString(QStringLiteral("HH:mm:ss"));
    return local.toString(QStringLiteral("yyyy-MM-dd HH:mm"));
}

QString RowBuilder::triggerText(RunTrigger trigger)
{
    switch (trigger) {
    case RunTrigger::Schedule:
        return tr("schedule");
    case RunTrigger::RunNow:
        return tr("run now");
    case RunTrigger::CatchUp:
        return tr("catch-up");
    case RunTrigger::Retry:
        return tr("retry");
    }
    return toKeyword(trigger);
}

QString RowBuilder::formatDuration(qint64 ms)
{
    if (ms < 1000)
        return tr("%1 ms").arg(ms);
    if (ms < 60000)
        return tr("%1 s").arg(double(ms) / 1000.0, 0, 'f', 1);
    if (ms < 3600000)
        return tr("%1 min %2 s").arg(ms / 60000).arg((ms % 60000) / 1000);
    return tr("%1 h %2 min").arg(ms / 3600000).arg((ms % 3600000) / 60000);
}

RowBuilder::NodeHealth RowBuilder::nodeHealth(const NodeInfo &node, const QDateTime &now)
{
    // The store measures the age on the database clock; only a store that cannot leaves it
    // to this machine's clock.
    qint64 age = node.heartbeatAgeMs;
    if (age < 0 && node.heartbeatAt.isValid())
        age = qMax<qint64>(0, node.heartbeatAt.msecsTo(now));
    if (age < 0)
        return NodeHealth::Dead;
    // Dead exactly when the cluster counts it dead (its runs are closed as lost then); late
    // when a heartbeat is overdue by half an interval and half a second.
    if (age >= node.deadThresholdMs())
        return NodeHealth::Dead;
    const qint64 interval = qMax(1000, node.heartbeatIntervalMs);
    return age > interval + interval / 2 + 500 ? NodeHealth::Late : NodeHealth::Alive;
}

std::shared_ptr<const Schedule> RowBuilder::parseSchedule(const QString &text)
{
    auto it = m_schedules.constFind(text);
    if (it != m_schedules.constEnd())
        return *it;
    std::shared_ptr<const Schedule> schedule;
    // CronSchedule::toString(): cron "EXPR" ZONE
    static const QRegularExpression cron(QStringLiteral(R"re(^cron "([^"]+)"\s*(\S*)$)re"));
    static const QRegularExpression every(
        QStringLiteral(R"re(^every (\S+)( \(fixed delay\))?$)re"));
    const auto cronMatch = cron.match(text);
    const auto everyMatch = every.match(text);
    if (cronMatch.hasMatch()) {
        auto parsed = CronSchedule::parse(cronMatch.captured(1), cronMatch.captured(2));
        if (parsed)
            schedule = std::make_shared<CronSchedule>(parsed.value());
    } else if (everyMatch.hasMatch()) {
        std::chrono::milliseconds interval{};
        if (IntervalSchedule::parseDuration(everyMatch.captured(1), &interval))
            schedule = std::make_shared<IntervalSchedule>(interval);
    }
    if (m_schedules.size() > 10000)
        m_schedules.clear();
    m_schedules.insert(text, schedule);
    return schedule;
}

QList<QDateTime> RowBuilder::nextFireTimes(const QString &text, const QDateTime &nextRunAt,
                                           const QDateTime &now, int count)
{
    QList<QDateTime> times;
    const auto schedule = parseSchedule(text);
    if (auto interval = dynamic_cast<const IntervalSchedule *>(schedule.get())) {
        // The grid is anchored at each worker's start, which only the nodes know: step from
        // the next run they reported.
        if (!nextRunAt.isValid())
            return times;
        const qint64 step = interval->interval().count();
        QDateTime next = nextRunAt;
        if (next < now && step > 0)
            next = next.addMSecs(((next.msecsTo(now) / step) + 1) * step);
        for (int i = 0; i < count; ++i)
            times.append(next.addMSecs(step * i));
        return times;
    }
    if (schedule)
        return schedule->nextFireTimes(now, count);
    if (nextRunAt.isValid())
        times.append(nextRunAt);
    return times;
}

TableRows RowBuilder::workerRows(const QList<WorkerStatus> &statuses,
                                 const QList<WorkerSettings> &settings, const QList<Lease> &leases,
                                 const QDateTime &now)
{
    QMap<QString, QList<const WorkerStatus *>> byWorker;
    for (const WorkerStatus &status : statuses)
        byWorker[status.worker].append(&status);
    QHash<QString, const WorkerSettings *> settingsOf;
    for (const WorkerSettings &s : settings) {
        settingsOf.insert(s.worker, &s);
        if (!byWorker.contains(s.worker))
            byWorker.insert(s.worker, {});
    }
    QHash<QString, const Lease *> leaseOf;
    for (const Lease &lease : leases)
        leaseOf.insert(lease.name, &lease);

    TableRows rows;
    rows.reserve(byWorker.size());
    for (auto it = byWorker.cbegin(); it != byWorker.cend(); ++it) {
        const QString &worker = it.key();
        const QList<const WorkerStatus *> &onNodes = it.value();
        const WorkerSettings *desired = settingsOf.value(worker);
        TableRow row;
        row.key = worker;
        row.cells.resize(int(WorkerColumn::Count));
        auto cell = [&row](WorkerColumn column) -> Cell & { return row.cells[int(column)]; };

        // State across the nodes: the one most worth a look.
        const WorkerStatus *top = nullptr;
        const WorkerStatus *latest = nullptr;
        qint64 runs = 0, failures = 0, skips = 0, misfires = 0;
        QDateTime nextRunAt;
        QString schedule, lockName, kind;
        QMap<int, QStringList> nodesByState;
        QStringList perNode;
        // A dead node's status ranks below every live one: it says nothing of what runs.
        auto priorityOf = [](const WorkerStatus *s) {
            return s->isNodeAlive ? statePriority(s->state) : -1;
        };
        for (const WorkerStatus *s : onNodes) {
            if (!top || priorityOf(s) > priorityOf(top))
                top = s;
            if (s->lastRunAt.isValid() && (!latest || s->lastRunAt > latest->lastRunAt))
                latest = s;
            runs += s->runCount;
            failures += s->failureCount;
            skips += s->skipCount;
            misfires += s->misfireCount;
            if (s->nextRunAt.isValid() && (!nextRunAt.isValid() || s->nextRunAt < nextRunAt))
                nextRunAt = s->nextRunAt;
            if (schedule.isEmpty())
                schedule = s->schedule;
            if (lockName.isEmpty() && s->lockMode != LockMode::None)
                lockName = s->lockName.isEmpty() ? s->worker : s->lockName;
            if (kind.isEmpty())
                kind = s->kind;
            nodesByState[priorityOf(s)].append(s->node);
            if (s->isNodeAlive)
                perNode.append(tr("%1: %2%3")
                                   .arg(s->node, toKeyword(s->state),
                                        s->enabled ? QString() : tr(" (switched off)")));
            else
                perNode.append(
                    tr("%1: node dead (it last said %2)").arg(s->node, toKeyword(s->state)));
        }
        row.detail = lockName;
        perNode.sort();

        cell(WorkerColumn::Name) = textCell(worker);
        cell(WorkerColumn::Name).toolTip = kind.isEmpty() ? QString() : tr("%1 worker").arg(kind);

        const bool disabled = desired && !desired->enabled;
        const bool paused = desired && !disabled && desired->isPausedAt(now);
        Cell &state = cell(WorkerColumn::State);
        if (top && !top->isNodeAlive) {
            state = textCell(tr("node dead"), -1);
            state.icon = QStringLiteral("node-dead");
            state.foreground = mutedColor;
            state.toolTip = perNode.join(QLatin1Char('\n'));
        } else if (top) {
            state = textCell(toKeyword(top->state), statePriority(top->state));
            state.icon = stateIcon(top->state);
            if (top->state == WorkerState::Failed)
                state.foreground = failureColor;
            state.toolTip = perNode.join(QLatin1Char('\n'));
            if (!top->lastError.isEmpty() && top->state == WorkerState::Failed)
                state.toolTip += QLatin1Char('\n') + top->lastError;
        } else {
            state = textCell(tr("not running"), -1);
            state.icon = QStringLiteral("state-stopped");
            state.foreground = mutedColor;
            state.toolTip = tr("No node reports this worker.");
        }

        QStringList summary;
        QList<int> priorities = nodesByState.keys();
        std::reverse(priorities.begin(), priorities.end());
        for (int priority : priorities) {
            const QStringList &names = nodesByState[priority];
            WorkerState shown = WorkerState::Stopped;
            for (const WorkerStatus *w : onNodes) {
                if (priorityOf(w) == priority) {
                    shown = w->state;
                    break;
                }
            }
            const QString stateName = priority < 0 ? tr("node dead") : toKeyword(shown);
            if (onNodes.size() <= 3)
                summary.append(tr("%1 on %2").arg(stateName, names.join(QStringLiteral(", "))));
            else
                summary.append(tr("%1 %2").arg(names.size()).arg(stateName));
        }
        cell(WorkerColumn::Nodes) = textCell(summary.join(QStringLiteral("; ")), onNodes.size());
        cell(WorkerColumn::Nodes).toolTip = perNode.join(QLatin1Char('\n'));

        Cell &switchCell = cell(WorkerColumn::Switch);
        if (disabled) {
            switchCell = textCell(tr("disabled"), 0);
            switchCell.icon = QStringLiteral("state-disabled");
        } else if (paused) {
            switchCell =
                textCell(tr("paused until %1").arg(formatTime(desired->pausedUntil, now)), 1);
            switchCell.icon = QStringLiteral("state-paused");
            switchCell.deadline = 0;
            switchCell.toolTip =
                tr("Paused until %1 (%2 left)")
                    .arg(desired->pausedUntil.toLocalTime().toString(Qt::ISODate),
                         RowTableModel::formatCountdown(now.msecsTo(desired->pausedUntil)));
        } else {
            switchCell = textCell(tr("enabled"), 2);
            switchCell.icon = QStringLiteral("action-enable");
        }
        if (disabled || paused) {
            state.icon =
                disabled ? QStringLiteral("state-disabled") : QStringLiteral("state-paused");
            state.foreground = mutedColor;
        }
        if (desired) {
            cell(WorkerColumn::Reason) = textCell(desired->reason);
            cell(WorkerColumn::Reason).toolTip = desired->reason;
            cell(WorkerColumn::ChangedBy) = textCell(
                desired->changedBy.isEmpty()
                    ? QString()
                    : tr("%1, %2").arg(desired->changedBy, formatTime(desired->changedAt, now)),
                desired->changedAt.isValid() ? desired->changedAt.toMSecsSinceEpoch() : 0);
        } else {
            cell(WorkerColumn::Reason) = textCell(QString());
            cell(WorkerColumn::ChangedBy) = textCell(QString(), qint64(0));
        }

        cell(WorkerColumn::Schedule) =
            textCell(schedule.isEmpty() && kind == QLatin1String("continuous") ? tr("continuous")
                                                                               : schedule);
        const QList<QDateTime> fires =
            schedule.isEmpty() ? QList<QDateTime>() : nextFireTimes(schedule, nextRunAt, now, 3);
        QStringList fireTexts;
        for (const QDateTime &t : fires)
            fireTexts.append(formatTime(t, now));
        Cell &fireCell = cell(WorkerColumn::NextFire);
        fireCell = textCell(fireTexts.join(QStringLiteral(", ")),
                            fires.isEmpty() ? std::numeric_limits<qint64>::max()
                                            : fires.first().toMSecsSinceEpoch());
        if (!fires.isEmpty())
            fireCell.toolTip = tr("Next fire times (local time):\n%1").arg([&] {
                QStringList full;
                for (const QDateTime &t : fires)
                    full.append(t.toLocalTime().toString(Qt::ISODate));
                return full.join(QLatin1Char('\n'));
            }());
        if (disabled || paused)
            fireCell.foreground = mutedColor;

        Cell &holder = cell(WorkerColumn::LeaseHolder);
        holder = textCell(QString());
        if (!lockName.isEmpty()) {
            const Lease *lease = leaseOf.value(lockName);
            if (lease && !lease->holder.isEmpty() && lease->expiresAt > now) {
                holder = textCell(lease->holder);
                holder.icon = QStringLiteral("lock-held");
                holder.toolTip =
                    tr("Lock %1, fencing token %2").arg(lockName).arg(lease->fencingToken);
            } else {
                holder = textCell(tr("free"));
                holder.icon = QStringLiteral("lock-free");
                holder.foreground = mutedColor;
                holder.toolTip = tr("Lock %1 is free").arg(lockName);
            }
        }

        if (latest) {
            cell(WorkerColumn::LastRun) = timeCell(latest->lastRunAt, now);
            Cell &outcome = cell(WorkerColumn::Outcome);
            outcome = textCell(toKeyword(latest->lastOutcome), int(latest->lastOutcome));
            outcome.icon = outcomeIcon(latest->lastOutcome);
            outcome.toolTip = latest->lastError;
            if (isFailure(latest->lastOutcome))
                outcome.foreground = failureColor;
            cell(WorkerColumn::Duration) = durationCell(latest->lastDurationMs);
            cell(WorkerColumn::Lateness) = durationCell(latest->lastLatenessMs);
        } else {
            cell(WorkerColumn::LastRun) = textCell(tr("never"), qint64(0));
            cell(WorkerColumn::LastRun).foreground = mutedColor;
            cell(WorkerColumn::Outcome) = textCell(QString(), -1);
            cell(WorkerColumn::Duration) = durationCell(-1);
            cell(WorkerColumn::Lateness) = durationCell(-1);
        }
        cell(WorkerColumn::Runs) = numberCell(runs);
        cell(WorkerColumn::Runs).toolTip =
            tr("%1 run by other nodes, %2 misfired").arg(skips).arg(misfires);
        cell(WorkerColumn::Failures) = numberCell(failures);
        if (failures > 0)
            cell(WorkerColumn::Failures).foreground = failureColor;
        rows.append(std::move(row));
    }
    return rows;
}

TableRows RowBuilder::lockRows(const QList<Lease> &leases, const QDateTime &now) const
{
    TableRows rows;
    rows.reserve(leases.size());
    for (const Lease &lease : leases) {
        TableRow row;
        row.key = lease.name;
        row.detail = lease.holder;
        row.cells.resize(int(LockColumn::Count));
        auto cell = [&row](LockColumn column) -> Cell & { return row.cells[int(column)]; };
        cell(LockColumn::Name) = textCell(lease.name);
        const bool held = !lease.holder.isEmpty() && lease.expiresAt > now;
        const bool expired = !lease.holder.isEmpty() && !held;
        Cell &status = cell(LockColumn::Status);
        if (held) {
            status = textCell(tr("held"), 2);
            status.icon = QStringLiteral("lock-held");
        } else if (expired) {
            status = textCell(tr("expired"), 1);
            status.icon = QStringLiteral("lock-expired");
            status.toolTip = tr("The holder did not renew; any node may take it over.");
        } else {
            status = textCell(tr("free"), 0);
            status.icon = QStringLiteral("lock-free");
            status.foreground = mutedColor;
        }
        row.detail = held || expired ? lease.holder : QString();
        cell(LockColumn::Holder) = textCell(lease.holder);
        cell(LockColumn::Token) = numberCell(lease.fencingToken);
        cell(LockColumn::Acquired) = timeCell(lease.acquiredAt, now);
        Cell &left = cell(LockColumn::TimeLeft);
        if (held) {
            left.deadline = lease.expiresAt.toMSecsSinceEpoch();
            left.text = RowTableModel::formatCountdown(now.msecsTo(lease.expiresAt));
            left.sortValue = left.deadline;
            left.toolTip = tr("Expires at %1, renewed at %2")
                               .arg(lease.expiresAt.toUTC().toString(Qt::ISODateWithMs),
                                    lease.renewedAt.toUTC().toString(Qt::ISODateWithMs));
        } else {
            left = textCell(QString(), qint64(0));
        }
        rows.append(std::move(row));
    }
    return rows;
}

TableRows RowBuilder::nodeRows(const QList<NodeInfo> &nodes, const QDateTime &now,
                               int *aliveCount) const
{
    TableRows rows;
    int alive = 0;
    for (const NodeInfo &node : nodes) {
        TableRow row;
        row.key = node.id;
        row.cells.resize(int(NodeColumn::Count));
        auto cell = [&row](NodeColumn column) -> Cell & { return row.cells[int(column)]; };
        cell(NodeColumn::Id) = textCell(node.id);
        const NodeHealth health = nodeHealth(node, now);
        Cell &status = cell(NodeColumn::Status);
        switch (health) {
        case NodeHealth::Alive:
            status = textCell(tr("alive"), 2);
            status.icon = QStringLiteral("node-alive");
            ++alive;
            break;
        case NodeHealth::Late:
            status = textCell(tr("late"), 1);
            status.icon = QStringLiteral("node-late");
            break;
        case NodeHealth::Dead:
            status = textCell(tr("dead"), 0);
            status.icon = QStringLiteral("node-dead");
            status.foreground = failureColor;
            break;
        }
        status.toolTip = tr("Heartbeat every %1; counted dead after %2 of silence")
                             .arg(formatDuration(node.heartbeatIntervalMs),
                                  formatDuration(node.deadThresholdMs()));
        cell(NodeColumn::Host) = textCell(node.hostName);
        cell(NodeColumn::Pid) = numberCell(node.pid);
        cell(NodeColumn::Version) = textCell(node.version);
        cell(NodeColumn::Started) = timeCell(node.startedAt, now);
        const qint64 age =
            node.heartbeatAt.isValid() ? qMax<qint64>(0, node.heartbeatAt.msecsTo(now)) : -1;
        cell(NodeColumn::Heartbeat) =
            textCell(age < 0 ? tr("never") : tr("%1 ago").arg(formatDuration(age)), age);
        cell(NodeColumn::Heartbeat).toolTip = node.heartbeatAt.toUTC().toString(Qt::ISODateWithMs);
        Cell &offset = cell(NodeColumn::ClockOffset);
        offset = textCell(tr("%1%2 ms")
                              .arg(node.clockOffsetMs > 0 ? QStringLiteral("+") : QString())
                              .arg(node.clockOffsetMs),
                          node.clockOffsetMs);
        offset.toolTip = tr("The node's clock minus the database's clock.");
        if (qAbs(node.clockOffsetMs) > 1000)
            offset.foreground = failureColor;
        rows.append(std::move(row));
    }
    if (aliveCount)
        *aliveCount = alive;
    return rows;
}

TableRows RowBuilder::runRows(const QList<RunRecord> &runs) const
{
    TableRows rows;
    rows.reserve(runs.size());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    for (const RunRecord &run : runs) {
        TableRow row;
        row.key = run.runId;
        row.cells.resize(int(RunColumn::Count));
        auto cell = [&row](RunColumn column) -> Cell & { return row.cells[int(column)]; };
        cell(RunColumn::Started) = timeCell(run.startedAt, now);
        Cell &outcome = cell(RunColumn::Outcome);
        outcome = textCell(toKeyword(run.outcome), int(run.outcome));
        outcome.icon = outcomeIcon(run.outcome);
        if (isFailure(run.outcome))
            outcome.foreground = failureColor;
        cell(RunColumn::Duration) = durationCell(run.durationMs());
        cell(RunColumn::Lateness) = durationCell(run.latenessMs());
        cell(RunColumn::Node) = textCell(run.node);
        cell(RunColumn::Trigger) = textCell(triggerText(run.trigger), int(run.trigger));
        cell(RunColumn::Token) =
            run.fencingToken > 0 ? numberCell(run.fencingToken) : textCell(QString(), 0);
        cell(RunColumn::Error) = textCell(run.error);
        cell(RunColumn::Error).toolTip = run.error;
        rows.append(std::move(row));
    }
    return rows;
}

TableRows RowBuilder::auditRows(const QList<AuditEntry> &entries) const
{
    TableRows rows;
    rows.reserve(entries.size());
    const QDateTime now = QDateTime::currentDateTimeUtc();
    QHash<QString, int> seen;
    for (const AuditEntry &entry : entries) {
        TableRow row;
        const QString base = QStringLiteral("%1|%2|%3|%4")
                                 .arg(entry.time.toMSecsSinceEpoch())
                                 .arg(entry.user, entry.action, entry.target);
        const int n = seen[base]++;
        row.key = n == 0 ? base : base + QLatin1Char('#') + QString::number(n);
        row.cells.resize(int(AuditColumn::Count));
        auto cell = [&row](AuditColumn column) -> Cell & { return row.cells[int(column)]; };
        cell(AuditColumn::Time) = timeCell(entry.time, now);
        cell(AuditColumn::User) = textCell(entry.user);
        cell(AuditColumn::Action) = textCell(entry.action);
        cell(AuditColumn::Target) = textCell(entry.target);
        cell(AuditColumn::Reason) = textCell(entry.reason);
        cell(AuditColumn::Reason).toolTip = entry.reason;
        cell(AuditColumn::Origin) = textCell(entry.origin);
        cell(AuditColumn::Details) = textCell(entry.details);
        cell(AuditColumn::Details).toolTip = entry.details;
        rows.append(std::move(row));
    }
    return rows;
}

} // namespace Warden::Console
