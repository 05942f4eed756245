#!/usr/bin/env bash
# Configures and builds achan into a build directory.
#   scripts/build.sh DIR [cmake -D options...] [-- ninja targets...]
# Reuses an existing configuration; ccache keeps rebuilds of unchanged files cheap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
dir=$1; shift
opts=(); targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; targets=("$@"); break; fi
  opts+=("$1"); shift
done
cmake -S "$root" -B "$root/$dir" -G Ninja "${opts[@]}" >/dev/null
cmake --build "$root/$dir" -- "${targets[@]}"
