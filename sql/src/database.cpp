#include <warden/sql/database.h>
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include "connection_p.h"
#include "migrations_p.h"

#include <mutex>
#include <thread>

namespace Warden {

struct Database::Private
{
    std::shared_ptr<const SqlConfig> config;
    std::mutex mutex;
    std::weak_ptr<SqlLockManager> lockManager;
    std::weak_ptr<SqlStore> store;
};

Result<Database> Database::open(const QString &url, const DatabaseOptions &options)
{
    auto made = SqlConfig::make(url, options);
    if (!made)
        return Result<Database>::failure(made.errorString());
    std::shared_ptr<const SqlConfig> config = made.value();
    // Connect and migrate in a thread of our own: its connection goes away with it, so the
    // caller's thread keeps none.
    std::optional<Result<int>> migrated;
    std::thread worker([&] {
        migrated = Migrations::apply(*config);
        SqlSession::drop(*config);
    });
    worker.join();
    if (!migrated->isOk())
        return Result<Database>::failure(migrated->errorString());
    Database db;
    db.d = std::make_shared<Private>();
    db.d->config = config;
    return db;
}

int Database::schemaVersion()
{
    return Migrations::latestVersion();
}

const DatabaseUrl &Database::url() const
{
    return d->config->url;
}

const DatabaseOptions &Database::options() const
{
    return d->config->options;
}

std::shared_ptr<SqlLockManager> Database::lockManager() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    auto existing = d->lockManager.lock();
    if (!existing) {
        existing = std::make_shared<SqlLockManager>(d->config);
        d->lockManager = existing;
    }
    return existing;
}

std::shared_ptr<SqlStore> Database::store() const
{
    std::lock_guard<std::mutex> lock(d->mutex);
    auto existing = d->store.lock();
    if (!existing) {
        existing = std::make_shared<SqlStore>(d->config);
        d->store = existing;
    }
    return existing;
}

} // namespace Warden
