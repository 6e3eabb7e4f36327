#!/usr/bin/env bash
# The library for developers: `cmake --install` of Warden's build into a fresh prefix, then the
# consumer project (tests/consumer) configures with find_package(Warden), builds and runs
# against it. Also checks that the installation wrote nothing outside the prefix.
# Usage: consumer-test.sh SOURCE_DIR BUILD_DIR WORK_DIR
set -euo pipefail
SOURCE="$1" BUILD="$2" WORK="$3"
rm -rf "$WORK" && mkdir -p "$WORK"
PREFIX="$WORK/prefix"

cmake --install "$BUILD" --prefix "$PREFIX" >"$WORK/install.log"
echo "installed $(grep -c '^-- Installing' "$WORK/install.log") files into the prefix"
if grep -E '^-- (Installing|Up-to-date): ' "$WORK/install.log" | grep -v -- " $PREFIX/"; then
    echo "FAIL: the installation wrote outside its prefix (above)" >&2
    exit 1
fi
for f in lib/cmake/Warden/WardenConfig.cmake lib/cmake/Warden/WardenConfigVersion.cmake \
         lib/cmake/Warden/WardenTargets.cmake include/warden/host.h include/warden/sql/service.h; do
    found="$(find "$PREFIX" -path "*/$f" -print -quit 2>/dev/null || true)"
    [ -n "$found" ] || { echo "FAIL: $f is not installed" >&2; exit 1; }
done

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$SOURCE/tests/consumer" -B "$WORK/build" "${generator[@]}" \
    -DCMAKE_PREFIX_PATH="$PREFIX" -DCMAKE_BUILD_TYPE=RelWithDebInfo >"$WORK/configure.log" ||
    { cat "$WORK/configure.log" >&2; exit 1; }
grep -q "Warden" "$WORK/build/CMakeCache.txt"
found_dir="$(sed -n 's/^Warden_DIR:PATH=//p' "$WORK/build/CMakeCache.txt")"
case "$found_dir" in
    "$PREFIX"/*) echo "find_package(Warden) found $found_dir" ;;
    *) echo "FAIL: find_package(Warden) found '$found_dir', not the fresh prefix" >&2; exit 1 ;;
esac
cmake --build "$WORK/build" >"$WORK/build.log" || { cat "$WORK/build.log" >&2; exit 1; }

# A version the package does not satisfy must be refused by the version file.
mkdir -p "$WORK/too-new"
cat >"$WORK/too-new/CMakeLists.txt" <<'CMAKE'
cmake_minimum_required(VERSION 3.22)
project(TooNew LANGUAGES CXX)
find_package(Warden 99 REQUIRED)
CMAKE
if cmake -S "$WORK/too-new" -B "$WORK/too-new/build" -DCMAKE_PREFIX_PATH="$PREFIX" \
        >"$WORK/too-new.log" 2>&1; then
    echo "FAIL: find_package(Warden 99) succeeded against $(cat "$PREFIX"/lib*/cmake/Warden/WardenConfigVersion.cmake | grep -m1 PACKAGE_VERSION)" >&2
    exit 1
fi

"$WORK/build/consumer"
