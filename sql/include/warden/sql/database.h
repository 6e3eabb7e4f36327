#pragma once

#include <warden/result.h>
#include <warden/sql/databaseoptions.h>
#include <warden/sql/databaseurl.h>
#include <warden/sql/global.h>
// Complete types, so that lockManager() and store() convert to the Host's LockManager and Store.
#include <warden/sql/sqllockmanager.h>
#include <warden/sql/sqlstore.h>

#include <memory>

namespace Warden {

struct SqlConfig;

/*!
    The entry point of Warden::Sql: opens a database by URL, applies the schema migrations,
    and hands out the LockManager and the Store that share its configuration.

    \code
    auto db = Warden::Database::open(QStringLiteral("sqlite:///var/lib/warden/warden.db"));
    if (!db)
        qFatal("%s", qPrintable(db.errorString()));
    host.setLockManager(db.value().lockManager());
    host.setStore(db.value().store());
    \endcode

    open() blocks (it connects and migrates, in a short-lived thread of its own so that no
    connection stays behind in the caller's thread): call it at start-up or from a thread
    that may wait, never from a GUI thread. Migrations run under a migration lock, so nodes
    that start together all come up; a database written by a newer Warden is refused.
*/
class WARDEN_SQL_EXPORT Database
{
public:
    static Result<Database> open(const QString &url, const DatabaseOptions &options = {});

    //! The schema version this library writes.
    static int schemaVersion();

    const DatabaseUrl &url() const;
    const DatabaseOptions &options() const;
    //! Created on first use, then shared.
    std::shared_ptr<SqlLockManager> lockManager() const;
    //! Created on first use, then shared.
    std::shared_ptr<SqlStore> store() const;

private:
    struct Private;
    std::shared_ptr<Private> d;
};

} // namespace Warden
