#!/usr/bin/env bash
# The Debian packages, end to end: built from the source tree by installer/build-debs.sh
# (lintian must report no errors), then - as root, on a machine without Warden installed - the
# service, console and dev packages are installed with dpkg -i and checked: the binaries, the
# config check, the unit (systemd-analyze verify), the system user, folders and permissions,
# the example worker running as the warden user on the embedded SQLite default, the consumer
# project against /usr, a second configure that changes nothing, and a purge that leaves
# nothing behind but the system user (which policy keeps).
# Usage: debian-packages-test.sh SOURCE_DIR WORK_DIR
set -euo pipefail
SOURCE="$1" WORK="$2"
rm -rf "$WORK" && mkdir -p "$WORK"

fail() { echo "FAIL: $*" >&2; exit 1; }
step() { echo "--- $*"; }

if [ -n "${WARDEN_TEST_DEBS:-}" ]; then
    # Packages built already by ./dev package (for iterating on the checks below).
    step "the packages in $WARDEN_TEST_DEBS"
    mkdir -p "$WORK/dist" && cp "$WARDEN_TEST_DEBS"/*.deb "$WORK/dist/"
else
    step "build the packages"
    "$SOURCE/installer/build-debs.sh" "$WORK/dist" "$WORK/build"
fi
for p in warden warden-console warden-dev; do
    compgen -G "$WORK/dist/${p}_*.deb" >/dev/null || fail "no ${p}_*.deb built"
done
deb() { echo "$WORK"/dist/"$1"_*.deb; }

step "package contents and metadata"
dpkg-deb -c "$(deb warden)" >"$WORK/warden.contents"
for f in ./usr/bin/warden ./lib/systemd/system/warden.service ./etc/warden/warden.toml \
         ./usr/share/man/man1/warden.1.gz ./usr/share/doc/warden/copyright; do
    grep -q " $f\$" "$WORK/warden.contents" || fail "warden lacks $f"
done
grep -q 'libwardencore.so.0' "$WORK/warden.contents" || fail "warden lacks libwardencore"
if grep -q '\.so$' "$WORK/warden.contents"; then fail "warden ships a .so development link"; fi
dpkg-deb -c "$(deb warden-console)" >"$WORK/console.contents"
dpkg-deb -c "$(deb warden-dev)" >"$WORK/dev.contents"
grep -q ' ./usr/share/applications/warden-console.desktop$' "$WORK/console.contents" ||
    fail "warden-console lacks its desktop entry"
grep -q ' ./usr/share/icons/hicolor/scalable/apps/warden-console.svg$' "$WORK/console.contents" ||
    fail "warden-console lacks its scalable icon"
grep -q 'cmake/Warden/WardenConfig.cmake$' "$WORK/dev.contents" ||
    fail "warden-dev lacks the CMake package"
grep -q ' ./usr/lib/x86_64-linux-gnu/libwardencore.so -> ' "$WORK/dev.contents" ||
    fail "warden-dev lacks the libwardencore.so link"
depends="$(dpkg-deb -f "$(deb warden)" Depends)"
echo "warden Depends: $depends"
for d in libqt6core6 libqt6sql6 libc6 adduser libqt6sql6-sqlite; do
    grep -q "$d" <<<"$depends" || fail "warden does not depend on $d"
done
grep -q 'warden (= ' <<<"$(dpkg-deb -f "$(deb warden-console)" Depends)" ||
    fail "warden-console does not depend on this warden"
[ "$(dpkg-deb -f "$(deb warden)" Section)" = admin ] || fail "warden's section is not admin"
dpkg-deb -I "$(deb warden)" conffiles | grep -qx '/etc/warden/warden.toml' ||
    fail "/etc/warden/warden.toml is not a conffile"

if [ "$(id -u)" -ne 0 ]; then
    echo "SKIP: installing the packages needs root (CI runs as root)"
    exit 77
fi
if dpkg-query -W -f='${Status}' warden 2>/dev/null | grep -q installed; then
    echo "SKIP: a warden package is already installed here; not touching it"
    exit 77
fi
user_existed=0
getent passwd warden >/dev/null && user_existed=1

purge() { dpkg --purge warden-dev warden-console warden >/dev/null 2>&1 || true; }
trap purge EXIT

step "dpkg -i"
dpkg -i "$(deb warden)" "$(deb warden-console)" "$(deb warden-dev)"

step "the installed service"
warden --version
warden check-config /etc/warden/warden.toml
systemd-analyze verify /lib/systemd/system/warden.service
getent passwd warden | grep -q ':/var/lib/warden:/usr/sbin/nologin$' ||
    fail "warden user: $(getent passwd warden)"
uid="$(id -u warden)"
[ "$uid" -lt 1000 ] || fail "warden is not a system user (uid $uid)"
[ "$(stat -c '%U:%G %a' /var/lib/warden)" = "warden:warden 750" ] ||
    fail "/var/lib/warden is $(stat -c '%U:%G %a' /var/lib/warden), not warden:warden 750"
[ "$(stat -c '%U:%G %a' /etc/warden/warden.toml)" = "root:warden 640" ] ||
    fail "/etc/warden/warden.toml is $(stat -c '%U:%G %a' /etc/warden/warden.toml), not root:warden 640"
runuser -u nobody -- cat /etc/warden/warden.toml >/dev/null 2>&1 &&
    fail "another user can read the config"
runuser -u warden -- cat /etc/warden/warden.toml >/dev/null || fail "the warden user cannot read the config"
warden-console --help >/dev/null || fail "warden-console --help"
desktop-file-validate /usr/share/applications/warden-console.desktop ||
    fail "the desktop entry does not validate (above)"

step "the service runs its example worker as the warden user on SQLite"
# As the unit would run it (systemd itself is not PID 1 here): the same user, folder, config.
(cd /var/lib/warden &&
    exec setpriv --reuid=warden --regid=warden --init-groups -- warden run --config /etc/warden/warden.toml) \
    >"$WORK/run.log" 2>&1 &
run_pid=$!
ok=0
for _ in $(seq 1 100); do
    if warden runs --config /etc/warden/warden.toml --worker hello --json 2>/dev/null |
        grep -q '"outcome": *"succeeded"'; then ok=1; break; fi
    sleep 0.2
done
kill -TERM "$run_pid"
wait "$run_pid" || fail "warden run exited with $? on SIGTERM; log: $(cat "$WORK/run.log")"
[ "$ok" = 1 ] || fail "the hello worker did not run; log: $(cat "$WORK/run.log")"
grep -q 'warden is running' <(warden log --config /etc/warden/warden.toml --worker hello) ||
    fail "the hello worker's output is not in the log"
[ "$(stat -c '%U' /var/lib/warden/warden.db)" = warden ] || fail "the database is not the warden user's"
[ "$(( 0$(stat -c '%a' /var/lib/warden/warden.db) % 10 ))" = 0 ] || fail "the database is world-accessible"

step "the consumer project against /usr"
cmake -S "$SOURCE/tests/consumer" -B "$WORK/consumer" >/dev/null
cmake --build "$WORK/consumer" >/dev/null
"$WORK/consumer/consumer"

step "configure again and reinstall: idempotent"
snapshot() { stat -c '%n %U:%G %a' /etc/warden /etc/warden/warden.toml /var/lib/warden; getent passwd warden; getent group warden; dpkg-statoverride --list; }
snapshot >"$WORK/before"
DPKG_MAINTSCRIPT_PACKAGE=warden DPKG_MAINTSCRIPT_NAME=postinst \
    /var/lib/dpkg/info/warden.postinst configure "$(dpkg-query -W -f='${Version}' warden)"
dpkg -i "$(deb warden)" >/dev/null
snapshot >"$WORK/after"
diff "$WORK/before" "$WORK/after" || fail "a second configure changed the above"

step "remove keeps data and config; purge removes them"
dpkg --remove warden-dev warden-console warden >/dev/null
[ -f /etc/warden/warden.toml ] || fail "remove deleted the config"
[ -d /var/lib/warden ] || fail "remove deleted the data"
dpkg --purge warden-dev warden-console warden >/dev/null 2>&1
trap - EXIT
for f in /etc/warden /var/lib/warden /lib/systemd/system/warden.service /usr/bin/warden \
         /usr/bin/warden-console /usr/share/doc/warden /usr/include/warden \
         /etc/systemd/system/warden.service /etc/systemd/system/multi-user.target.wants/warden.service; do
    [ ! -e "$f" ] && [ ! -L "$f" ] || fail "$f is left after purge"
done
! dpkg-statoverride --list | grep -q warden || fail "a statoverride is left after purge"
! compgen -G '/var/lib/systemd/deb-systemd-helper-*/*warden*' >/dev/null ||
    fail "deb-systemd-helper state is left after purge: $(ls /var/lib/systemd/deb-systemd-helper-*/*warden*)"
ls /usr/lib/x86_64-linux-gnu/libwarden* >/dev/null 2>&1 && fail "libraries left after purge"
if [ "$user_existed" = 0 ]; then
    echo "the system user warden stays after purge, as policy keeps it"
fi
echo "PASS"
