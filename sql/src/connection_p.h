#pragma once

#include <warden/sql/databaseoptions.h>
#include <warden/sql/databaseurl.h>

#include <QtCore/QDateTime>
#include <QtCore/QVariant>
#include <QtSql/QSqlDatabase>
#include <QtSql/QSqlError>
#include <QtSql/QSqlQuery>

#include <chrono>
#include <map>
#include <memory>

namespace Warden {

/*!
    \internal
    What every connection of one Database shares: the URL, the options, the resolved
    password. Immutable once made.
*/
struct SqlConfig
{
    DatabaseUrl url;
    DatabaseOptions options;
    QString password; //!< never logged
    quint64 id = 0;

    bool isPostgres() const { return url.isPostgreSql(); }
    //! A NOTIFY channel for this database's schema.
    QString channel(const QString &what) const { return url.schema() + QLatin1Char('_') + what; }
    int statementTimeoutMs() const;
    int busyTimeoutMs() const;

    static Result<std::shared_ptr<SqlConfig>> make(const QString &url,
                                                   const DatabaseOptions &options);
};

/*!
    \internal
    The calling thread's connection to one database, with its prepared statements. Sessions
    live in a per-thread registry (QThreadStorage): the connection is opened on first use in a
   thread and closed and removed when that thread finishes (or on drop()). A connection that fails
   is closed on PostgreSQL and re-opened on a later call, no sooner than its back-off allows.
*/
class SqlSession final
{
public:
    //! The calling thread's open session for \a config, or nullptr with a message in \a error.
    static SqlSession *current(const SqlConfig &config, QString *error);
    //! Closes and removes the calling thread's session for \a config.
    static void drop(const SqlConfig &config);

    QSqlDatabase &database() { return m_db; }
    const SqlConfig &config() const { return *m_config; }
    bool isPostgres() const { return m_config->isPostgres(); }

    //! A prepared statement kept for the life of the connection.
    QSqlQuery *prepared(int key, const QString &sql, QString *error);
    //! Runs \a query (already bound); on failure fills \a error and reports the failure.
    bool exec(QSqlQuery &query, QString *error);
    //! Runs a statement without parameters (DDL, BEGIN, COMMIT).
    bool execDirect(const QString &sql, QString *error);
    //! Called on a failed statement: closes a PostgreSQL connection that may be broken.
    void failed(const QSqlError &error);
    //! The error of the last statement that failed through exec() or execDirect().
    QSqlError lastError() const { return m_lastSqlError; }
    bool begin(QString *error);
    bool commit(QString *error);
    void rollback();
    /*!
        SQLite: when this session created the database file, it was set up without syncing
        each step (see open()); this makes it durable with one checkpoint and returns the
        session to synchronous=NORMAL. A no-op otherwise. The schema migration calls it.
    */
    bool finishNewFile(QString *error);

    SqlSession(std::shared_ptr<const SqlConfig> config, QString name);
    ~SqlSession();

private:
    bool open(QString *error);
    void close();

    std::shared_ptr<const SqlConfig> m_config;
    QString m_name;
    QSqlDatabase m_db;
    std::map<int, std::unique_ptr<QSqlQuery>> m_statements;
    std::chrono::steady_clock::time_point m_retryAt{};
    std::chrono::milliseconds m_backoff{0};
    QString m_lastError;
    QSqlError m_lastSqlError;
    bool m_inTransaction = false;
    bool m_isNewFile = false;
};

namespace SqlText {
//! The database's clock in milliseconds since the epoch, as an SQL expression.
QString nowMs(bool postgres);
//! A bound milliseconds-since-epoch parameter as a stored time.
QString timeIn(bool postgres, const QString &placeholder);
//! A stored time column as milliseconds since the epoch.
QString timeOut(bool postgres, const QString &column);
} // namespace SqlText

inline QVariant msParameter(const QDateTime &time)
{
    return time.isValid() ? QVariant(qint64(time.toMSecsSinceEpoch()))
                          : QVariant(QMetaType::fromType<qint64>());
}
inline QDateTime msValue(const QVariant &value)
{
    return value.isNull() ? QDateTime()
                          : QDateTime::fromMSecsSinceEpoch(value.toLongLong(), Qt::UTC);
}
QString describe(const QSqlError &error);

struct RunRecord;
/*!
    \internal
    The run ledger's one write: a run's row, inserted at its start and completed at its end
    (a row closed as lost by another node gets its true end when the run finishes after
    all). The store's writer and the lock manager (a start row in the acquire's transaction)
    both use it.
*/
namespace RunRow {
QString upsertSql(bool postgres);
void bind(QSqlQuery &query, const RunRecord &run);
} // namespace RunRow

} // namespace Warden
