#!/bin/sh
# Compiles warden's Windows-only sources with the MinGW-w64 cross compiler (-fsyntax-only):
# the Win32 service control manager code and the Windows command runner.
#
# What this checks: the Win32 API calls, types and Qt calls type-check against windows.h of
# MinGW-w64 and against Qt's headers (Debian's, configured for Linux: Qt's own platform
# macros follow the compiler, so the Q_OS_WIN branches are the ones compiled). What it does
# not check: linking, moc output, running under the SCM.
# Usage: windows-compile-check.sh SOURCE_DIR; exit 77 (skipped) without the compiler.
set -eu
src="$1"
cxx=x86_64-w64-mingw32-g++-posix
if ! command -v "$cxx" >/dev/null 2>&1; then
    echo "SKIP: $cxx is missing (Debian package g++-mingw-w64-x86-64-posix)"
    exit 77
fi
qt=/usr/include/x86_64-linux-gnu/qt6
for f in headless/windowsservice.cpp core/src/commandprocess_win.cpp; do
    echo "checking $f"
    "$cxx" -std=c++17 -fsyntax-only -Wall -Wextra -Werror -Wno-attributes \
        -DUNICODE -D_UNICODE -DQT_NO_CAST_FROM_ASCII -DWARDEN_CORE_STATIC \
        -I"$src/core/include" -I"$src/core/src" -I"$src/headless" \
        -isystem "$qt" -isystem "$qt/QtCore" \
        "$src/$f"
    # The Windows branch must really have been compiled.
    printf '#include "%s"\n#ifndef Q_OS_WIN\n#error not compiled as Windows\n#endif\n' "$src/$f" |
        "$cxx" -std=c++17 -fsyntax-only -x c++ -DUNICODE -DWARDEN_CORE_STATIC \
            -I"$src/core/include" -I"$src/core/src" -I"$src/headless" \
            -isystem "$qt" -isystem "$qt/QtCore" -
done
echo "ok"
