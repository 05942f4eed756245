#!/usr/bin/env bash
# Quick start 2: installs what is missing, builds with AddressSanitizer +
# UndefinedBehaviorSanitizer, and runs the whole test suite (unit tests in virtual
# time, examples) through ctest.
#   scripts/test.sh          the default run (ASan+UBSan, build-asan/)
#   scripts/test.sh tsan     the same suite under ThreadSanitizer (build-tsan/)
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
case "${1:-asan}" in
  asan) dir=build-asan; flags=(-DACHAN_SANITIZE=ON) ;;
  tsan) dir=build-tsan; flags=(-DACHAN_TSAN=ON) ;;
  *) echo "usage: scripts/test.sh [asan|tsan]" >&2; exit 2 ;;
esac
"$root/scripts/build.sh" "$dir" -DCMAKE_BUILD_TYPE=Debug "${flags[@]}"
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=1
export UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1
export TSAN_OPTIONS=halt_on_error=1:second_deadlock_stack=1
cd "$root/$dir"
# ctest runs each doctest case by name; a name with ',' or ';' would split into
# filters that match nothing and "pass". Refuse that before running anything.
if bad=$(grep -rn 'TEST_CASE("[^"]*[,;]' "$root/tests"); then
  echo "test.sh: TEST_CASE names with ',' or ';' would not run under ctest:" >&2
  echo "$bad" >&2
  exit 1
fi
skip=()
# Under TSan: the blocking dial runs CAF's real scheduler threads (not instrumented).
[ "${1:-asan}" = tsan ] && skip=(-E '^dial: block_until_ready')
ctest --output-on-failure -j "$(nproc)" --timeout 120 "${skip[@]}"
