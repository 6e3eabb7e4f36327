#pragma once

#include <warden/sql/global.h>
#include <warden/workertyperegistry.h>

namespace Warden {

/*!
    The \c sql worker type: statements run in one transaction against a named application
    connection (a \c [connections.NAME] table of the config), through
    SqlConnections::forCurrentThread(). Each statement's rows affected are logged; an error
    rolls the transaction back and fails the run.

    \code
    [connections.app]
    url = "postgresql://app@db.example.org/app"

    [workers.mark-users-passive]
    type = "sql"
    every = "10m"
    lock = true
    connection = "app"
    statements = ["UPDATE users SET passive = true WHERE last_login < now() - interval '30 days'"]
    \endcode
*/
WARDEN_SQL_EXPORT WorkerTypeRegistry::Type sqlWorkerType();

//! Every worker type Warden ships: \c command, \c plugin and \c sql.
WARDEN_SQL_EXPORT WorkerTypeRegistry allWorkerTypes();

} // namespace Warden
