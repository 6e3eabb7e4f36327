#include "connection_p.h"

#include <warden/records.h>

#include <QtCore/QDir>
#include <QtCore/QFile>
#include <QtCore/QFileInfo>
#include <QtCore/QLoggingCategory>
#include <QtCore/QThread>
#include <QtCore/QThreadStorage>

#include <atomic>
#include <thread>

Q_LOGGING_CATEGORY(lcSql, "warden.sql")

namespace Warden {

using namespace std::chrono;

namespace {

std::atomic<quint64> nextConfigId{1};
std::atomic<quint64> nextConnectionId{1};

//! The calling thread's sessions; destroyed (closing every connection) when the thread ends.
struct ThreadRegistry
{
    std::map<quint64, std::unique_ptr<SqlSession>> sessions;
    ~ThreadRegistry() { sessions.clear(); }
};

ThreadRegistry &registry()
{
    // QThreadStorage, not thread_local: a QThread's storage is destroyed inside the thread's
    // own finish, before QThread::wait() returns. A thread_local is destroyed after that, so
    // a waited-for thread could still be removing its connections while the process exits
    // and tears down QtSql's connection list (a crash at shutdown, seen in the cluster test).
    static QThreadStorage<ThreadRegistry *> storage;
    if (!storage.hasLocalData())
        storage.setLocalData(new ThreadRegistry);
    return *storage.localData();
}

} // namespace

QString describe(const QSqlError &error)
{
    QString text = error.databaseText().trimmed();
    const QString driver = error.driverText().trimmed();
    if (text.isEmpty())
        text = driver;
    else if (!driver.isEmpty() && !text.contains(driver))
        text = driver + QStringLiteral(": ") + text;
    if (!error.nativeErrorCode().isEmpty() && !text.contains(error.nativeErrorCode()))
        text += QStringLiteral(" (%1)").arg(error.nativeErrorCode());
    return text.isEmpty() ? QStringLiteral("unknown database error") : text;
}

int SqlConfig::statementTimeoutMs() const
{
    return url.statementTimeoutMs() >= 0 ? url.statementTimeoutMs()
                                         : int(options.statementTimeout.count());
}

int SqlConfig::busyTimeoutMs() const
{
    return url.busyTimeoutMs() >= 0 ? url.busyTimeoutMs() : int(options.busyTimeout.count());
}

Result<std::shared_ptr<SqlConfig>> SqlConfig::make(const QString &text,
                                                   const DatabaseOptions &options)
{
    using R = Result<std::shared_ptr<SqlConfig>>;
    auto parsed = DatabaseUrl::parse(text);
    if (!parsed)
        return R::failure(parsed.errorString());
    auto config = std::make_shared<SqlConfig>();
    config->url = parsed.value();
    config->options = options;
    config->id = nextConfigId++;
    if (config->isPostgres()) {
        if (!config->url.password().isEmpty()) {
            config->password = config->url.password();
        } else if (!options.passwordEnvironmentVariable.isEmpty() &&
                   qEnvironmentVariableIsSet(qPrintable(options.passwordEnvironmentVariable))) {
            config->password =
                qEnvironmentVariable(qPrintable(options.passwordEnvironmentVariable));
        } else if (!options.passwordFile.isEmpty()) {
            QFile file(options.passwordFile);
            if (!file.open(QIODevice::ReadOnly))
                return R::failure(QStringLiteral("cannot read the password file %1: %2")
                                      .arg(options.passwordFile, file.errorString()));
            config->password = QString::fromUtf8(file.readLine()).trimmed();
        }
        if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QPSQL")))
            return R::failure(QStringLiteral("the Qt PostgreSQL driver (QPSQL) is not installed "
                                             "(Debian: libqt6sql6-psql)"));
    } else if (!QSqlDatabase::isDriverAvailable(QStringLiteral("QSQLITE"))) {
        return R::failure(QStringLiteral("the Qt SQLite driver (QSQLITE) is not installed "
                                         "(Debian: libqt6sql6-sqlite)"));
    }
    return R(std::move(config));
}

SqlSession::SqlSession(std::shared_ptr<const SqlConfig> config, QString name)
    : m_config(std::move(config))
    , m_name(std::move(name))
{
    m_db = QSqlDatabase::addDatabase(
        m_config->isPostgres() ? QStringLiteral("QPSQL") : QStringLiteral("QSQLITE"), m_name);
}

SqlSession::~SqlSession()
{
    close();
    m_db = QSqlDatabase();
    QSqlDatabase::removeDatabase(m_name);
}

void SqlSession::close()
{
    m_statements.clear();
    m_inTransaction = false;
    if (m_db.isOpen())
        m_db.close();
}

SqlSession *SqlSession::current(const SqlConfig &config, QString *error)
{
    auto &sessions = registry().sessions;
    auto it = sessions.find(config.id);
    if (it == sessions.end()) {
        // The session keeps the configuration alive as long as its thread has it.
        auto shared = std::shared_ptr<const SqlConfig>(std::make_shared<SqlConfig>(config));
        const QString name = QStringLiteral("warden-%1-%2").arg(config.id).arg(nextConnectionId++);
        it = sessions.emplace(config.id, std::make_unique<SqlSession>(shared, name)).first;
    }
    SqlSession *session = it->second.get();
    if (session->m_db.isOpen())
        return session;
    const auto now = steady_clock::now();
    if (now < session->m_retryAt) {
        if (error)
            *error = QStringLiteral("database unreachable, retrying in %1 ms: %2")
                         .arg(duration_cast<milliseconds>(session->m_retryAt - now).count())
                         .arg(session->m_lastError);
        return nullptr;
    }
    QString openError;
    if (!session->open(&openError)) {
        session->close();
        session->m_backoff = session->m_backoff.count() == 0
                                 ? milliseconds(100)
                                 : std::min(session->m_backoff * 2, milliseconds(2000));
        session->m_retryAt = steady_clock::now() + session->m_backoff;
        session->m_lastError = openError;
        if (error)
            *error = openError;
        return nullptr;
    }
    session->m_backoff = milliseconds(0);
    return session;
}

void SqlSession::drop(const SqlConfig &config)
{
    registry().sessions.erase(config.id);
}

bool SqlSession::finishNewFile(QString *error)
{
    if (!m_isNewFile)
        return true;
    m_isNewFile = false;
    QSqlQuery q(m_db);
    // TRUNCATE: the WAL is synced, copied into the database file, which is synced, and
    // emptied, so that closing the last connection finds nothing left to do.
    if (!q.exec(QStringLiteral("PRAGMA synchronous=NORMAL")) ||
        !q.exec(QStringLiteral("PRAGMA wal_checkpoint(TRUNCATE)"))) {
        if (error)
            *error = describe(q.lastError());
        return false;
    }
    return true;
}

bool SqlSession::open(QString *error)
{
    const SqlConfig &c = *m_config;
    if (!c.isPostgres()) {
        const QString path = c.url.filePath();
        QFileInfo info(path);
        if (!info.absoluteDir().exists() && !QDir().mkpath(info.absolutePath())) {
            *error = QStringLiteral("cannot create the folder of %1").arg(path);
            return false;
        }
        // A new, empty file holds nothing that a crash could lose: it is set up (WAL header,
        // schema) without an fdatasync per step (eight of them, 1-5 ms each on a VM disk,
        // were most of a first start), then made durable at once by finishNewFile().
        m_isNewFile = !info.exists() || info.size() == 0;
        m_db.setDatabaseName(path);
        m_db.setConnectOptions(QStringLiteral("QSQLITE_BUSY_TIMEOUT=%1").arg(c.busyTimeoutMs()));
        if (!m_db.open()) {
            *error = QStringLiteral("cannot open %1: %2").arg(path, describe(m_db.lastError()));
            return false;
        }
        if (m_isNewFile) {
            QSqlQuery q(m_db);
            if (!q.exec(QStringLiteral("PRAGMA synchronous=OFF")))
                m_isNewFile = false;
        }
        // WAL lets readers and one writer of several processes share the file. Switching
        // needs a moment without other writers; it is a no-op once the file is in WAL mode.
        const auto deadline = steady_clock::now() + milliseconds(std::max(c.busyTimeoutMs(), 1000));
        for (;;) {
            QSqlQuery q(m_db);
            if (q.exec(QStringLiteral("PRAGMA journal_mode=WAL")) && q.next() &&
                q.value(0).toString().compare(QLatin1String("wal"), Qt::CaseInsensitive) == 0)
                break;
            if (steady_clock::now() >= deadline) {
                *error = QStringLiteral("cannot switch %1 to WAL mode: %2")
                             .arg(path, describe(q.lastError()));
                return false;
            }
            std::this_thread::sleep_for(milliseconds(20));
        }
        if (m_isNewFile)
            return true;
        QSqlQuery q(m_db);
        if (!q.exec(QStringLiteral("PRAGMA synchronous=NORMAL"))) {
            *error = describe(q.lastError());
            return false;
        }
        return true;
    }

    m_db.setHostName(c.url.hostName());
    m_db.setPort(c.url.port());
    m_db.setDatabaseName(c.url.databaseName());
    m_db.setUserName(c.url.userName());
    if (!c.password.isEmpty())
        m_db.setPassword(c.password);
    QMap<QString, QString> params = c.url.parameters();
    if (!params.contains(QStringLiteral("connect_timeout")))
        params.insert(QStringLiteral("connect_timeout"),
                      QString::number(std::max<qint64>(2, c.options.connectTimeout.count())));
    if (!params.contains(QStringLiteral("application_name")) &&
        !c.options.applicationName.isEmpty())
        params.insert(QStringLiteral("application_name"), c.options.applicationName);
    // A dead peer must not hold a thread for ever: TCP keepalives and a user timeout.
    params.insert(QStringLiteral("keepalives"), QStringLiteral("1"));
    params.insert(QStringLiteral("keepalives_idle"), QStringLiteral("10"));
    params.insert(QStringLiteral("keepalives_interval"), QStringLiteral("5"));
    params.insert(QStringLiteral("keepalives_count"), QStringLiteral("3"));
    params.insert(QStringLiteral("tcp_user_timeout"),
                  QString::number(c.statementTimeoutMs() + 10000));
    QStringList options;
    for (auto it = params.cbegin(); it != params.cend(); ++it)
        options << it.key() + QLatin1Char('=') + it.value();
    m_db.setConnectOptions(options.join(QLatin1Char(';')));
    if (!m_db.open()) {
        *error = QStringLiteral("cannot connect to %1: %2")
                     .arg(c.url.toDisplayString(), describe(m_db.lastError()));
        return false;
    }
    QSqlQuery q(m_db);
    q.prepare(QStringLiteral("SELECT set_config('statement_timeout', :timeout, false), "
                             "set_config('TimeZone', 'UTC', false), "
                             "set_config('search_path', quote_ident(:schema), false)"));
    q.bindValue(QStringLiteral(":timeout"), QString::number(c.statementTimeoutMs()));
    q.bindValue(QStringLiteral(":schema"), c.url.schema());
    if (!q.exec()) {
        *error = QStringLiteral("cannot configure the connection to %1: %2")
                     .arg(c.url.toDisplayString(), describe(q.lastError()));
        return false;
    }
    return true;
}

QSqlQuery *SqlSession::prepared(int key, const QString &sql, QString *error)
{
    auto it = m_statements.find(key);
    if (it != m_statements.end())
        return it->second.get();
    auto query = std::make_unique<QSqlQuery>(m_db);
    query->setForwardOnly(true);
    if (!query->prepare(sql)) {
        if (error)
            *error = describe(query->lastError());
        failed(query->lastError());
        return nullptr;
    }
    return m_statements.emplace(key, std::move(query)).first->second.get();
}

bool SqlSession::exec(QSqlQuery &query, QString *error)
{
    if (query.exec())
        return true;
    const QSqlError e = query.lastError();
    m_lastSqlError = e;
    if (error)
        *error = describe(e);
    query.finish();
    failed(e);
    return false;
}

bool SqlSession::execDirect(const QString &sql, QString *error)
{
    QSqlQuery q(m_db);
    if (q.exec(sql))
        return true;
    if (error)
        *error = describe(q.lastError());
    const QSqlError e = q.lastError();
    m_lastSqlError = e;
    q = QSqlQuery();
    failed(e);
    return false;
}

void SqlSession::failed(const QSqlError &error)
{
    if (!m_config->isPostgres())
        return;
    // Keep the connection after an ordinary statement error (a constraint, a permission);
    // anything that may have broken the connection closes it, to be re-opened later.
    const QString code = error.nativeErrorCode();
    const bool ordinary = code.size() == 5 && !code.startsWith(QLatin1String("08")) &&
                          !code.startsWith(QLatin1String("57")) &&
                          !code.startsWith(QLatin1String("53")) &&
                          !code.startsWith(QLatin1String("XX"));
    if (ordinary && error.type() != QSqlError::ConnectionError) {
        if (m_inTransaction)
            rollback();
        return;
    }
    qCDebug(lcSql, "closing connection %s after: %s", qPrintable(m_name),
            qPrintable(describe(error)));
    close();
    m_backoff = milliseconds(0);
    m_retryAt = steady_clock::now();
}

bool SqlSession::begin(QString *error)
{
    if (!execDirect(isPostgres() ? QStringLiteral("BEGIN") : QStringLiteral("BEGIN IMMEDIATE"),
                    error))
        return false;
    m_inTransaction = true;
    return true;
}

bool SqlSession::commit(QString *error)
{
    m_inTransaction = false;
    if (execDirect(QStringLiteral("COMMIT"), error))
        return true;
    rollback();
    return false;
}

void SqlSession::rollback()
{
    if (!m_inTransaction)
        return;
    m_inTransaction = false;
    if (!m_db.isOpen())
        return;
    QSqlQuery q(m_db);
    q.exec(QStringLiteral("ROLLBACK"));
}

namespace SqlText {
QString nowMs(bool postgres)
{
    return postgres ? QStringLiteral(
                          "CAST(round(extract(epoch FROM clock_timestamp()) * 1000) AS bigint)")
                    : QStringLiteral(
                          "CAST(round((julianday('now') - 2440587.5) * 86400000.0) AS INTEGER)");
}
QString timeIn(bool postgres, const QString &placeholder)
{
    return postgres ? QStringLiteral("to_timestamp(CAST(%1 AS double precision) / 1000.0)")
                          .arg(placeholder)
                    : placeholder;
}
QString timeOut(bool postgres, const QString &column)
{
    return postgres
               ? QStringLiteral("CAST(round(extract(epoch FROM %1) * 1000) AS bigint)").arg(column)
               : column;
}
} // namespace SqlText

namespace RunRow {
QString upsertSql(bool pg)
{
    return QStringLiteral(
               "INSERT INTO warden_runs (run_id, worker, node, scheduled_at, started_at, "
               "finished_at, outcome, error, fencing_token, manual, run_trigger) VALUES (:run, "
               ":worker, :node, %1, %2, %3, :outcome, :error, :token, :manual, :trigger) "
               "ON CONFLICT (run_id) DO UPDATE SET started_at = excluded.started_at, "
               "finished_at = excluded.finished_at, outcome = excluded.outcome, "
               "error = excluded.error, fencing_token = excluded.fencing_token "
               "WHERE warden_runs.outcome IN ('running', 'lost')")
        .arg(SqlText::timeIn(pg, QStringLiteral(":scheduled")),
             SqlText::timeIn(pg, QStringLiteral(":started")),
             SqlText::timeIn(pg, QStringLiteral(":finished")));
}

void bind(QSqlQuery &q, const RunRecord &r)
{
    // A null QString would bind as SQL NULL.
    auto text = [](const QString &value) {
        return value.isNull() ? QVariant(QStringLiteral("")) : QVariant(value);
    };
    q.bindValue(QStringLiteral(":run"), text(r.runId));
    q.bindValue(QStringLiteral(":worker"), text(r.worker));
    q.bindValue(QStringLiteral(":node"), text(r.node));
    q.bindValue(QStringLiteral(":scheduled"), msParameter(r.scheduledAt));
    q.bindValue(QStringLiteral(":started"), msParameter(r.startedAt));
    q.bindValue(QStringLiteral(":finished"), msParameter(r.finishedAt));
    q.bindValue(QStringLiteral(":outcome"), toKeyword(r.outcome));
    q.bindValue(QStringLiteral(":error"), text(r.error));
    q.bindValue(QStringLiteral(":token"), r.fencingToken);
    q.bindValue(QStringLiteral(":manual"), r.isManual());
    q.bindValue(QStringLiteral(":trigger"), toKeyword(r.trigger));
}
} // namespace RunRow

} // namespace Warden
