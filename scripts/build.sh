#!/usr/bin/env bash
# Configures and builds achan into a build directory.
#   scripts/build.sh DIR [cmake -D options...] [-- ninja targets...]
# Reuses an existing configuration; ccache keeps rebuilds of unchanged files cheap.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
# Paths relative to the checkout and no working directory in the hash (Debug builds
# otherwise hash it): a fresh clone anywhere reuses the cache of an earlier one.
export CCACHE_BASEDIR="$root" CCACHE_NOHASHDIR=1
dir=$1; shift
opts=(); targets=()
while [ $# -gt 0 ]; do
  if [ "$1" = "--" ]; then shift; targets=("$@"); break; fi
  opts+=("$1"); shift
done
cmake -S "$root" -B "$root/$dir" -G Ninja "${opts[@]}" >/dev/null
cmake --build "$root/$dir" -- "${targets[@]}"
