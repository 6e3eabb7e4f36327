#pragma once

#include <warden/result.h>

#include <QtCore/QString>

namespace Warden {

struct SqlConfig;

namespace Migrations {
//! The schema version this library writes.
int latestVersion();
/*!
    Brings the database of \a config to the latest version under the migration lock
    (PostgreSQL: an advisory lock; SQLite: BEGIN IMMEDIATE), or only checks it when the
    options say not to migrate. Refuses a database written by a newer Warden. Returns the
    version found before.
*/
Result<int> apply(const SqlConfig &config);
} // namespace Migrations

} // namespace Warden
