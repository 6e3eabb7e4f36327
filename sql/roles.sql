-- Least-privilege roles for Warden on PostgreSQL.
--
-- Run once per database, after the schema exists, as the role that owns Warden's tables
-- (the one whose service ran the migrations, or `warden migrate`) or as a superuser, with
-- search_path set to Warden's schema (the `schema` URL parameter; public by default):
--
--     psql "postgresql://owner@db.example.com/warden" -v ON_ERROR_STOP=1 -f roles.sql
--
-- Run it again after an upgrade that adds tables. It creates three group roles (NOLOGIN);
-- give them to login roles with, for example:
--
--     CREATE ROLE warden_node1 LOGIN PASSWORD '...' IN ROLE warden_service;
--     CREATE ROLE alice LOGIN IN ROLE warden_admin;
--
--   warden_service   what a node needs: leases, its heartbeat and worker statuses, run
--                    records and log lines (with retention), reading the worker settings
--   warden_admin     what the console and the admin commands need: read everything, change
--                    worker settings, request runs, release locks, write the audit trail
--   warden_readonly  read everything, change nothing
--
-- Only the owner can change the schema; with those roles, start nodes with migrations
-- turned off (DatabaseOptions::isMigrating = false) so that they only check the version.

DO $roles$
DECLARE
    s text := current_schema();
BEGIN
    IF s IS NULL THEN
        RAISE EXCEPTION 'no current schema: set search_path to Warden''s schema first';
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_readonly') THEN
        CREATE ROLE warden_readonly NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_service') THEN
        CREATE ROLE warden_service NOLOGIN;
    END IF;
    IF NOT EXISTS (SELECT FROM pg_roles WHERE rolname = 'warden_admin') THEN
        CREATE ROLE warden_admin NOLOGIN;
    END IF;

    EXECUTE format('GRANT USAGE ON SCHEMA %I TO warden_readonly, warden_service, warden_admin', s);

    -- Read-only: SELECT on every Warden table, nothing else.
    EXECUTE format('GRANT SELECT ON %1$I.warden_schema_version, %1$I.warden_leases, '
                   '%1$I.warden_nodes, %1$I.warden_worker_status, %1$I.warden_worker_settings, '
                   '%1$I.warden_runs, %1$I.warden_log, %1$I.warden_audit '
                   'TO warden_readonly, warden_service, warden_admin', s);

    -- Service: leases (acquire, renew, release are INSERT and UPDATE; rows are never
    -- deleted), its own rows, history with retention.
    EXECUTE format('GRANT INSERT, UPDATE ON %I.warden_leases TO warden_service', s);
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %1$I.warden_nodes, %1$I.warden_worker_status '
                   'TO warden_service', s);
    -- The run ledger: a run's row is written at its start and completed at its end; a live
    -- node closes a dead node's runs.
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I.warden_runs TO warden_service', s);
    EXECUTE format('GRANT INSERT, DELETE ON %I.warden_log TO warden_service', s);
    EXECUTE format('GRANT USAGE ON SEQUENCE %1$I.warden_runs_id_seq, %1$I.warden_log_id_seq '
                   'TO warden_service', s);

    -- Admin: the console's switches, run-now requests, force-release, the audit trail.
    EXECUTE format('GRANT INSERT, UPDATE, DELETE ON %I.warden_worker_settings TO warden_admin', s);
    EXECUTE format('GRANT UPDATE ON %I.warden_leases TO warden_admin', s);
    EXECUTE format('GRANT INSERT ON %I.warden_audit TO warden_admin', s);
    -- warden nodes forget: closes the node's runs as lost and removes its rows.
    EXECUTE format('GRANT UPDATE ON %I.warden_runs TO warden_admin', s);
    EXECUTE format('GRANT DELETE ON %1$I.warden_nodes, %1$I.warden_worker_status TO warden_admin',
                   s);
    EXECUTE format('GRANT USAGE ON SEQUENCE %I.warden_audit_id_seq TO warden_admin', s);
END
$roles$;
