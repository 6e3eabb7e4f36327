#!/usr/bin/env bash
# A throwaway PostgreSQL 15 server on 127.0.0.1 for the SQL tests and the benchmark.
#
#   pg-server.sh start DIR   initialise and start a cluster; prints `export VAR=value` lines
#                            (WARDEN_TEST_PG_URL, PGPASSFILE, WARDEN_TEST_PG_DIR) to eval
#   pg-server.sh stop DIR    stop the server (pg_ctl stop -m fast) and remove its data
#   pg-server.sh pause DIR   stop the server but keep its data (the outage test)
#   pg-server.sh resume DIR  start it again on the same port
#
# It installs nothing. The server refuses to run as root, so it runs as the `postgres` OS
# user when started by root; its data lives in a fresh folder under /tmp (which that user can
# always reach), recorded in DIR/datadir. The password is random and reaches clients through
# a password file (PGPASSFILE), never through the URL.
set -euo pipefail

PGBIN="${PGBIN:-/usr/lib/postgresql/15/bin}"
cmd="${1:-}"
dir="${2:-}"
if [ -z "$cmd" ] || [ -z "$dir" ]; then
    echo "usage: $0 start|stop|pause|resume DIR" >&2
    exit 64
fi

as_server_user() {
    if [ "$(id -u)" -eq 0 ]; then
        runuser -u postgres -- "$@"
    else
        "$@"
    fi
}

free_port() {
    local port
    for _ in $(seq 1 200); do
        port=$((20000 + RANDOM % 20000))
        if ! (exec 3<>"/dev/tcp/127.0.0.1/$port") 2>/dev/null; then
            echo "$port"
            return 0
        fi
    done
    echo "pg-server.sh: no free port found" >&2
    return 1
}

start_server() {
    local data="$1" port="$2"
    as_server_user "$PGBIN/pg_ctl" -D "$data" -l "$data/server.log" -w -t 60 \
        -o "-c listen_addresses=127.0.0.1 -c port=$port -c unix_socket_directories=$data" start >&2
}

case "$cmd" in
start)
    mkdir -p "$dir"
    dir="$(cd "$dir" && pwd)"
    if [ -f "$dir/datadir" ] && [ -d "$(cat "$dir/datadir")" ]; then
        "$0" stop "$dir" >/dev/null 2>&1 || true
    fi
    base="$(mktemp -d /tmp/warden-pg.XXXXXX)"
    data="$base/data"
    password="$(head -c 18 /dev/urandom | base64 | tr -dc 'A-Za-z0-9' | head -c 20)"
    printf '%s\n' "$password" >"$base/superpw"
    if [ "$(id -u)" -eq 0 ]; then chown -R postgres: "$base"; fi
    chmod 700 "$base"
    as_server_user "$PGBIN/initdb" -D "$data" -U postgres --auth-local=trust \
        --auth-host=scram-sha-256 --pwfile="$base/superpw" -E UTF8 --locale=C.UTF-8 >/dev/null
    port="$(free_port)"
    {
        echo "fsync = on"
        echo "synchronous_commit = on"
        echo "max_connections = 200"
        echo "shared_buffers = 64MB"
    } | as_server_user tee -a "$data/postgresql.conf" >/dev/null
    start_server "$data" "$port"
    echo "$data" >"$dir/datadir"
    echo "$port" >"$dir/port"
    # The test role owns the test database and may create the least-privilege roles.
    as_server_user "$PGBIN/psql" -h "$data" -p "$port" -U postgres -d postgres -v ON_ERROR_STOP=1 -q \
        -c "CREATE ROLE warden_test LOGIN CREATEROLE PASSWORD '$password'" \
        -c "CREATE DATABASE warden_test OWNER warden_test" >&2
    passfile="$dir/pgpass"
    printf '127.0.0.1:%s:*:warden_test:%s\n' "$port" "$password" >"$passfile"
    chmod 600 "$passfile"
    echo "export WARDEN_TEST_PG_URL='postgresql://warden_test@127.0.0.1:$port/warden_test?connect_timeout=5'"
    echo "export PGPASSFILE='$passfile'"
    echo "export WARDEN_TEST_PG_DIR='$dir'"
    echo "export WARDEN_TEST_PG_DATA='$data'"
    ;;
stop)
    [ -f "$dir/datadir" ] || exit 0
    data="$(cat "$dir/datadir")"
    if [ -d "$data" ]; then
        as_server_user "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >/dev/null 2>&1 || true
        rm -rf "$(dirname "$data")"
    fi
    rm -f "$dir/datadir" "$dir/port" "$dir/pgpass"
    ;;
pause)
    data="$(cat "$dir/datadir")"
    as_server_user "$PGBIN/pg_ctl" -D "$data" -m fast -w stop >&2
    ;;
resume)
    data="$(cat "$dir/datadir")"
    start_server "$data" "$(cat "$dir/port")"
    ;;
*)
    echo "usage: $0 start|stop|pause|resume DIR" >&2
    exit 64
    ;;
esac
