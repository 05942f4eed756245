#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds, and runs the demo (a round_robin
# channel over three backends, one of which fails; see examples/demo.cpp).
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACHAN_BUILD_TESTS=OFF \
  -DACHAN_BUILD_BENCH=OFF -- demo
exec "$root/build/bin/demo"
