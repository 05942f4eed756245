#!/usr/bin/env bash
# Whole-process unary benchmark: achan's client vs grpc++'s async client, same server,
# same run, alternating, with 1 and 64 calls in flight.
#
#   bench/compare.sh [--server grpcpp|achan] [--rounds N] [--duration-ms D] [--warmup-ms W]
#                    [--concurrency "1 64"] [--payload-size BYTES] [--io-threads N]
#                    [--server-threads N] [--achan-args "..."] [--build-dir DIR] [--no-build]
#
#   --server          which server the clients call: grpcpp (bench/grpcpp_async_server,
#                     default) or achan (testkit/achan_echo_server: achan's own server)
#   --rounds          runs of each client per concurrency (default 3); tables show medians
#   --duration-ms     measured time of each run (default 5000)
#   --warmup-ms       unmeasured warm-up of each run (default 1000)
#   --concurrency     calls in flight, space-separated list (default "1 64")
#   --payload-size    EchoRequest.payload bytes (default 64)
#   --io-threads      achan_load's HTTP/2 transport threads (default 1)
#   --server-threads  server threads: grpc++ completion-queue threads or achan I/O
#                     threads (default 1)
#   --achan-args      extra achan_load arguments, e.g. "--scheduler-threads 1" or
#                     "-- --work-stealing.moderate-poll-attempts=0" (CAF config; keep last)
#   --build-dir       build directory under the repo (default build-bench)
#   --no-build        use the binaries already in --build-dir
#
# Builds (Release, no sanitizers) with scripts/build.sh, starts the server on a free
# loopback port, then for each concurrency runs R rounds of grpcpp_async_client and
# achan_load (the order alternates per round so neither always runs first), keeping
# every JSON line in $OUT (default: a temp file; printed at the end). Prints a table of
# medians. Exits 1 if any run reported errors or failed, 2 on usage errors. The server
# is stopped on exit (trap). Client and server share the machine's cores: compare only
# figures from the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

server=grpcpp rounds=3 duration_ms=5000 warmup_ms=1000 concurrency="1 64" payload=64
io_threads=1 server_threads=1 build_dir=build-bench build=1 achan_args=
while [ $# -gt 0 ]; do
  case "$1" in
    --server) server=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration-ms) duration_ms=$2; shift 2 ;;
    --warmup-ms) warmup_ms=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --payload-size) payload=$2; shift 2 ;;
    --io-threads) io_threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --achan-args) achan_args=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done

bin=$root/$build_dir/bin
if [ "$build" = 1 ]; then
  "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -DACHAN_BUILD_TESTS=OFF \
    -DACHAN_BUILD_EXAMPLES=OFF -- grpcpp_async_server grpcpp_async_client achan_load \
    achan_echo_server
fi

work=$(mktemp -d)
out=${OUT:-$work/runs.jsonl}
: > "$out"
server_pid=
cleanup() {
  if [ -n "$server_pid" ] && kill -0 "$server_pid" 2>/dev/null; then
    kill -TERM "$server_pid" 2>/dev/null || true
    wait "$server_pid" 2>/dev/null || true
  fi
  rm -rf "$work"
}
trap cleanup EXIT

# Starts the chosen server on a free port; sets server_pid and port.
start_server() {
  case "$server" in
    grpcpp)
      "$bin/grpcpp_async_server" --port 0 --threads "$server_threads" >"$work/server.out" 2>&1 &
      server_pid=$!
      ;;
    achan)
      "$bin/achan_echo_server" --port 0 --threads "$server_threads" >"$work/server.out" 2>&1 &
      server_pid=$!
      ;;
    *) echo "compare.sh: --server must be grpcpp or achan" >&2; exit 2 ;;
  esac
  for _ in $(seq 100); do
    port=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$work/server.out")
    [ -n "$port" ] && return 0
    kill -0 "$server_pid" 2>/dev/null || break
    sleep 0.1
  done
  echo "compare.sh: $server server did not start:" >&2
  cat "$work/server.out" >&2
  exit 1
}

start_server
echo "server: $server on 127.0.0.1:$port; ${rounds} rounds x ${duration_ms} ms (+${warmup_ms} ms" \
  "warm-up) per client and concurrency; payload $payload B; achan io threads $io_threads" \
  "${achan_args:+; achan_load args: $achan_args}" >&2

failed=0
run_client() {  # client concurrency
  local cmd=("$bin/grpcpp_async_client") extra=()
  if [ "$1" = achan ]; then
    cmd=("$bin/achan_load" --io-threads "$io_threads")
    read -r -a extra <<<"$achan_args"
  fi
  if ! "${cmd[@]}" --target "127.0.0.1:$port" --concurrency "$2" --duration-ms "$duration_ms" \
    --warmup-ms "$warmup_ms" --payload-size "$payload" "${extra[@]}" >>"$out"; then
    echo "compare.sh: $1 client at concurrency $2 failed or reported errors" >&2
    failed=1
  fi
}

for c in $concurrency; do
  for r in $(seq "$rounds"); do
    if [ $((r % 2)) = 1 ]; then
      run_client grpcpp "$c"; run_client achan "$c"
    else
      run_client achan "$c"; run_client grpcpp "$c"
    fi
    tail -n 2 "$out" >&2
  done
done

echo "runs:"
cat "$out"
echo
# Medians per (client, concurrency), then one table row per concurrency.
awk -v conc="$concurrency" '
  function field(line, name,   re, m) {
    re = "\"" name "\":(\"[^\"]*\"|[-0-9.e+]+)"
    if (!match(line, re)) return ""
    m = substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
    gsub(/"/, "", m)
    return m
  }
  function median(key,   n, i, j, t, a) {
    n = cnt[key]
    for (i = 1; i <= n; i++) a[i] = vals[key, i]
    for (i = 2; i <= n; i++) { t = a[i]; for (j = i - 1; j >= 1 && a[j] > t; j--) a[j + 1] = a[j]; a[j + 1] = t }
    if (n == 0) return 0
    return n % 2 ? a[(n + 1) / 2] : (a[n / 2] + a[n / 2 + 1]) / 2
  }
  /^\{/ {
    cl = field($0, "client"); c = field($0, "concurrency")
    split("qps p50_us p99_us cpu_us_per_call errors", names, " ")
    for (k in names) { key = cl SUBSEP c SUBSEP names[k]; vals[key, ++cnt[key]] = field($0, names[k]) + 0 }
  }
  END {
    printf "%5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s\n", "calls", "grpc++", "achan", "ratio", \
      "p50 g++", "p50 ach", "p99 g++", "p99 ach", "cpu g++", "cpu ach", "ratio"
    printf "%5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s\n", "in fl", "qps", "qps", "ach/g", \
      "us", "us", "us", "us", "us/call", "us/call", "ach/g"
    n = split(conc, cs, " ")
    for (i = 1; i <= n; i++) {
      c = cs[i]
      gq = median("grpcpp" SUBSEP c SUBSEP "qps"); aq = median("achan" SUBSEP c SUBSEP "qps")
      gc = median("grpcpp" SUBSEP c SUBSEP "cpu_us_per_call"); ac = median("achan" SUBSEP c SUBSEP "cpu_us_per_call")
      printf "%5s | %9.0f %9.0f %6.2f | %8.0f %8.0f | %8.0f %8.0f | %7.1f %7.1f %6.2f\n", c, gq, aq, gq ? aq / gq : 0, \
        median("grpcpp" SUBSEP c SUBSEP "p50_us"), median("achan" SUBSEP c SUBSEP "p50_us"), \
        median("grpcpp" SUBSEP c SUBSEP "p99_us"), median("achan" SUBSEP c SUBSEP "p99_us"), \
        gc, ac, gc ? ac / gc : 0
    }
  }' "$out"
echo "(medians of $rounds runs each; ratio > 1 means achan is faster / uses more CPU per call)"

if [ "$failed" = 1 ]; then
  echo "compare.sh: FAILED: at least one run failed or reported errors (see runs above)" >&2
  exit 1
fi
