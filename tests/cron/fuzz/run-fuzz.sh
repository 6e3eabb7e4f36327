#!/usr/bin/env bash
# Builds the CronSchedule libFuzzer target with clang++ (ASan + UBSan) and runs it on the
# committed corpus.
#
#   tests/cron/fuzz/run-fuzz.sh [seconds=600] [extra libFuzzer options...]
#
# New inputs go to a scratch corpus in the build folder. To fold the interesting ones back
# into the committed corpus:
#   build-fuzz/fuzz_cron -merge=1 tests/cron/fuzz/corpus build-fuzz/corpus
set -euo pipefail

here="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
root="$(cd "$here/../../.." && pwd)"
build="${WARDEN_FUZZ_BUILD:-$root/build-fuzz}"
seconds="${1:-600}"
shift || true

mkdir -p "$build/corpus"
CXX="${CXX_FUZZ:-clang++}"
"$CXX" -std=c++17 -g -O1 -fPIC -fno-omit-frame-pointer \
    -fsanitize=fuzzer,address,undefined -fno-sanitize-recover=undefined \
    -DWARDEN_CORE_STATIC -DQT_NO_CAST_FROM_ASCII -DQT_NO_CAST_TO_ASCII \
    -I"$root/core/include" $(pkg-config --cflags Qt6Core) \
    "$here/fuzz_cron.cpp" "$root/core/src/cronschedule.cpp" "$root/core/src/schedule.cpp" \
    $(pkg-config --libs Qt6Core) -o "$build/fuzz_cron"

echo "fuzzing for ${seconds}s; new inputs in $build/corpus"
exec "$build/fuzz_cron" -max_total_time="$seconds" -max_len=256 -timeout=10 \
    -print_final_stats=1 -dict="$here/cron.dict" "$@" "$build/corpus" "$here/corpus"
