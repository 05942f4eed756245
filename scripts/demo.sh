#!/usr/bin/env bash
# Quick start 1: installs what is missing, builds the `achan` command, and runs the demo:
# three `achan serve` backends on free loopback ports, one `achan bench` run through a
# round_robin channel with wait-for-ready calls, during which backend-2 is killed and
# restarted on the same port; `achan watch` shows the subchannels go and come back.
# Ends with the per-backend distribution and checks that no call failed.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
"$root/scripts/deps.sh"
"$root/scripts/build.sh" build -DCMAKE_BUILD_TYPE=RelWithDebInfo -DACHAN_BUILD_TESTS=OFF \
  -DACHAN_BUILD_BENCH=OFF -- achan
achan=$root/build/bin/achan
work=$(mktemp -d)
pids=()
cleanup() {
  for p in "${pids[@]}"; do kill "$p" 2>/dev/null || true; done
  wait 2>/dev/null || true
  rm -rf "$work"
}
trap cleanup EXIT

# serve NAME PORT: starts a backend, waits for its "listening on" line, prints its port.
serve() {
  "$achan" serve --name "$1" --port "$2" --grace 1s >"$work/$1.out" 2>&1 &
  echo $! >"$work/$1.pid"
  for _ in $(seq 100); do
    if grep -q '^listening on ' "$work/$1.out"; then
      sed -n 's/^listening on .*://p' "$work/$1.out"
      return
    fi
    sleep 0.05
  done
  echo "demo: backend $1 did not start:" >&2
  cat "$work/$1.out" >&2
  exit 1
}

declare -A port
for b in backend-1 backend-2 backend-3; do
  port[$b]=$(serve "$b" 0)
  pids+=("$(cat "$work/$b.pid")")
  echo "started $b on 127.0.0.1:${port[$b]}"
done
target="ipv4:127.0.0.1:${port[backend-1]},127.0.0.1:${port[backend-2]},127.0.0.1:${port[backend-3]}"

"$achan" watch "$target" --lb round_robin --duration 7s >"$work/watch.out" &
pids+=($!)
echo "achan bench $target /achan.test.Echo/Unary --lb round_robin --wait-for-ready --duration 6s ..."
"$achan" bench "$target" /achan.test.Echo/Unary --proto "$root/proto/echo.proto" \
  -d '{"payload":"aGVsbG8="}' --lb round_robin --wait-for-ready --deadline 10s \
  --concurrency 16 --duration 6s >"$work/bench.out" &
bench=$!
sleep 2
echo "t=2s  killing backend-2 (SIGTERM: GOAWAY, then its port refuses connections)"
kill "$(cat "$work/backend-2.pid")"
wait "$(cat "$work/backend-2.pid")" 2>/dev/null || true
sleep 2
echo "t=4s  restarting backend-2 on port ${port[backend-2]}"
serve backend-2 "${port[backend-2]}" >/dev/null
pids+=("$(cat "$work/backend-2.pid")")
wait "$bench"
wait "${pids[3]}" 2>/dev/null || true  # the watch (--duration 7s)

echo
echo "achan watch, subchannel of backend-2 (127.0.0.1:${port[backend-2]}):"
grep "subchannel  127.0.0.1:${port[backend-2]} " "$work/watch.out" | sed 's/^/  /'
echo
cat "$work/bench.out"
errors=$(sed -n 's/^  Errors: *//p' "$work/bench.out")
if [ "$errors" != "0" ]; then
  echo "demo FAILED: $errors failed calls" >&2
  exit 1
fi
echo "demo OK: 0 failed wait-for-ready calls"
