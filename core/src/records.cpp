#include <warden/records.h>

#include <QtCore/QHash>

namespace Warden {

qint64 RunRecord::durationMs() const
{
    return startedAt.isValid() && finishedAt.isValid() ? startedAt.msecsTo(finishedAt) : -1;
}

qint64 RunRecord::latenessMs() const
{
    return scheduledAt.isValid() && startedAt.isValid() ? scheduledAt.msecsTo(startedAt) : -1;
}

QList<WorkerStatus> currentStatuses(const QList<WorkerStatus> &statuses,
                                    const QList<NodeInfo> &nodes)
{
    QHash<QString, bool> alive;
    for (const NodeInfo &node : nodes)
        alive.insert(node.id, node.isAlive());
    QList<WorkerStatus> out;
    out.reserve(statuses.size());
    for (const WorkerStatus &status : statuses) {
        const auto it = alive.constFind(status.node);
        if (it == alive.cend())
            continue; // the node signed off
        out.append(status);
        out.back().isNodeAlive = it.value();
    }
    return out;
}

} // namespace Warden
