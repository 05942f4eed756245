#!/usr/bin/env bash
# What a service config costs on the fast path (issue 13): `achan bench` against
# `achan serve`, 64-byte Echo/Unary, side by side in alternating rounds:
#   plain    no service config
#   retry    a retryPolicy on UNAVAILABLE for the method (unused: every call succeeds)
#   hedge    a hedgingPolicy, maxAttempts 2, hedgingDelay 10s (the hedge is never sent:
#            the cost of the actor hop and timer every hedged call takes)
# (A hedgingDelay of 0, every call sent twice and the loser reset, is not measured: at
# ~70 000 resets/s `achan serve`'s rapid-reset guard, 33/s after a burst of 1000, closes
# the connection, as it should.)
# Medians of QPS and client CPU per call, and each variant's ratio to plain measured in
# the same rounds. Target: retry / plain QPS >= 0.95 at 64 in flight. Not part of the test
# run.
#
#   bench/service_config.sh [--rounds N] [--duration S] [--concurrency C] [--build-dir DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=7 duration=4 concurrency=64 build=build-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,14p' "$0"; exit 0 ;;
    *) echo "service_config.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin="$root/$build/bin"
[ -x "$bin/achan" ] || { echo "service_config.sh: build $build first (scripts/build.sh $build Release)" >&2; exit 2; }
work=$(mktemp -d)
trap 'kill "$server" 2>/dev/null || true; rm -rf "$work"' EXIT

"$bin/achan" serve --port 0 --grace 1s --max-concurrent-streams 1000 >"$work/serve.log" 2>&1 &
server=$!
port=
for _ in $(seq 100); do
  port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve.log")
  [ -n "$port" ] && break
  sleep 0.1
done
[ -n "$port" ] || { echo "service_config.sh: achan serve did not start" >&2; exit 1; }

method='"name": [{"service": "achan.test.Echo"}]'
declare -A config=(
  [plain]=''
  [retry]='{"methodConfig": [{'"$method"', "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]}'
  [hedge]='{"methodConfig": [{'"$method"', "hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "10s"}}]}'
)
variants=(plain retry hedge)
payload=$(head -c 64 /dev/zero | tr '\0' 'x' | base64 -w0)

for r in $(seq "$rounds"); do
  # Rotate the order so no variant always runs first (or last) in a round.
  for i in "${!variants[@]}"; do
    v=${variants[$(( (i + r) % ${#variants[@]} ))]}
    args=()
    [ -n "${config[$v]}" ] && args=(--service-config "${config[$v]}")
    line=$("$bin/achan" bench "127.0.0.1:$port" /achan.test.Echo/Unary -I "$root/proto" \
      --proto echo.proto -d "{\"payload\":\"$payload\"}" --concurrency "$concurrency" \
      --duration "${duration}s" --warmup 1s --deadline 5s --json "${args[@]}" 2>"$work/err") ||
      { echo "service_config.sh: $v run failed:" >&2; cat "$work/err" >&2; exit 1; }
    qps=$(sed -n 's/.*"qps":\([0-9.]*\).*/\1/p' <<<"$line")
    cpu=$(sed -n 's/.*"cpu_us_per_call":\([0-9.]*\).*/\1/p' <<<"$line")
    ok=$(sed -n 's/.*"errors":{}.*/ok/p' <<<"$line")
    [ "$ok" = ok ] || { echo "service_config.sh: $v run had errors: $line" >&2; exit 1; }
    echo "round $r $v qps $qps cpu_us $cpu" | tee -a "$work/runs" >&2
  done
done

awk -v rounds="$rounds" '
  { q[$3, $2] = $5; c[$3, $2] = $7 }
  function median(a, n,   i, j, t) {
    for (i = 1; i <= n; i++) for (j = i + 1; j <= n; j++) if (a[j] < a[i]) { t = a[i]; a[i] = a[j]; a[j] = t }
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  END {
    split("plain retry hedge", vs, " ")
    printf "%-8s %12s %10s %14s %12s\n", "variant", "QPS", "CPU us", "QPS/plain", "CPU/plain"
    for (k = 1; k <= 3; k++) {
      v = vs[k]
      for (r = 1; r <= rounds; r++) { qa[r] = q[v, r]; ca[r] = c[v, r]; rq[r] = q[v, r] / q["plain", r]; rc[r] = c[v, r] / c["plain", r] }
      printf "%-8s %12.0f %10.2f %14.3f %12.3f\n", v, median(qa, rounds), median(ca, rounds), median(rq, rounds), median(rc, rounds)
    }
  }' "$work/runs"
