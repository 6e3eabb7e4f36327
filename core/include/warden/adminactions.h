#pragma once

#include <warden/global.h>
#include <warden/lockmanager.h>
#include <warden/records.h>
#include <warden/result.h>

#include <QtCore/QDateTime>
#include <QtCore/QString>

#include <memory>

namespace Warden {

class Store;

/*!
    The admin's actions on a cluster, the same for every face (the `warden` commands and the
    console): enable, disable or pause a worker, run it now, force-release a lease. Each
    action changes the store's cluster-wide settings (which every host applies within its
    settings poll interval, or at once where the store notifies), and lands in the audit
    trail with the OS user, the origin and the reason.

    Every member may block on the database: call from a thread that may wait (the command
    line's main thread, the console's query thread), never from a GUI thread.
*/
class WARDEN_CORE_EXPORT AdminActions
{
public:
    AdminActions(std::shared_ptr<Store> store, std::shared_ptr<LockManager> lockManager,
                 QString origin);

    //! The OS user the actions are audited with; defaults to currentUser().
    void setUser(const QString &user);
    QString user() const { return m_user; }
    static QString currentUser();

    Result<WorkerSettings> enable(const QString &worker, const QString &reason = QString());
    //! Disables \a worker; with a valid \a until it is a pause that ends by itself then.
    Result<WorkerSettings> disable(const QString &worker, const QString &reason = QString(),
                                   const QDateTime &until = QDateTime());
    //! Asks the node that may run \a worker to run it once now; returns the trigger sequence.
    Result<qint64> trigger(const QString &worker);
    /*!
        Force-releases the lease \a lock whoever holds it, and returns the lease as it was
        (so a face can say whose lease it took away).
    */
    Result<Lease> release(const QString &lock, const QString &reason = QString());
    /*!
        Removes the dead node \a node from the store at once: its runs still recorded as
        running are closed as lost, its worker statuses and its node row are deleted. Refused
        for a node that is alive. Returns how many runs it closed.
    */
    Result<int> forgetNode(const QString &node, const QString &reason = QString());

private:
    Result<WorkerSettings> change(const QString &worker, bool enabled, const QDateTime &until,
                                  const QString &reason, const QString &action);
    bool audit(const QString &action, const QString &target, const QString &reason,
               const QString &details, QString *error);

    std::shared_ptr<Store> m_store;
    std::shared_ptr<LockManager> m_lockManager;
    QString m_origin;
    QString m_user;
};

} // namespace Warden
