#!/usr/bin/env bash
# Runs the example host, waits for runs of all three workers, stops it with SIGINT and checks
# that it exits 0 in time with the continuous worker's run recorded as cancelled.
set -u
bin="$1"
work="$(mktemp -d)"
trap 'rm -rf "$work"' EXIT
WARDEN_EXAMPLE_DIR="$work" "$bin" >"$work/out" 2>"$work/err" &
pid=$!
for _ in $(seq 1 150); do
    if grep -q "mark-users-passive" "$work/out" && grep -q "delete-old-logs" "$work/out" \
        && grep -q "marked" "$work/err" && ls "$work/logs"/*.log >/dev/null 2>&1; then
        break
    fi
    sleep 0.1
done
kill -INT "$pid"
for _ in $(seq 1 100); do kill -0 "$pid" 2>/dev/null || break; sleep 0.1; done
if kill -0 "$pid" 2>/dev/null; then
    echo "FAIL: still running 10 s after SIGINT"; kill -9 "$pid"; exit 1
fi
wait "$pid"; rc=$?
cat "$work/out"
[ "$rc" -eq 0 ] || { echo "FAIL: exit code $rc"; cat "$work/err"; exit 1; }
grep -q "mark-users-passive *succeeded" "$work/out" || { echo "FAIL: no passive run"; exit 1; }
grep -q "delete-old-logs *succeeded" "$work/out" || { echo "FAIL: no cleaner run"; exit 1; }
grep -q "log-writer *cancelled" "$work/out" || { echo "FAIL: log-writer not cancelled"; exit 1; }
echo "PASS"
