#!/usr/bin/env bash
# The quick start, run by `./dev run`: the example config on SQLite in ./var/, and the console
# beside it when it is built and a display is present.
#
# Usage: headless/dev-run.sh BUILD_DIR [warden run options]
# ./var/warden.toml is a copy of resources/config/warden.toml (refreshed when the example is
# newer); its relative paths put warden.db, app.db and logs/ into ./var/.
set -euo pipefail

BUILD="$(cd "${1:?usage: headless/dev-run.sh BUILD_DIR [warden run options]}" && pwd)"
shift
ROOT="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
VAR="$ROOT/var"
WARDEN="$BUILD/headless/warden"
CONSOLE="$BUILD/gui/warden-console"
EXAMPLE="$ROOT/resources/config/warden.toml"
CONFIG="$VAR/warden.toml"

[ -x "$WARDEN" ] || { echo "dev-run: $WARDEN is not built" >&2; exit 1; }
mkdir -p "$VAR/logs"
if [ ! -f "$CONFIG" ] || [ "$EXAMPLE" -nt "$CONFIG" ]; then
    cp "$EXAMPLE" "$CONFIG"
    echo "dev-run: copied the example config to $CONFIG"
fi

# The application database of the sql worker: users, some of whom have not logged in for a
# while. The worker creates the table itself when nothing here can seed it.
seed_sql="CREATE TABLE IF NOT EXISTS users (id INTEGER PRIMARY KEY, name TEXT, last_login TEXT,
  passive INTEGER NOT NULL DEFAULT 0);
INSERT INTO users (name, last_login)
  SELECT 'user' || n, datetime('now', '-' || (n * 7 % 60) || ' days')
  FROM (WITH RECURSIVE c(n) AS (SELECT 1 UNION ALL SELECT n + 1 FROM c WHERE n < 100) SELECT n FROM c)
  WHERE NOT EXISTS (SELECT 1 FROM users);"
if command -v sqlite3 >/dev/null 2>&1; then
    sqlite3 "$VAR/app.db" "$seed_sql"
elif command -v python3 >/dev/null 2>&1; then
    python3 -c 'import sqlite3, sys; c = sqlite3.connect(sys.argv[1]); c.executescript(sys.argv[2]); c.commit()' \
        "$VAR/app.db" "$seed_sql"
else
    echo "dev-run: neither sqlite3 nor python3 found; app.db starts empty"
fi

# Old and new files for the nightly cleanup (`warden trigger delete-old-logs` runs it now).
for n in 1 2 3; do
    touch -d "$((n * 5)) days ago" "$VAR/logs/old-$n.log"
done
touch "$VAR/logs/recent.log"

"$WARDEN" check-config --config "$CONFIG"

console_pid=""
if [ -x "$CONSOLE" ] && { [ -n "${DISPLAY:-}" ] || [ -n "${WAYLAND_DISPLAY:-}" ]; }; then
    "$CONSOLE" --database "sqlite://$VAR/warden.db" &
    console_pid=$!
    echo "dev-run: the console runs beside the service (pid $console_pid)"
fi
cleanup() {
    if [ -n "$console_pid" ]; then kill "$console_pid" 2>/dev/null || true; fi
}
trap cleanup EXIT

cat <<TEXT
dev-run: warden runs the example in $VAR; Ctrl-C stops it. In another terminal:
  $WARDEN status  --config $CONFIG
  $WARDEN workers --config $CONFIG
  $WARDEN trigger delete-old-logs --config $CONFIG
  $WARDEN log --follow --config $CONFIG
TEXT
# Not exec: the trap closes the console when warden ends.
"$WARDEN" run --config "$CONFIG" "$@"
