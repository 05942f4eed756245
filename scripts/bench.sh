#!/usr/bin/env bash
# Builds the benchmarks optimised (no sanitizers) and runs them. Not part of the test
# run. Extra arguments go to Google Benchmark (e.g. --benchmark_repetitions=5).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" build-bench -DCMAKE_BUILD_TYPE=Release -DACHAN_BUILD_TESTS=OFF \
  -DACHAN_BUILD_EXAMPLES=OFF -- pick_bench channel_bench
for b in pick_bench channel_bench; do
  "$root/build-bench/bin/$b" "$@"
done
