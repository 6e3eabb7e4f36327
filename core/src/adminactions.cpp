#include <warden/adminactions.h>
#include <warden/lockmanager.h>
#include <warden/store.h>
#include <warden/worker.h>

#include <QtCore/QtGlobal>

#ifdef Q_OS_UNIX
#include <pwd.h>
#include <unistd.h>
#endif

namespace Warden {

AdminActions::AdminActions(std::shared_ptr<Store> store, std::shared_ptr<LockManager> lockManager,
                           QString origin)
    : m_store(std::move(store))
    , m_lockManager(std::move(lockManager))
    , m_origin(std::move(origin))
    , m_user(currentUser())
{}

void AdminActions::setUser(const QString &user)
{
    m_user = user;
}

QString AdminActions::currentUser()
{
#ifdef Q_OS_UNIX
    // The real user, not what $USER claims: the audit trail must not be easy to dress up.
    if (const passwd *pw = ::getpwuid(::getuid()))
        return QString::fromLocal8Bit(pw->pw_name);
    return QStringLiteral("uid %1").arg(::getuid());
#else
    const QString user = qEnvironmentVariable("USERNAME");
    return user.isEmpty() ? QStringLiteral("unknown") : user;
#endif
}

bool AdminActions::audit(const QString &action, const QString &target, const QString &reason,
                         const QString &details, QString *error)
{
    AuditEntry entry;
    entry.time = QDateTime::currentDateTimeUtc();
    entry.user = m_user;
    entry.origin = m_origin;
    entry.action = action;
    entry.target = target;
    entry.reason = reason;
    entry.details = details;
    return m_store->recordAudit(entry, error);
}

Result<WorkerSettings> AdminActions::change(const QString &worker, bool enabled,
                                            const QDateTime &until, const QString &reason,
                                            const QString &action)
{
    QString error;
    if (!Worker::isValidName(worker, &error))
        return Result<WorkerSettings>::failure(error);
    WorkerSettings settings;
    settings.worker = worker;
    settings.enabled = enabled;
    settings.pausedUntil = until.isValid() ? until.toUTC() : QDateTime();
    settings.reason = reason;
    settings.changedBy = m_user;
    settings.changedAt = QDateTime::currentDateTimeUtc();
    if (!m_store->setWorkerSettings(settings, &error))
        return Result<WorkerSettings>::failure(error);
    const QString details =
        settings.pausedUntil.isValid()
            ? QStringLiteral("until %1").arg(settings.pausedUntil.toString(Qt::ISODate))
            : QString();
    if (!audit(action, worker, reason, details, &error))
        return Result<WorkerSettings>::failure(
            QStringLiteral("the change was made, but the audit trail refused it: %1").arg(error));
    return settings;
}

Result<WorkerSettings> AdminActions::enable(const QString &worker, const QString &reason)
{
    return change(worker, true, QDateTime(), reason, QStringLiteral("enable"));
}

Result<WorkerSettings> AdminActions::disable(const QString &worker, const QString &reason,
                                             const QDateTime &until)
{
    if (until.isValid()) {
        if (until <= QDateTime::currentDateTimeUtc())
            return Result<WorkerSettings>::failure(
                QStringLiteral("the pause would end at %1, which has passed")
                    .arg(until.toString(Qt::ISODate)));
        // A pause: enabled stays on, the pause ends by itself.
        return change(worker, true, until, reason, QStringLiteral("pause"));
    }
    return change(worker, false, QDateTime(), reason, QStringLiteral("disable"));
}

Result<qint64> AdminActions::trigger(const QString &worker)
{
    QString error;
    if (!Worker::isValidName(worker, &error))
        return Result<qint64>::failure(error);
    // A continuous worker runs all the time: a request would be accepted and then ignored by
    // every node. (A worker no node has reported yet may still be periodic: let it through.)
    if (const auto statuses = m_store->workerStatuses(); statuses.isOk()) {
        bool known = false;
        bool periodic = false;
        for (const WorkerStatus &status : statuses.value()) {
            if (status.worker == worker) {
                known = true;
                periodic = periodic || status.kind != QLatin1String("continuous");
            }
        }
        if (known && !periodic)
            return Result<qint64>::failure(
                QStringLiteral("%1 is a continuous worker, which runs all the time; run now is "
                               "for periodic workers (disable and enable restart it)")
                    .arg(worker));
    }
    const auto sequence = m_store->requestTrigger(worker, m_user);
    if (!sequence.isOk())
        return sequence;
    if (!audit(QStringLiteral("trigger"), worker, QString(),
               QStringLiteral("request %1").arg(sequence.value()), &error))
        return Result<qint64>::failure(
            QStringLiteral("the request was made, but the audit trail refused it: %1").arg(error));
    return sequence;
}

Result<Lease> AdminActions::release(const QString &lock, const QString &reason)
{
    const auto leases = m_lockManager->leases();
    if (!leases.isOk())
        return Result<Lease>::failure(leases.errorString());
    Lease before;
    for (const Lease &lease : leases.value()) {
        if (lease.name == lock)
            before = lease;
    }
    if (before.name.isEmpty())
        return Result<Lease>::failure(QStringLiteral("no lock named \"%1\"").arg(lock));
    QString error;
    if (!m_lockManager->forceRelease(lock, &error))
        return Result<Lease>::failure(error);
    const QString details =
        QStringLiteral("held by %1, fencing token %2")
            .arg(before.holder.isEmpty() ? QStringLiteral("nobody") : before.holder)
            .arg(before.fencingToken);
    if (!audit(QStringLiteral("release"), lock, reason, details, &error))
        return Result<Lease>::failure(
            QStringLiteral("the lease was released, but the audit trail refused it: %1")
                .arg(error));
    return before;
}

Result<int> AdminActions::forgetNode(const QString &node, const QString &reason)
{
    using R = Result<int>;
    const auto nodes = m_store->nodes();
    if (!nodes.isOk())
        return R::failure(nodes.errorString());
    const NodeInfo *found = nullptr;
    for (const NodeInfo &n : nodes.value()) {
        if (n.id == node)
            found = &n;
    }
    if (!found)
        return R::failure(QStringLiteral("no node named \"%1\"").arg(node));
    if (found->isAlive())
        return R::failure(QStringLiteral("node %1 is alive (heartbeat %2 s ago); stop it first")
                              .arg(node)
                              .arg(double(found->heartbeatAgeMs) / 1000.0, 0, 'f', 1));
    const auto closed = m_store->closeRunningRuns(
        node, QStringLiteral("node %1 was forgotten by %2; the run ended with the node at the "
                             "latest")
                  .arg(node, m_user));
    if (!closed.isOk())
        return R::failure(closed.errorString());
    const auto statuses = m_store->workerStatuses();
    if (!statuses.isOk())
        return R::failure(statuses.errorString());
    for (const WorkerStatus &status : statuses.value()) {
        if (status.node == node)
            m_store->removeWorkerStatus(node, status.worker);
    }
    m_store->removeNode(node);
    if (!m_store->flush(std::chrono::seconds(10)))
        return R::failure(QStringLiteral("the store did not write the removal within 10 s: %1")
                              .arg(m_store->statistics().lastError));
    QString error;
    const QString details = QStringLiteral("last heartbeat %1, %2 run(s) closed as lost")
                                .arg(found->heartbeatAt.toString(Qt::ISODateWithMs))
                                .arg(closed.value());
    if (!audit(QStringLiteral("forget-node"), node, reason, details, &error))
        return R::failure(
            QStringLiteral("the node was forgotten, but the audit trail refused it: %1")
                .arg(error));
    return closed.value();
}

} // namespace Warden
