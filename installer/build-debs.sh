#!/usr/bin/env bash
# Builds the Debian packages (warden, warden-console, warden-dev) from the source tree into
# OUTDIR, and runs lintian on them. Usage: installer/build-debs.sh OUTDIR [BUILD_DIR]
#
# The build is a release build of its own (no tests, /usr prefix, Debian's hardening flags,
# no install RPATH), so the packages never carry anything of a developer's build folder.
# Exit status: 0 built and lintian reports no errors; 1 otherwise.
set -euo pipefail

SOURCE="$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)"
OUT="${1:?usage: installer/build-debs.sh OUTDIR [BUILD_DIR]}"
BUILD="${2:-$OUT/build}"
mkdir -p "$OUT"
OUT="$(cd "$OUT" && pwd)"

export DEB_BUILD_MAINT_OPTIONS="hardening=+all"
CPPFLAGS="$(dpkg-buildflags --get CPPFLAGS)"
CXXFLAGS="$(dpkg-buildflags --get CXXFLAGS) $CPPFLAGS"
LDFLAGS="$(dpkg-buildflags --get LDFLAGS)"

generator=()
if command -v ninja >/dev/null; then generator=(-G Ninja); fi
cmake -S "$SOURCE" -B "$BUILD" "${generator[@]}" \
    -DCMAKE_BUILD_TYPE=Release \
    -DCMAKE_INSTALL_PREFIX=/usr \
    -DCMAKE_SKIP_INSTALL_RPATH=ON \
    -DCMAKE_CXX_FLAGS="$CXXFLAGS" \
    -DCMAKE_EXE_LINKER_FLAGS="$LDFLAGS" \
    -DCMAKE_SHARED_LINKER_FLAGS="$LDFLAGS" \
    -DWARDEN_BUILD_TESTS=OFF -DWARDEN_BUILD_BENCHMARKS=OFF >/dev/null
cmake --build "$BUILD" --parallel "$(nproc)"

rm -f "$OUT"/*.deb
(cd "$BUILD" && cpack -G DEB -B "$OUT/cpack" >/dev/null)
mv "$OUT"/cpack/*.deb "$OUT"/
rm -rf "$OUT/cpack"

echo "packages in $OUT:"
for deb in "$OUT"/*.deb; do
    echo "  $(basename "$deb")  $(du -h "$deb" | cut -f1)"
done

if ! command -v lintian >/dev/null; then
    echo "build-debs: lintian is not installed (apt-get install lintian)" >&2
    exit 1
fi
echo "lintian:"
rc=0
# --fail-on error: warnings stay visible but only errors fail; README "Packages" explains
# the warnings that remain.
lintian --fail-on error --display-info --no-tag-display-limit "$OUT"/*.deb | tee "$OUT/lintian.txt" || rc=$?
if [ "$rc" -ne 0 ]; then
    echo "build-debs: lintian reports errors (see above)" >&2
    exit 1
fi
echo "lintian: no errors ($(grep -c '^W:' "$OUT/lintian.txt" || true) warnings, $(grep -c '^I:' "$OUT/lintian.txt" || true) infos)"
