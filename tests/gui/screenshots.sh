#!/usr/bin/env bash
# Screenshots of warden-console: starts a small cluster on SQLite (two `warden run` nodes
# with the example config when the headless service is built, otherwise two demo nodes),
# opens the console under Xvfb at 1280x800 and saves a PNG of each view into
# <builddir>/screenshots/.
#
#   tests/gui/screenshots.sh BUILDDIR
set -euo pipefail

build="$(cd "${1:?usage: $0 BUILDDIR}" && pwd)"
root="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"
out="$build/screenshots"
work="$(mktemp -d /tmp/warden-screenshots.XXXXXX)"
db="$work/cluster.db"
url="sqlite://$db"
pids=()

cleanup() {
    for pid in "${pids[@]+"${pids[@]}"}"; do
        kill -TERM "$pid" 2>/dev/null || true
    done
    for pid in "${pids[@]+"${pids[@]}"}"; do
        wait "$pid" 2>/dev/null || true
    done
    rm -rf "$work"
}
trap cleanup EXIT

console="$build/gui/warden-console"
[ -x "$console" ] || { echo "screenshots: $console is not built" >&2; exit 1; }
mkdir -p "$out"
rm -f "$out"/*.png

headless="$build/headless/warden"
config=""
for candidate in "$root/resources/config/example.toml" "$root/resources/config/warden.toml"; do
    if [ -f "$candidate" ]; then config="$candidate"; break; fi
done
start_demo_nodes() {
    echo "screenshots: two demo nodes"
    "$build/tests/gui/warden-demo-node" --url "$url" --node alpha >"$work/alpha.log" 2>&1 &
    pids+=($!)
    sleep 1 # alpha creates the schema; beta then finds it
    "$build/tests/gui/warden-demo-node" --url "$url" --node beta >"$work/beta.log" 2>&1 &
    pids+=($!)
}
if [ -x "$headless" ] && [ -n "$config" ]; then
    echo "screenshots: two 'warden run' nodes with $config"
    mkdir -p "$work/logs" # working directories the example's workers use
    for node in alpha beta; do
        # A copy per node with its own node_id; relative paths in it then start in $work.
        sed -e "s/^# *node_id *=.*/node_id = \"$node\"/" "$config" >"$work/$node.toml"
        grep -q '^node_id' "$work/$node.toml" || sed -i "0,/^\[host\]/s//[host]\nnode_id = \"$node\"/" "$work/$node.toml"
        "$headless" --config "$work/$node.toml" --database "$url" run >"$work/$node.log" 2>&1 &
        pids+=($!)
        sleep 1
    done
    sleep 2
    for pid in "${pids[@]}"; do
        if ! kill -0 "$pid" 2>/dev/null; then
            echo "screenshots: 'warden run' did not stay up:" >&2
            tail -5 "$work"/*.log >&2 || true
            pids=()
            start_demo_nodes
            break
        fi
    done
else
    start_demo_nodes
fi

# Let the cluster run for a while so the views have history, a few admin actions included.
sleep 8
if [ -x "$headless" ]; then
    # Some history in the audit trail, through the same admin commands an operator uses.
    first="$("$headless" --database "$url" --json workers 2>/dev/null | grep -o '"worker": *"[^"]*"' | head -1 | sed 's/.*"\([^"]*\)"$/\1/' || true)"
    if [ -n "$first" ]; then
        "$headless" --database "$url" disable "$first" --reason "disk maintenance" --until 2h >/dev/null 2>&1 || true
    fi
fi
sleep 6

# A fresh settings location: the screenshots show the default layout.
export XDG_CONFIG_HOME="$work/config"
run_console() {
    "$console" --database "$url" --screenshot-dir "$out" --screenshot-delay 1500
}
if [ -n "${DISPLAY:-}" ] && [ "${WARDEN_SCREENSHOTS_USE_DISPLAY:-}" = 1 ]; then
    run_console
else
    command -v xvfb-run >/dev/null || { echo "screenshots: xvfb-run is missing (apt-get install xvfb xauth)" >&2; exit 1; }
    QT_QPA_PLATFORM=xcb xvfb-run -a -s "-screen 0 1280x800x24" \
        bash -c "$(declare -f run_console); console='$console' url='$url' out='$out' run_console"
fi
ls -l "$out"
