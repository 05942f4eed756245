#!/usr/bin/env bash
# The fault proxy's cost with no toxics (issue 15), side by side with a direct
# connection: (1) unary 64-byte Echo/Unary p50 and QPS at 64 calls in flight through
# `achan fault-proxy` vs straight to `achan serve`, alternating rounds (target: <= 30 %
# added to p50); (2) bulk streaming GB/s through the proxy vs direct (fault_proxy_bench;
# target: >= 1 GB/s). Medians over the rounds.
#
#   bench/fault_proxy.sh [--rounds N] [--duration S] [--concurrency C] [--bytes N] [--build-dir DIR]
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
rounds=3 duration=3 concurrency=64 bytes=2000000000 build=build-bench
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --bytes) bytes=$2; shift 2 ;;
    --build-dir) build=$2; shift 2 ;;
    -h|--help) sed -n '2,8p' "$0"; exit 0 ;;
    *) echo "fault_proxy.sh: unknown argument $1" >&2; exit 2 ;;
  esac
done
bin="$root/$build/bin"
for b in achan fault_proxy_bench; do
  [ -x "$bin/$b" ] || { echo "fault_proxy.sh: build $b in $build first (bench/README.md)" >&2; exit 2; }
done
work=$(mktemp -d)
pids=()
trap 'kill "${pids[@]}" 2>/dev/null || true; rm -rf "$work"' EXIT

wait_for() {  # FILE SED-EXPRESSION: prints the first match, waiting up to 10 s
  local v=
  for _ in $(seq 100); do
    v=$(sed -n "$2" "$1")
    [ -n "$v" ] && { echo "$v"; return; }
    sleep 0.1
  done
  echo "fault_proxy.sh: no match in $1" >&2; cat "$1" >&2; exit 1
}

"$bin/achan" serve --port 0 --name direct --grace 1s >"$work/serve.log" 2>&1 &
pids+=($!)
port=$(wait_for "$work/serve.log" 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p')
echo "[{\"name\":\"echo\",\"listen\":\"127.0.0.1:0\",\"upstream\":\"127.0.0.1:$port\"}]" >"$work/proxies.json"
"$bin/achan" fault-proxy --api 127.0.0.1:0 --config "$work/proxies.json" >"$work/proxy.log" 2>&1 &
pids+=($!)
proxy=$(wait_for "$work/proxy.log" 's/.*proxy listening proxy=echo listen=\(127\.0\.0\.1:[0-9]*\).*/\1/p')
payload=$(head -c 64 /dev/zero | tr '\0' 'x' | base64 -w0)

for r in $(seq "$rounds"); do
  for path in direct proxy; do
    addr="127.0.0.1:$port"
    [ "$path" = proxy ] && addr=$proxy
    line=$("$bin/achan" bench "ipv4:$addr" /achan.test.Echo/Unary -I "$root/proto" --proto echo.proto \
      -d "{\"payload\":\"$payload\"}" --concurrency "$concurrency" --duration "${duration}s" \
      --warmup 1s --deadline 5s --json 2>"$work/err") ||
      { echo "fault_proxy.sh: $path run failed:" >&2; cat "$work/err" >&2; exit 1; }
    qps=$(sed -n 's/.*"qps":\([0-9.]*\).*/\1/p' <<<"$line")
    p50=$(sed -n 's/.*"latency_us":{"p50":\([0-9.e+-]*\).*/\1/p' <<<"$line")
    p99=$(sed -n 's/.*"latency_us":{[^}]*"p99":\([0-9.e+-]*\).*/\1/p' <<<"$line")
    echo "round $r $path qps $qps p50 $p50 p99 $p99" | tee -a "$work/runs" >&2
  done
done

echo "unary 64-byte Echo/Unary, $concurrency in flight, medians of $rounds round(s) x ${duration} s"
awk '
  { n[$3]++; q[$3, n[$3]] = $5; a[$3, n[$3]] = $7; b[$3, n[$3]] = $9 }
  function median(arr, p, k,   i, j, t, v) {
    for (i = 1; i <= k; i++) v[i] = arr[p, i]
    for (i = 1; i <= k; i++) for (j = i + 1; j <= k; j++) if (v[j] < v[i]) { t = v[i]; v[i] = v[j]; v[j] = t }
    return k % 2 ? v[(k + 1) / 2] : (v[k / 2] + v[k / 2 + 1]) / 2
  }
  END {
    printf "%-8s %10s %10s %10s\n", "path", "QPS", "p50 us", "p99 us"
    for (i = 1; i <= 2; i++) {
      p = i == 1 ? "direct" : "proxy"
      printf "%-8s %10.0f %10.1f %10.1f\n", p, median(q, p, n[p]), median(a, p, n[p]), median(b, p, n[p])
    }
    printf "proxy / direct p50: %.3f\n", median(a, "proxy", n["proxy"]) / median(a, "direct", n["direct"])
  }' "$work/runs"
echo "bulk streaming, $bytes bytes per run:"
"$bin/fault_proxy_bench" --bytes "$bytes" --reps "$rounds" | tail -1
