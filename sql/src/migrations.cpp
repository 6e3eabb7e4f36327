#include "migrations_p.h"

#include "connection_p.h"

#include <warden/global.h>

#include <QtCore/QStringList>

namespace Warden {
namespace Migrations {

namespace {

// Each step is a list of statements. Steps are never edited once released: a change is a
// new step. SQLite stores times as integer milliseconds since the epoch; PostgreSQL as
// timestamptz.
QStringList step(int version, bool pg)
{
    const QString time = pg ? QStringLiteral("timestamptz") : QStringLiteral("INTEGER");
    const QString bigint = pg ? QStringLiteral("bigint") : QStringLiteral("INTEGER");
    const QString boolean = pg ? QStringLiteral("boolean") : QStringLiteral("INTEGER");
    const QString serial =
        pg ? QStringLiteral("bigserial PRIMARY KEY") : QStringLiteral("INTEGER PRIMARY KEY");
    const QString never = pg ? QStringLiteral("'-infinity'") : QStringLiteral("0");
    const QString yes = pg ? QStringLiteral("true") : QStringLiteral("1");
    const QString no = pg ? QStringLiteral("false") : QStringLiteral("0");
    switch (version) {
    case 1:
        return {
            // Leases: one row per lock name, never deleted, so tokens never repeat.
            QStringLiteral("CREATE TABLE warden_leases ("
                           " name TEXT PRIMARY KEY,"
                           " holder TEXT NOT NULL DEFAULT '',"
                           " token %1 NOT NULL DEFAULT 0,"
                           " acquired_at %2, renewed_at %2,"
                           " expires_at %2 NOT NULL DEFAULT %3)")
                .arg(bigint, time, never),
            QStringLiteral("CREATE TABLE warden_nodes ("
                           " id TEXT PRIMARY KEY,"
                           " host_name TEXT NOT NULL DEFAULT '',"
                           " pid %1 NOT NULL DEFAULT 0,"
                           " version TEXT NOT NULL DEFAULT '',"
                           " started_at %2, heartbeat_at %2,"
                           " clock_offset_ms %1 NOT NULL DEFAULT 0,"
                           " heartbeat_interval_ms INTEGER NOT NULL DEFAULT 0)")
                .arg(bigint, time),
            QStringLiteral(
                "CREATE TABLE warden_worker_status ("
                " worker TEXT NOT NULL, node TEXT NOT NULL,"
                " kind TEXT NOT NULL DEFAULT '', state TEXT NOT NULL DEFAULT '',"
                " enabled %3 NOT NULL DEFAULT %4, schedule TEXT NOT NULL DEFAULT '',"
                " lock_mode TEXT NOT NULL DEFAULT '', lock_name TEXT NOT NULL DEFAULT '',"
                " next_run_at %2, last_run_at %2,"
                " last_outcome TEXT NOT NULL DEFAULT '',"
                " last_duration_ms %1, last_lateness_ms %1,"
                " run_count %1 NOT NULL DEFAULT 0, failure_count %1 NOT NULL DEFAULT 0,"
                " skip_count %1 NOT NULL DEFAULT 0, misfire_count %1 NOT NULL DEFAULT 0,"
                " last_error TEXT NOT NULL DEFAULT '', updated_at %2,"
                " PRIMARY KEY (worker, node))")
                .arg(bigint, time, boolean, yes),
            QStringLiteral("CREATE TABLE warden_worker_settings ("
                           " worker TEXT PRIMARY KEY,"
                           " enabled %2 NOT NULL DEFAULT %3,"
                           " paused_until %1,"
                           " reason TEXT NOT NULL DEFAULT '', changed_by TEXT NOT NULL DEFAULT '',"
                           " changed_at %1,"
                           " trigger_sequence %4 NOT NULL DEFAULT 0)")
                .arg(time, boolean, yes, bigint),
            QStringLiteral("CREATE TABLE warden_runs ("
                           " id %1,"
                           " run_id TEXT NOT NULL, worker TEXT NOT NULL, node TEXT NOT NULL,"
                           " scheduled_at %2, started_at %2, finished_at %2,"
                           " outcome TEXT NOT NULL, error TEXT NOT NULL DEFAULT '',"
                           " fencing_token %3 NOT NULL DEFAULT 0,"
                           " manual %4 NOT NULL DEFAULT %5)")
                .arg(serial, time, bigint, boolean, no),
            QStringLiteral("CREATE TABLE warden_log ("
                           " id %1, time %2,"
                           " node TEXT NOT NULL DEFAULT '', worker TEXT NOT NULL DEFAULT '',"
                           " run_id TEXT NOT NULL DEFAULT '', level INTEGER NOT NULL DEFAULT 1,"
                           " category TEXT NOT NULL DEFAULT '', message TEXT NOT NULL DEFAULT '')")
                .arg(serial, time),
            QStringLiteral("CREATE TABLE warden_audit ("
                           " id %1, time %2 NOT NULL,"
                           " user_name TEXT NOT NULL DEFAULT '', origin TEXT NOT NULL DEFAULT '',"
                           " action TEXT NOT NULL DEFAULT '', target TEXT NOT NULL DEFAULT '',"
                           " reason TEXT NOT NULL DEFAULT '', details TEXT NOT NULL DEFAULT '')")
                .arg(serial, time),
        };
    case 2: {
        // Indexes for the console's queries and for retention; on PostgreSQL, triggers that
        // NOTIFY releases and settings changes (whoever makes them, even by hand).
        QStringList statements = {
            QStringLiteral("CREATE INDEX warden_runs_worker ON warden_runs (worker, id)"),
            QStringLiteral("CREATE INDEX warden_runs_finished ON warden_runs (finished_at)"),
            QStringLiteral("CREATE INDEX warden_log_worker ON warden_log (worker, id)"),
            QStringLiteral("CREATE INDEX warden_log_time ON warden_log (time)"),
            QStringLiteral("CREATE INDEX warden_audit_time ON warden_audit (time)"),
        };
        if (pg) {
            statements << QStringLiteral(
                              "CREATE OR REPLACE FUNCTION warden_notify_released() RETURNS trigger "
                              "LANGUAGE plpgsql AS $$ BEGIN "
                              "PERFORM pg_notify(TG_TABLE_SCHEMA || '_warden_released', NEW.name); "
                              "RETURN NULL; END $$")
                       << QStringLiteral(
                              "CREATE TRIGGER warden_leases_released AFTER UPDATE ON "
                              "warden_leases FOR EACH ROW WHEN (NEW.holder = '' AND "
                              "OLD.holder <> '') EXECUTE FUNCTION warden_notify_released()")
                       << QStringLiteral(
                              "CREATE OR REPLACE FUNCTION warden_notify_settings() RETURNS trigger "
                              "LANGUAGE plpgsql AS $$ BEGIN "
                              "PERFORM pg_notify(TG_TABLE_SCHEMA || '_warden_settings', "
                              "CASE WHEN TG_OP = 'DELETE' THEN OLD.worker ELSE NEW.worker END); "
                              "RETURN NULL; END $$")
                       << QStringLiteral("CREATE TRIGGER warden_settings_changed AFTER INSERT OR "
                                         "UPDATE OR DELETE ON warden_worker_settings FOR EACH ROW "
                                         "EXECUTE FUNCTION warden_notify_settings()");
        }
        return statements;
    }
    case 3:
        // The run ledger: a run's row is written when it starts and completed when it ends,
        // so a run id is unique; the rows still running are found by node (a dead node's runs
        // are closed as lost).
        return {
            QStringLiteral("DELETE FROM warden_runs WHERE id NOT IN "
                           "(SELECT MIN(id) FROM warden_runs GROUP BY run_id)"),
            QStringLiteral("CREATE UNIQUE INDEX warden_runs_run_id ON warden_runs (run_id)"),
            QStringLiteral("CREATE INDEX warden_runs_running ON warden_runs (node) "
                           "WHERE outcome = 'running'"),
            // warden runs show: a run's own log lines.
            QStringLiteral("CREATE INDEX warden_log_run ON warden_log (run_id)"),
        };
    case 4:
        // What started a run (schedule, run-now, catch-up, retry). The manual column stays
        // for readers of version 3 and means run-now. A node's own dead-node threshold. The
        // ticks that ran, by worker and time.
        return {
            QStringLiteral("ALTER TABLE warden_nodes ADD COLUMN dead_after_ms %1 NOT NULL "
                           "DEFAULT 0")
                .arg(bigint),
            QStringLiteral("ALTER TABLE warden_runs ADD COLUMN run_trigger TEXT NOT NULL "
                           "DEFAULT 'schedule'"),
            QStringLiteral("UPDATE warden_runs SET run_trigger = 'run-now' WHERE manual = %1")
                .arg(yes),
            // A tick runs once: the lease's transaction looks for a run of the same tick.
            QStringLiteral("CREATE INDEX warden_runs_schedule ON warden_runs (worker, "
                           "scheduled_at)"),
        };
    }
    return {};
}

constexpr int Latest = 4;

struct Transaction
{
    SqlSession *session;
    bool done = false;
    ~Transaction()
    {
        if (!done)
            session->rollback();
    }
};

Result<int> readVersion(SqlSession *session, bool *tableExists)
{
    QSqlQuery q(session->database());
    const QString exists =
        session->isPostgres()
            ? QStringLiteral("SELECT to_regclass('warden_schema_version') IS NOT NULL")
            : QStringLiteral("SELECT count(*) > 0 FROM sqlite_master WHERE type = 'table' "
                             "AND name = 'warden_schema_version'");
    if (!q.exec(exists) || !q.next())
        return Result<int>::failure(describe(q.lastError()));
    *tableExists = q.value(0).toBool();
    if (!*tableExists)
        return 0;
    if (!q.exec(QStringLiteral("SELECT COALESCE(MAX(version), 0) FROM warden_schema_version")) ||
        !q.next())
        return Result<int>::failure(describe(q.lastError()));
    return q.value(0).toInt();
}

} // namespace

int latestVersion()
{
    return Latest;
}

Result<int> apply(const SqlConfig &config)
{
    using R = Result<int>;
    QString error;
    SqlSession *session = SqlSession::current(config, &error);
    if (!session)
        return R::failure(error);
    const bool pg = config.isPostgres();
    const QString where = config.url.toDisplayString();
    auto fail = [&](const QString &what) {
        return R::failure(QStringLiteral("schema of %1: %2").arg(where, what));
    };
    // Whatever happens below, a new SQLite file leaves this function durable.
    struct NewFile
    {
        SqlSession *session;
        ~NewFile()
        {
            QString ignored;
            session->finishNewFile(&ignored);
        }
    } newFile{session};

    if (!session->begin(&error))
        return fail(QStringLiteral("cannot take the migration lock: %1").arg(error));
    Transaction transaction{session};
    if (pg) {
        QSqlQuery lock(session->database());
        lock.prepare(QStringLiteral("SELECT pg_advisory_xact_lock(hashtext(:key))"));
        lock.bindValue(QStringLiteral(":key"),
                       config.url.schema() + QStringLiteral(".warden_migrate"));
        if (!lock.exec())
            return fail(QStringLiteral("cannot take the migration lock: %1")
                            .arg(describe(lock.lastError())));
    }
    bool tableExists = false;
    const auto found = readVersion(session, &tableExists);
    if (!found)
        return fail(found.errorString());
    const int version = found.value();
    if (version > Latest)
        return fail(QStringLiteral("the database has schema version %1, written by a newer "
                                   "Warden; this Warden (%2) knows versions up to %3. Upgrade "
                                   "Warden on this node, or use another database.")
                        .arg(version)
                        .arg(Warden::version())
                        .arg(Latest));
    if (version == Latest) {
        transaction.done = true;
        session->commit(nullptr);
        return version;
    }
    if (!config.options.isMigrating)
        return fail(QStringLiteral("the database has schema version %1 and needs %2, but "
                                   "migrations are turned off; run them with a role that "
                                   "owns the schema")
                        .arg(version)
                        .arg(Latest));
    QSqlQuery q(session->database());
    if (pg && config.url.schema() != QLatin1String("public")) {
        // The name passed the URL's identifier check.
        if (!q.exec(QStringLiteral("CREATE SCHEMA IF NOT EXISTS \"%1\"").arg(config.url.schema())))
            return fail(describe(q.lastError()));
    }
    if (!tableExists &&
        !q.exec(QStringLiteral("CREATE TABLE warden_schema_version ("
                               " version INTEGER PRIMARY KEY, applied_at %1 NOT NULL,"
                               " applied_by TEXT NOT NULL)")
                    .arg(pg ? QStringLiteral("timestamptz") : QStringLiteral("INTEGER"))))
        return fail(describe(q.lastError()));
    for (int v = version + 1; v <= Latest; ++v) {
        for (const QString &statement : step(v, pg)) {
            if (!q.exec(statement))
                return fail(QStringLiteral("migration to version %1 failed: %2")
                                .arg(v)
                                .arg(describe(q.lastError())));
        }
        QSqlQuery record(session->database());
        record.prepare(QStringLiteral("INSERT INTO warden_schema_version (version, applied_at, "
                                      "applied_by) VALUES (:version, %1, :by)")
                           .arg(pg ? QStringLiteral("clock_timestamp()") : SqlText::nowMs(false)));
        record.bindValue(QStringLiteral(":version"), v);
        record.bindValue(QStringLiteral(":by"), QStringLiteral("warden ") + Warden::version());
        if (!record.exec())
            return fail(describe(record.lastError()));
    }
    transaction.done = true;
    if (!session->commit(&error))
        return fail(error);
    return version;
}

} // namespace Migrations
} // namespace Warden
