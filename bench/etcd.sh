#!/usr/bin/env bash
# The etcd resolver's figures (issue 17): starts a one-member etcd (Debian's etcd-server)
# on free loopback ports with its data in a temp dir, runs build-bench/bin/etcd_bench
# against it (update latency p50/p90/p99 over 1000 updates; a 1000-endpoint prefix listed,
# then watched over 200 updates), stops etcd. Not part of the test run.
#
#   bench/etcd.sh [--no-build] [--build-dir DIR] [etcd_bench flags: --updates N ...]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
build=1 build_dir=build-bench
args=()
while [ $# -gt 0 ]; do
  case "$1" in
    --no-build) build=0; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --help|-h) sed -n '2,7p' "$0"; exit 0 ;;
    *) args+=("$1"); shift ;;
  esac
done
command -v etcd >/dev/null || { echo "etcd.sh: etcd not installed (scripts/deps.sh)" >&2; exit 2; }
if [ "$build" = 1 ]; then
  "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -- etcd_bench >/dev/null
fi
bin="$root/$build_dir/bin/etcd_bench"
dir=$(mktemp -d)
free_port() { python3 -c 'import socket; s=socket.socket(); s.bind(("127.0.0.1",0)); print(s.getsockname()[1])'; }
client=$(free_port) peer=$(free_port)
etcd --name bench --data-dir "$dir/data" \
  --listen-client-urls "http://127.0.0.1:$client" --advertise-client-urls "http://127.0.0.1:$client" \
  --listen-peer-urls "http://127.0.0.1:$peer" --initial-advertise-peer-urls "http://127.0.0.1:$peer" \
  --initial-cluster "bench=http://127.0.0.1:$peer" --logger zap --log-outputs "$dir/etcd.log" \
  2>>"$dir/etcd.log" &
etcd_pid=$!
trap 'kill $etcd_pid 2>/dev/null; wait $etcd_pid 2>/dev/null; rm -rf "$dir"' EXIT
for _ in $(seq 100); do
  ETCDCTL_API=3 etcdctl --endpoints "127.0.0.1:$client" endpoint health >/dev/null 2>&1 && break
  sleep 0.1
done
echo "etcd $(etcd --version | head -1 | awk '{print $3}') on 127.0.0.1:$client (data in $dir)" >&2
"$bin" --etcd "127.0.0.1:$client" "${args[@]}"
