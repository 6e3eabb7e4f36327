#include <warden/sql/sqllockmanager.h>

#include <warden/sql/sqlstore.h>

#include "connection_p.h"
#include "listener_p.h"

namespace Warden {

using namespace std::chrono;

namespace {

enum StatementKey {
    AcquireKey = 100,
    CurrentKey,
    RenewKey,
    ReleaseKey,
    ForceReleaseKey,
    LeasesKey,
    RunRowKey,
    TickRunKey,
};

QString leaseColumns(bool pg, const QString &alias = QString())
{
    const QString p = alias.isEmpty() ? QString() : alias + QLatin1Char('.');
    return QStringLiteral("%1name, %1holder, %1token, %2, %3, %4")
        .arg(p, SqlText::timeOut(pg, p + QStringLiteral("acquired_at")),
             SqlText::timeOut(pg, p + QStringLiteral("renewed_at")),
             SqlText::timeOut(pg, p + QStringLiteral("expires_at")));
}

Lease leaseFrom(const QSqlQuery &q, int first)
{
    Lease lease;
    lease.name = q.value(first).toString();
    lease.holder = q.value(first + 1).toString();
    lease.fencingToken = q.value(first + 2).toLongLong();
    lease.acquiredAt = msValue(q.value(first + 3));
    lease.renewedAt = msValue(q.value(first + 4));
    lease.expiresAt = msValue(q.value(first + 5));
    return lease;
}

/*
    The statements. Each is judged on the database's clock and takes no time from the caller.

    Acquire is an upsert that takes the row only when its lease has expired (a released
    lease expired when it was released) and then adds one to the token. On PostgreSQL the
    same statement also returns the current holder when the lease is busy.
*/
QString acquireSql(bool pg)
{
    if (pg) {
        return QStringLiteral(
                   "WITH t AS (SELECT clock_timestamp() AS now_), "
                   "up AS (INSERT INTO warden_leases AS l "
                   "(name, holder, token, acquired_at, renewed_at, expires_at) "
                   "SELECT :name, :holder, 1, t.now_, t.now_, "
                   "t.now_ + make_interval(secs => CAST(:ttl AS double precision) / 1000.0) FROM t "
                   "ON CONFLICT (name) DO UPDATE SET holder = EXCLUDED.holder, "
                   "token = l.token + 1, acquired_at = EXCLUDED.acquired_at, "
                   "renewed_at = EXCLUDED.renewed_at, expires_at = EXCLUDED.expires_at "
                   "WHERE l.expires_at <= EXCLUDED.acquired_at "
                   "RETURNING l.*) "
                   "SELECT true, %1 FROM up "
                   "UNION ALL "
                   "SELECT false, %2 FROM warden_leases c WHERE c.name = :current "
                   "AND NOT EXISTS (SELECT 1 FROM up)")
            .arg(leaseColumns(true, QStringLiteral("up")), leaseColumns(true, QStringLiteral("c")));
    }
    // SQLite: 'now' is the same everywhere in one statement.
    return QStringLiteral("INSERT INTO warden_leases "
                          "(name, holder, token, acquired_at, renewed_at, expires_at) "
                          "SELECT :name, :holder, 1, t.now_, t.now_, t.now_ + :ttl "
                          "FROM (SELECT %1 AS now_) AS t WHERE true "
                          "ON CONFLICT (name) DO UPDATE SET holder = excluded.holder, "
                          "token = warden_leases.token + 1, acquired_at = excluded.acquired_at, "
                          "renewed_at = excluded.renewed_at, expires_at = excluded.expires_at "
                          "WHERE warden_leases.expires_at <= excluded.acquired_at "
                          "RETURNING 1, %2")
        .arg(SqlText::nowMs(false), leaseColumns(false));
}

QString renewSql(bool pg)
{
    if (pg) {
        return QStringLiteral(
                   "WITH t AS (SELECT clock_timestamp() AS now_) "
                   "UPDATE warden_leases l SET renewed_at = t.now_, "
                   "expires_at = t.now_ + make_interval(secs => CAST(:ttl AS double precision) / "
                   "1000.0) "
                   "FROM t WHERE l.name = :name AND l.holder = :holder AND l.token = :token "
                   "AND l.expires_at > t.now_ RETURNING %1")
            .arg(leaseColumns(true, QStringLiteral("l")));
    }
    return QStringLiteral("UPDATE warden_leases SET renewed_at = %1, expires_at = %1 + :ttl "
                          "WHERE name = :name AND holder = :holder AND token = :token "
                          "AND expires_at > %1 RETURNING %2")
        .arg(SqlText::nowMs(false), leaseColumns(false));
}

QString releaseSql(bool pg, bool force)
{
    const QString now = pg ? QStringLiteral("clock_timestamp()") : SqlText::nowMs(false);
    QString sql =
        QStringLiteral("UPDATE warden_leases SET holder = '', "
                       "expires_at = CASE WHEN expires_at < %1 THEN expires_at ELSE %1 END "
                       "WHERE name = :name")
            .arg(now);
    if (!force)
        sql += QStringLiteral(" AND holder = :holder AND token = :token");
    return sql;
}

} // namespace

struct SqlLockManager::Private
{
    std::shared_ptr<const SqlConfig> config;
    std::unique_ptr<NotificationListener> listener;

    SqlSession *session(QString *error) { return SqlSession::current(*config, error); }
};

SqlLockManager::SqlLockManager(std::shared_ptr<const SqlConfig> config, QObject *parent)
    : LockManager(parent)
    , d(std::make_unique<Private>())
{
    d->config = std::move(config);
    if (d->config->isPostgres()) {
        const QString channel = d->config->channel(QStringLiteral("warden_released"));
        d->listener = std::make_unique<NotificationListener>(
            d->config, QStringList{channel},
            [this](const QString &, const QString &name) { Q_EMIT released(name); }, nullptr);
        d->listener->start(QStringLiteral("warden-lease-listener"));
    }
}

SqlLockManager::~SqlLockManager()
{
    if (d->listener)
        d->listener->stop();
}

bool SqlLockManager::isReleaseNotified() const
{
    return d->config->isPostgres();
}

bool SqlLockManager::isValidName(const QString &name, QString *error)
{
    QString why;
    if (name.isEmpty())
        why = QStringLiteral("is empty");
    else if (name.size() > 200)
        why = QStringLiteral("is longer than 200 characters");
    else {
        for (const QChar c : name) {
            if (c.category() == QChar::Other_Control) {
                why = QStringLiteral("contains a control or invalid character");
                break;
            }
        }
    }
    if (why.isEmpty())
        return true;
    if (error)
        *error = QStringLiteral("name \"%1\" %2").arg(name.left(40), why);
    return false;
}

namespace {

LockManager::Attempt acquireOnce(SqlSession *session, const QString &name, const QString &holder,
                                 milliseconds ttl)
{
    using Status = LockManager::Status;
    LockManager::Attempt attempt;
    const bool pg = session->isPostgres();
    QSqlQuery *q = session->prepared(AcquireKey, acquireSql(pg), &attempt.error);
    if (!q)
        return attempt;
    q->bindValue(QStringLiteral(":name"), name);
    q->bindValue(QStringLiteral(":holder"), holder);
    q->bindValue(QStringLiteral(":ttl"), qint64(ttl.count()));
    if (pg)
        q->bindValue(QStringLiteral(":current"), name);
    if (!session->exec(*q, &attempt.error))
        return attempt;
    if (q->next()) {
        attempt.status = q->value(0).toBool() ? Status::Acquired : Status::Busy;
        attempt.lease = leaseFrom(*q, 1);
        q->finish();
        return attempt;
    }
    q->finish(); // SQLite: ends the statement and so its implicit transaction
    // Busy. The decision is made; read who holds it, for the caller's messages. (PostgreSQL
    // lands here when the row was created by a concurrent acquire that the statement's
    // snapshot cannot see.)
    attempt.status = Status::Busy;
    QString ignored;
    if (QSqlQuery *c = session->prepared(
            CurrentKey,
            QStringLiteral("SELECT %1 FROM warden_leases WHERE name = :name").arg(leaseColumns(pg)),
            &ignored)) {
        c->bindValue(QStringLiteral(":name"), name);
        if (c->exec() && c->next())
            attempt.lease = leaseFrom(*c, 0);
        c->finish();
    }
    return attempt;
}

LockManager::Attempt renewOnce(SqlSession *session, const Lease &lease, milliseconds ttl)
{
    using Status = LockManager::Status;
    LockManager::Attempt attempt;
    QSqlQuery *q = session->prepared(RenewKey, renewSql(session->isPostgres()), &attempt.error);
    if (!q)
        return attempt;
    q->bindValue(QStringLiteral(":ttl"), qint64(ttl.count()));
    q->bindValue(QStringLiteral(":name"), lease.name);
    q->bindValue(QStringLiteral(":holder"), lease.holder);
    q->bindValue(QStringLiteral(":token"), lease.fencingToken);
    if (!session->exec(*q, &attempt.error))
        return attempt;
    if (q->next()) {
        attempt.status = Status::Acquired;
        attempt.lease = leaseFrom(*q, 0);
    } else {
        attempt.status = Status::Lost;
    }
    q->finish();
    return attempt;
}

} // namespace

LockManager::Attempt SqlLockManager::tryAcquire(const QString &name, const QString &holder,
                                                milliseconds ttl)
{
    return acquire(name, holder, ttl, nullptr, Tick::any());
}

LockManager::Attempt SqlLockManager::tryAcquireForRun(const QString &name, const QString &holder,
                                                      milliseconds ttl, const RunRecord &run,
                                                      Tick tick)
{
    return acquire(name, holder, ttl, &run, tick);
}

bool SqlLockManager::recordsRunsOf(const Store *store) const
{
    const auto *sql = qobject_cast<const SqlStore *>(store);
    return sql && sql->databaseId() == d->config->id;
}

quint64 SqlLockManager::databaseId() const
{
    return d->config->id;
}

namespace {

/*!
    Runs \a statement, inside a transaction with the start row of \a run when there is one:
    the row is written (with the lease's token) only when \a statement granted the lease, and
    the lease stays granted only when the row was written.
*/
template<typename Statement>
LockManager::Attempt withRunRow(SqlSession *session, const RunRecord *run, LockManager::Tick tick,
                                Statement statement)
{
    if (!run)
        return statement();
    LockManager::Attempt failed;
    if (!session->begin(&failed.error))
        return failed;
    LockManager::Attempt attempt = statement();
    if (attempt.status != LockManager::Status::Acquired) {
        session->rollback();
        return attempt;
    }
    // Each tick of a worker's schedule once in the cluster: a node whose tick comes late
    // (a slow or frozen process, a clock behind) finds it run and takes nothing.
    if (tick.isChecked() && run->trigger != RunTrigger::RunNow && run->scheduledAt.isValid()) {
        const bool pg = session->isPostgres();
        QSqlQuery *check = session->prepared(
            TickRunKey,
            QStringLiteral("SELECT run_id, node FROM warden_runs WHERE worker = :worker AND "
                           "scheduled_at >= %1 AND run_trigger <> 'run-now' AND outcome <> "
                           "'missed' AND run_id <> :run LIMIT 1")
                .arg(SqlText::timeIn(pg, QStringLiteral(":tick"))),
            &failed.error);
        if (!check) {
            session->rollback();
            return failed;
        }
        check->bindValue(QStringLiteral(":worker"), run->worker);
        check->bindValue(QStringLiteral(":tick"),
                         msParameter(run->scheduledAt.addMSecs(-tick.windowMs)));
        check->bindValue(QStringLiteral(":run"), run->runId);
        if (!session->exec(*check, &failed.error)) {
            session->rollback();
            return failed;
        }
        if (check->next()) {
            LockManager::Attempt ran;
            ran.status = LockManager::Status::Busy;
            ran.tickRanElsewhere = true;
            ran.lease = attempt.lease;
            ran.lease.holder = check->value(1).toString();
            ran.error = QStringLiteral("the tick of %1 ran on %2 (run %3)")
                            .arg(run->scheduledAt.toString(Qt::ISODateWithMs),
                                 check->value(1).toString(), check->value(0).toString());
            check->finish();
            session->rollback();
            return ran;
        }
        check->finish();
    }
    RunRecord row = *run;
    row.fencingToken = attempt.lease.fencingToken;
    row.outcome = RunOutcome::Running;
    QSqlQuery *q =
        session->prepared(RunRowKey, RunRow::upsertSql(session->isPostgres()), &failed.error);
    if (!q || !(RunRow::bind(*q, row), session->exec(*q, &failed.error))) {
        session->rollback();
        failed.error = QStringLiteral("cannot record the run's start: %1").arg(failed.error);
        return failed;
    }
    q->finish();
    if (!session->commit(&failed.error))
        return failed;
    attempt.runRecorded = true;
    return attempt;
}

} // namespace

LockManager::Attempt SqlLockManager::acquire(const QString &name, const QString &holder,
                                             milliseconds ttl, const RunRecord *run, Tick tick)
{
    Attempt attempt;
    if (!isValidName(name, &attempt.error) || !isValidName(holder, &attempt.error))
        return attempt;
    if (ttl.count() <= 0) {
        attempt.error = QStringLiteral("tryAcquire: the time-to-live must be positive");
        return attempt;
    }
    SqlSession *session = d->session(&attempt.error);
    if (!session)
        return attempt;
    return withRunRow(session, run, tick, [&] { return acquireOnce(session, name, holder, ttl); });
}

LockManager::Attempt SqlLockManager::renew(const Lease &lease, milliseconds ttl)
{
    return extend(lease, ttl, nullptr, Tick::any());
}

LockManager::Attempt SqlLockManager::renewForRun(const Lease &lease, milliseconds ttl,
                                                 const RunRecord &run, Tick tick)
{
    return extend(lease, ttl, &run, tick);
}

LockManager::Attempt SqlLockManager::extend(const Lease &lease, milliseconds ttl,
                                            const RunRecord *run, Tick tick)
{
    Attempt attempt;
    if (!isValidName(lease.name, &attempt.error) || !isValidName(lease.holder, &attempt.error))
        return attempt;
    if (ttl.count() <= 0) {
        attempt.error = QStringLiteral("renew: the time-to-live must be positive");
        return attempt;
    }
    SqlSession *session = d->session(&attempt.error);
    if (!session)
        return attempt;
    return withRunRow(session, run, tick, [&] { return renewOnce(session, lease, ttl); });
}

bool SqlLockManager::release(const Lease &lease, QString *error)
{
    QString message;
    if (!isValidName(lease.name, &message) || !isValidName(lease.holder, &message)) {
        if (error)
            *error = message;
        return false;
    }
    SqlSession *session = d->session(&message);
    QSqlQuery *q =
        session ? session->prepared(ReleaseKey, releaseSql(session->isPostgres(), false), &message)
                : nullptr;
    if (q) {
        q->bindValue(QStringLiteral(":name"), lease.name);
        q->bindValue(QStringLiteral(":holder"), lease.holder);
        q->bindValue(QStringLiteral(":token"), lease.fencingToken);
        if (session->exec(*q, &message)) {
            const bool changed = q->numRowsAffected() > 0;
            q->finish();
            // PostgreSQL: the trigger's NOTIFY reaches every node, this one included.
            if (changed && !session->isPostgres())
                Q_EMIT released(lease.name);
            return true;
        }
    }
    if (error)
        *error = message;
    return false;
}

bool SqlLockManager::forceRelease(const QString &name, QString *error)
{
    QString message;
    if (!isValidName(name, &message)) {
        if (error)
            *error = message;
        return false;
    }
    SqlSession *session = d->session(&message);
    QSqlQuery *q = session ? session->prepared(ForceReleaseKey,
                                               releaseSql(session->isPostgres(), true), &message)
                           : nullptr;
    if (q) {
        q->bindValue(QStringLiteral(":name"), name);
        if (session->exec(*q, &message)) {
            const bool changed = q->numRowsAffected() > 0;
            q->finish();
            if (!changed) {
                if (error)
                    *error = QStringLiteral("no lock named \"%1\"").arg(name);
                return false;
            }
            if (!session->isPostgres())
                Q_EMIT released(name);
            return true;
        }
    }
    if (error)
        *error = message;
    return false;
}

Result<QList<Lease>> SqlLockManager::leases()
{
    using R = Result<QList<Lease>>;
    QString error;
    SqlSession *session = d->session(&error);
    if (!session)
        return R::failure(error);
    QSqlQuery *q = session->prepared(LeasesKey,
                                     QStringLiteral("SELECT %1 FROM warden_leases ORDER BY name")
                                         .arg(leaseColumns(session->isPostgres())),
                                     &error);
    if (!q || !session->exec(*q, &error))
        return R::failure(error);
    QList<Lease> out;
    while (q->next())
        out.append(leaseFrom(*q, 0));
    q->finish();
    return out;
}

} // namespace Warden
