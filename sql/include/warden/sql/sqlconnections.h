#pragma once

#include <warden/sql/global.h>

#include <QtSql/QSqlDatabase>

namespace Warden {

/*!
    Per-thread connections for worker code (the \c sql worker type, a RunContext user): a
    QSqlDatabase may only be used in the thread that opened it, and Qt 6.4 cannot move one.

    forCurrentThread() returns the calling thread's open connection for \a url, opening it on
    first use (a named connection of its own). It is closed and removed when the thread
    finishes (run-pool threads expire after 60 s idle). A connection found broken is
    re-opened, with back-off, on a later call. The URL forms are those of DatabaseUrl; the
    password sources and timeouts are DatabaseOptions' defaults.

    \code
    QString error;
    QSqlDatabase db = Warden::SqlConnections::forCurrentThread(url, &error);
    if (!db.isOpen()) { context.fail(error); return; }
    QSqlQuery query(db);
    \endcode
*/
class WARDEN_SQL_EXPORT SqlConnections final
{
public:
    static QSqlDatabase forCurrentThread(const QString &url, QString *error = nullptr);
    //! Closes and removes the calling thread's connection for \a url, if any.
    static void releaseForCurrentThread(const QString &url);

private:
    SqlConnections() = delete;
};

} // namespace Warden
