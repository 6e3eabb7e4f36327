#pragma once

#include <warden/lockmanager.h>
#include <warden/sql/global.h>

#include <memory>

namespace Warden {

struct SqlConfig;

/*!
    Leases in the table \c warden_leases, one row per lock name, never deleted (so fencing
    tokens never repeat). Acquire, renew and release are each one statement judged on the
    database's clock; the caller's clock never enters them.

    Every member may be called from any thread; each thread uses its own connection. On
    PostgreSQL a listener thread LISTENs for releases, so released() fires for releases made
    by any node and isReleaseNotified() is true; on SQLite released() fires for releases made
    through this object only, and standbys poll.

    Get one from Database::lockManager().
*/
class WARDEN_SQL_EXPORT SqlLockManager final : public LockManager
{
    Q_OBJECT
public:
    explicit SqlLockManager(std::shared_ptr<const SqlConfig> config, QObject *parent = nullptr);
    ~SqlLockManager() override;

    Attempt tryAcquire(const QString &name, const QString &holder,
                       std::chrono::milliseconds ttl) override;
    Attempt renew(const Lease &lease, std::chrono::milliseconds ttl) override;
    bool release(const Lease &lease, QString *error = nullptr) override;
    bool forceRelease(const QString &name, QString *error = nullptr) override;
    Result<QList<Lease>> leases() override;
    bool isReleaseNotified() const override;
    //! True for the SqlStore of the same Database.
    bool recordsRunsOf(const Store *store) const override;
    Attempt tryAcquireForRun(const QString &name, const QString &holder,
                             std::chrono::milliseconds ttl, const RunRecord &run,
                             Tick tick) override;
    Attempt renewForRun(const Lease &lease, std::chrono::milliseconds ttl, const RunRecord &run,
                        Tick tick) override;
    //! Which Database this manager belongs to: the same for its SqlStore.
    quint64 databaseId() const;

    //! Lock and holder names: 1 to 200 printable characters (no control characters).
    static bool isValidName(const QString &name, QString *error = nullptr);

private:
    Attempt acquire(const QString &name, const QString &holder, std::chrono::milliseconds ttl,
                    const RunRecord *run, Tick tick);
    Attempt extend(const Lease &lease, std::chrono::milliseconds ttl, const RunRecord *run,
                   Tick tick);

    struct Private;
    std::unique_ptr<Private> d;
};

} // namespace Warden
