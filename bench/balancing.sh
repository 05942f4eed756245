#!/usr/bin/env bash
# The slow-backend scenario (issue 14), policy by policy side by side: four `achan serve`
# backends, one answering every call 20 ms late (--delay), all reporting ORCA load
# (--orca); `achan bench -c 32` (64-byte Echo/Unary) with each policy in alternating
# rounds. Reports, medians over the rounds: QPS, the slow backend's share of calls, p50
# and p99 of all calls, and the slow backend's own p50. Expectation (issue 14):
# least_request and peak_ewma send it < 10 % of calls (round_robin: 25 %) and p99 drops.
#
#   bench/balancing.sh [--rounds N] [--duration S] [--concurrency C] [--delay D]
#                      [--policies "round_robin least_request ..."] [--build-dir DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 duration=3 concurrency=32 delay=20ms build=build-bench
policies="round_robin least_request peak_ewma"
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --delay) delay=$2; shift 2 ;;
    --policies) policies=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,11p' "$0"; exit 0 ;;
    *) echo "balancing.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin="$root/$build/bin"
[ -x "$bin/achan" ] || { echo "balancing.sh: build $build first (scripts/build.sh $build Release)" >&2; exit 2; }
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

ports=()
for i in 0 1 2 3; do
  extra=(--orca)
  [ "$i" = 3 ] && extra+=(--delay "$delay")
  "$bin/achan" serve --port 0 --name "b$i" --grace 1s "${extra[@]}" >"$work/serve$i.log" 2>&1 &
  pids+=($!)
  port=
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/serve$i.log")
    [ -n "$port" ] && break
    sleep 0.1
  done
  [ -n "$port" ] || { echo "balancing.sh: achan serve $i did not start" >&2; cat "$work/serve$i.log" >&2; exit 1; }
  ports+=("$port")
done
slow="127.0.0.1:${ports[3]}"
target="ipv4:127.0.0.1:${ports[0]},127.0.0.1:${ports[1]},127.0.0.1:${ports[2]},$slow"
payload=$(head -c 64 /dev/zero | tr '\0' 'x' | base64 -w0)
read -r -a pl <<<"$policies"

for r in $(seq "$rounds"); do
  for i in "${!pl[@]}"; do
    p=${pl[$(( (i + r) % ${#pl[@]} ))]}
    line=$("$bin/achan" bench "$target" /achan.test.Echo/Unary -I "$root/proto" --proto echo.proto \
      -d "{\"payload\":\"$payload\"}" --lb "$p" --concurrency "$concurrency" \
      --duration "${duration}s" --warmup 1s --deadline 5s --json 2>"$work/err") ||
      { echo "balancing.sh: $p run failed:" >&2; cat "$work/err" >&2; exit 1; }
    count=$(sed -n 's/.*"count":\([0-9]*\).*/\1/p' <<<"$line")
    qps=$(sed -n 's/.*"qps":\([0-9.]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.*"latency_us":{"p50":\([0-9.e+-]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.*"latency_us":{[^}]*"p99":\([0-9.e+-]*\).*/\1/p' <<<"$line")
    slow_n=$(grep -o "\"per_backend\":{[^}]*}" <<<"$line" | grep -o "\"$slow\":[0-9]*" | cut -d: -f3)
    slow_p50=$(grep -o "\"$slow\":{\"p50\":[0-9.e+-]*" <<<"$line" | sed 's/.*"p50"://')
    echo "round $r $p qps $qps share $(awk -v s="${slow_n:-0}" -v c="$count" 'BEGIN { printf "%.4f", c ? s / c : 0 }') p50 $p50 p99 $p99 slow_p50 ${slow_p50:-0}" |
      tee -a "$work/runs" >&2
  done
done

echo "slow backend: $slow (--delay $delay), $concurrency in flight, medians of $rounds round(s) x ${duration} s"
awk -v policies="$policies" '
  { n[$3]++; q[$3, n[$3]] = $5; s[$3, n[$3]] = $7; a[$3, n[$3]] = $9; b[$3, n[$3]] = $11; c[$3, n[$3]] = $13 }
  function median(arr, p, k,   i, j, t, v) {
    for (i = 1; i <= k; i++) v[i] = arr[p, i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  END {
    printf "%-22s %10s %11s %10s %10s %14s\n", "policy", "QPS", "slow share", "p50 us", "p99 us", "slow p50 us"
    k = split(policies, ps, " ")
    for (i = 1; i <= k; i++) {
      p = ps[i]
      printf "%-22s %10.0f %10.1f%% %10.1f %10.1f %14.1f\n", p, median(q, p, n[p]), 100 * median(s, p, n[p]),
        median(a, p, n[p]), median(b, p, n[p]), median(c, p, n[p])
    }
  }' "$work/runs"
