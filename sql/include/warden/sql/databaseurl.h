#pragma once

#include <warden/result.h>
#include <warden/sql/global.h>

#include <QtCore/QMap>
#include <QtCore/QString>

namespace Warden {

/*!
    A parsed database URL: the one string that selects Warden's SQL backend.

    SQLite (one file shared by the processes of one machine):
    \list
    \li \c{sqlite:///var/lib/warden/warden.db}  absolute path (three slashes)
    \li \c{sqlite:/var/lib/warden/warden.db}    absolute path (one slash)
    \li \c{sqlite://./var/warden.db}            relative to the working directory
    \li \c{sqlite:warden.db}                    relative to the working directory
    \endlist
    Query items: \c{busy_timeout} (milliseconds). In-memory databases are refused: every
    thread has its own connection, and they would not share one.

    PostgreSQL (the cluster backend):
    \c{postgresql://user@host:5432/dbname?connect_timeout=5&sslmode=prefer}
    (\c{postgres://} too; the port defaults to 5432, an IPv6 host goes in brackets). Query
    items: \c{connect_timeout} (seconds), \c{sslmode}, \c{sslrootcert}, \c{sslcert},
    \c{sslkey}, \c{application_name}, \c{target_session_attrs}, \c{passfile},
    \c{statement_timeout} (milliseconds) and \c{schema} (Warden's tables go into this schema
    instead of the role's default; created when missing).

    A password should not sit in the URL: give it through DatabaseOptions (an environment
    variable or a file) or libpq's own PGPASSWORD / PGPASSFILE / ~/.pgpass. If a URL carries
    one anyway it is accepted, but toDisplayString() masks it and nothing logs it.
*/
class WARDEN_SQL_EXPORT DatabaseUrl
{
public:
    enum class Backend { SQLite, PostgreSQL };

    DatabaseUrl() = default;

    //! Parses \a url; the error names the part that is wrong.
    static Result<DatabaseUrl> parse(const QString &url);

    Backend backend() const { return m_backend; }
    bool isSqlite() const { return m_backend == Backend::SQLite; }
    bool isPostgreSql() const { return m_backend == Backend::PostgreSQL; }

    //! SQLite: the file path as given (relative paths resolve against the working directory).
    QString filePath() const { return m_path; }
    QString hostName() const { return m_host; }
    int port() const { return m_port; }
    QString databaseName() const { return m_database; }
    QString userName() const { return m_user; }
    //! The password written into the URL, if any (discouraged).
    QString password() const { return m_password; }
    //! PostgreSQL: the schema that holds Warden's tables; "public" by default.
    QString schema() const { return m_schema.isEmpty() ? QStringLiteral("public") : m_schema; }
    //! The query items, except \c schema and \c statement_timeout / \c busy_timeout.
    QMap<QString, QString> parameters() const { return m_parameters; }
    //! Milliseconds from the URL, or -1.
    int statementTimeoutMs() const { return m_statementTimeoutMs; }
    int busyTimeoutMs() const { return m_busyTimeoutMs; }

    //! The URL with its password masked (\c{****}): safe to print and log.
    QString toDisplayString() const;

private:
    Backend m_backend = Backend::SQLite;
    QString m_path;
    QString m_host;
    int m_port = 5432;
    QString m_database;
    QString m_user;
    QString m_password;
    QString m_schema;
    QMap<QString, QString> m_parameters;
    int m_statementTimeoutMs = -1;
    int m_busyTimeoutMs = -1;
};

} // namespace Warden
