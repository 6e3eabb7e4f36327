#pragma once

#include <warden/sql/global.h>

#include <QtCore/QString>

#include <chrono>

namespace Warden {

/*!
    How long run records and log lines stay in the database. The store's writer enforces it
    in the background every \a interval; zero for an age or a count means "no limit".
*/
struct WARDEN_SQL_EXPORT RetentionPolicy
{
    std::chrono::milliseconds maximumRunAge = std::chrono::hours(24 * 30);
    qint64 maximumRuns = 1000000;
    std::chrono::milliseconds maximumLogAge = std::chrono::hours(24 * 7);
    qint64 maximumLogLines = 1000000;
    std::chrono::milliseconds interval = std::chrono::minutes(5);
};

//! What Database::open() needs besides the URL.
struct WARDEN_SQL_EXPORT DatabaseOptions
{
    //! PostgreSQL statement_timeout, unless the URL sets one.
    std::chrono::milliseconds statementTimeout = std::chrono::seconds(10);
    //! SQLite busy timeout, unless the URL sets one.
    std::chrono::milliseconds busyTimeout = std::chrono::seconds(5);
    //! PostgreSQL connect_timeout, unless the URL sets one (libpq counts whole seconds, >= 2).
    std::chrono::seconds connectTimeout = std::chrono::seconds(5);
    /*!
        Where the PostgreSQL password comes from, first match wins: the URL (discouraged),
        this environment variable, this file (first line), then libpq's own PGPASSWORD,
        PGPASSFILE and ~/.pgpass.
    */
    QString passwordEnvironmentVariable = QStringLiteral("WARDEN_DB_PASSWORD");
    QString passwordFile;
    //! Apply pending schema migrations at open(); when false, open() requires the current schema.
    bool isMigrating = true;

    RetentionPolicy retention;
    //! Run records kept in memory while the database cannot take them; beyond that they drop.
    int maximumQueuedRuns = 100000;
    //! Log lines kept in memory while the database cannot take them; beyond that they drop.
    int maximumQueuedLogLines = 20000;
    //! How long the writer gathers writes into one transaction.
    std::chrono::milliseconds writeDelay = std::chrono::milliseconds(50);
    QString applicationName = QStringLiteral("warden");
};

} // namespace Warden
