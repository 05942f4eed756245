#!/usr/bin/env bash
# Whole-process unary benchmark: achan's client vs grpc++'s async client, same server,
# same run, alternating, with 1 and 64 calls in flight (bench/suite.sh runs it for both
# servers at 1, 64 and 256).
#
#   bench/compare.sh [--server "grpcpp achan"] [--rounds N] [--duration-ms D] [--warmup-ms W]
#                    [--concurrency "1 64"] [--payload-size BYTES] [--timeout-ms T]
#                    [--server-threads N] [--achan-client bench|load] [--io-threads N]
#                    [--achan-args "..."] [--summary FILE] [--build-dir DIR] [--no-build]
#                    [--tls | --modes "h2c tls"] [--handshake N] [--max-other-load CORES]
#                    [--retries K]
#
#   --server          which servers the clients call, space-separated, one after the
#                     other: grpcpp (bench/grpcpp_async_server, the default) and/or achan
#                     (`achan serve`: achan's own server with the echo test service)
#   --rounds          runs of each client per server and concurrency (default 3); the
#                     table shows medians
#   --duration-ms     measured time of each run (default 5000)
#   --warmup-ms       unmeasured warm-up of each run (default 1000)
#   --concurrency     calls in flight, space-separated list (default "1 64")
#   --payload-size    EchoRequest.payload bytes (default 64)
#   --timeout-ms      per-call deadline of both clients (default 10000)
#   --server-threads  server threads: grpc++ completion-queue threads or achan I/O
#                     threads (default 1)
#   --achan-client    achan's load client: bench (default: `achan bench ... --json`, the
#                     CLI's load loop) or load (bench/achan_load, the dedicated program)
#   --io-threads      achan_load's HTTP/2 transport threads (default 1; `achan bench`
#                     always uses 1)
#   --achan-args      extra arguments for achan's client, e.g. "--lb round_robin" for
#                     `achan bench`, or "--scheduler-threads 1" /
#                     "-- --work-stealing.moderate-poll-attempts=0" for achan_load
#   --summary FILE    also append one tab-separated line of medians per server and
#                     concurrency to FILE (bench/suite.sh reads it):
#                     server calls qps_g qps_a qps_ratio p50_g p50_a p99_g p99_a
#                     cpu_g cpu_a cpu_ratio verdict
#   --build-dir       build directory under the repo (default build-bench)
#   --no-build        use the binaries already in --build-dir
#   --tls             TLS only (= --modes tls)
#   --modes           h2c and/or tls (default h2c). With tls, a CA and a server
#                     certificate for localhost / 127.0.0.1 (ECDSA P-256, 2 days) are made
#                     with `openssl` into the temp dir; each server is started a second
#                     time with them (grpcpp_async_server --tls-cert --tls-key, achan serve
#                     --tls-cert --tls-key) and both clients dial it over TLS
#                     (grpcpp_async_client --tls-ca CA --server-name localhost, achan bench
#                     --cacert CA --servername localhost). With both modes, both servers of
#                     a kind run at once and each round runs all four (mode, client)
#                     pairs in a rotating order. TLS rows are named SERVER+tls; with both
#                     modes a second table gives TLS / h2c CPU per call per client (issue
#                     12's target: <= 1.3x)
#   --handshake N     also time N fresh channels to READY against each server and mode
#                     (bench/handshake_bench, achan's and grpc++'s client; median, p90)
#   --max-other-load  a round's batch (every run of one server, concurrency and round) is
#                     run again when processes other than this script's used more than
#                     this many cores on average meanwhile (/proc/stat minus our own
#                     processes' CPU; default 0.3; 0: never)
#   --retries K       at most K such reruns per batch (default 2); the last try is kept
#                     whatever the load, marked in the load log
#
# Builds (Release, no sanitizers) with scripts/build.sh, then per server: starts it on a
# free loopback port, runs R rounds of grpcpp_async_client and achan's client per
# concurrency (the order rotates per round so none always runs first), stops it.
# Every run's JSON line goes to $OUT (default: a temp file; printed at the end) in the
# grpc++ client's format with "server" added; `achan bench`'s JSON object is converted
# to that format (errors = count - ok; its latencies are from its histogram, within
# 1.6 %). Prints a table of medians whose last column judges the 64-in-flight rows
# against issue 4's targets: achan's QPS >= 2.5x grpc++'s, CPU per call <= 0.3x, p99 no
# worse (PASS, or MISS and what missed). Exits 1 if any run failed or reported an error
# (the table is still printed), 2 on usage errors; a MISS alone does not fail. Servers
# are stopped on exit (trap). Client and server share the machine's cores: compare only
# figures from the same run.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)

servers=grpcpp rounds=3 duration_ms=5000 warmup_ms=1000 concurrency="1 64" payload=64
timeout_ms=10000 io_threads=1 server_threads=1 build_dir=build-bench build=1 achan_args=
achan_client=bench summary= modes=h2c handshake=0 max_other_load=0.3 retries=2
while [ $# -gt 0 ]; do
  case "$1" in
    --server) servers=$2; shift 2 ;;
    --rounds) rounds=$2; shift 2 ;;
    --duration-ms) duration_ms=$2; shift 2 ;;
    --warmup-ms) warmup_ms=$2; shift 2 ;;
    --concurrency) concurrency=$2; shift 2 ;;
    --payload-size) payload=$2; shift 2 ;;
    --timeout-ms) timeout_ms=$2; shift 2 ;;
    --io-threads) io_threads=$2; shift 2 ;;
    --server-threads) server_threads=$2; shift 2 ;;
    --achan-client) achan_client=$2; shift 2 ;;
    --achan-args) achan_args=$2; shift 2 ;;
    --summary) summary=$2; shift 2 ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --no-build) build=0; shift ;;
    --tls) modes=tls; shift ;;
    --modes) modes=$2; shift 2 ;;
    --handshake) handshake=$2; shift 2 ;;
    --max-other-load) max_other_load=$2; shift 2 ;;
    --retries) retries=$2; shift 2 ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "compare.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
for s in $servers; do
  case "$s" in grpcpp|achan) ;; *) echo "compare.sh: --server takes grpcpp and/or achan" >&2; exit 2 ;; esac
done
for m in $modes; do
  case "$m" in h2c|tls) ;; *) echo "compare.sh: --modes takes h2c and/or tls" >&2; exit 2 ;; esac
done
[ -n "$modes" ] || { echo "compare.sh: --modes is empty" >&2; exit 2; }
case "$max_other_load" in ''|*[!0-9.]*) echo "compare.sh: --max-other-load takes cores, e.g. 0.3" >&2; exit 2 ;; esac
case "$achan_client" in bench|load) ;; *) echo "compare.sh: --achan-client must be bench or load" >&2; exit 2 ;; esac
for n in "$rounds" "$duration_ms" "$warmup_ms" "$payload" "$timeout_ms" "$handshake" "$retries" \
  $concurrency; do
  case "$n" in ''|*[!0-9]*) echo "compare.sh: '$n' is not a number" >&2; exit 2 ;; esac
done

if [ "$achan_client" = bench ] && [ $((warmup_ms % 1000)) != 0 ]; then
  # cli/bench_run.cpp samples the CPU at its first wake-up after the warm-up, and it wakes
  # once a second: the window then starts late and CPU per call comes out too low.
  echo "compare.sh: warning: with --warmup-ms not a multiple of 1000, achan bench's CPU per" \
    "call is understated (it samples CPU time on a 1 s tick)" >&2
fi

bin=$root/$build_dir/bin
if [ "$build" = 1 ]; then
  targets=(grpcpp_async_server grpcpp_async_client achan)
  [ "$achan_client" = load ] && targets+=(achan_load)
  [ "$handshake" != 0 ] && targets+=(handshake_bench)
  "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -DACHAN_BUILD_TESTS=OFF \
    -DACHAN_BUILD_EXAMPLES=OFF -- "${targets[@]}"
fi

work=$(mktemp -d)
out=${OUT:-$work/runs.jsonl}
: > "$out"
: > "$work/load.log"
: > "$work/handshake.jsonl"
declare -A server_pid=() port=()
stop_servers() {
  local m
  for m in "${!server_pid[@]}"; do
    if kill -0 "${server_pid[$m]}" 2>/dev/null; then
      kill -TERM "${server_pid[$m]}" 2>/dev/null || true
      wait "${server_pid[$m]}" 2>/dev/null || true
    fi
  done
  server_pid=() port=()
}
cleanup() {
  stop_servers
  rm -rf "$work"
}
trap cleanup EXIT

# A throw-away CA and a server certificate it signed, for localhost and 127.0.0.1.
if [[ " $modes " == *" tls "* ]]; then
  (
    cd "$work"
    openssl req -x509 -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout ca.key \
      -out ca.pem -subj /CN=achan-bench-ca -days 2 \
      -addext basicConstraints=critical,CA:TRUE -addext keyUsage=critical,keyCertSign,cRLSign
    openssl req -newkey ec -pkeyopt ec_paramgen_curve:P-256 -nodes -keyout server.key \
      -out server.csr -subj /CN=localhost
    printf '%s\n' "subjectAltName=DNS:localhost,IP:127.0.0.1" "basicConstraints=CA:FALSE" \
      "keyUsage=critical,digitalSignature" "extendedKeyUsage=serverAuth" >server.ext
    openssl x509 -req -in server.csr -CA ca.pem -CAkey ca.key -set_serial 2 -days 2 \
      -extfile server.ext -out server.pem
  ) >"$work/openssl.log" 2>&1 || { cat "$work/openssl.log" >&2; exit 1; }
fi
tls_server_name=localhost

# Starts server $1 in mode $2 (h2c or tls) on a free port; sets server_pid[$2], port[$2].
start_server() {
  local kind=$1 mode=$2 tls=() log="$work/server-$2.out"
  case "$kind/$mode" in
    grpcpp/tls) tls=(--tls-cert "$work/server.pem" --tls-key "$work/server.key") ;;
    achan/tls) tls=(--tls-cert "$work/server.pem" --tls-key "$work/server.key") ;;
  esac
  : >"$log"  # before the server's own redirection (which runs in the background) makes it
  case "$kind" in
    grpcpp) "$bin/grpcpp_async_server" --port 0 --threads "$server_threads" "${tls[@]}" \
              >"$log" 2>&1 & ;;
    # (1000 streams per connection, as before the default became 100: the grpc++ server
    # has no limit, and 256 calls in flight on one connection would otherwise queue 156.)
    achan) "$bin/achan" serve --port 0 --threads "$server_threads" --grace 1s \
             --max-concurrent-streams 1000 "${tls[@]}" >"$log" 2>&1 & ;;
  esac
  server_pid[$mode]=$!
  for _ in $(seq 100); do
    port[$mode]=$(sed -n 's/^listening on 127\.0\.0\.1:\([0-9]*\)$/\1/p' "$log")
    [ -n "${port[$mode]}" ] && return 0
    kill -0 "${server_pid[$mode]}" 2>/dev/null || break
    sleep 0.1
  done
  echo "compare.sh: $kind server ($mode) did not start:" >&2
  cat "$log" >&2
  exit 1
}

# CPU accounting for --max-other-load, all in clock ticks (USER_HZ).
hz=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }
# Sets ours: this shell and its children that have ended (`times`, which must run in this
# shell, not in a $(...) subshell) + the live servers.
sample_ours() {
  local t m
  times >"$work/times"
  t=$(awk -v hz="$hz" '{
        for (i = 1; i <= 2; i++) { split($i, a, "m"); n += a[1] * 60 + a[2] } }
        END { printf "%.0f", n * hz }' "$work/times")
  for m in "${!server_pid[@]}"; do
    # utime + stime of all threads; fields after the ")" that ends the command name
    t=$((t + $(sed 's/^.*) //' "/proc/${server_pid[$m]}/stat" | awk '{ print $12 + $13 }')))
  done
  ours=$t
}

# The same payload bytes grpcpp_async_client and achan_load send ('p' x N), as JSON base64.
payload_b64=$(head -c "$payload" /dev/zero | tr '\0' p | base64 -w0)

# `achan bench --json` object (stdin) -> one line in the load clients' format.
convert_bench_json() {  # server concurrency
  awk -v server="$1" -v conc="$2" '
    function field(line, name,   re, m) {
      re = "\"" name "\":[-0-9.e+]+"
      if (!match(line, re)) return ""
      return substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
    }
    /^\{.*"count":/ {
      n = field($0, "count"); ok = field($0, "ok")
      printf "{\"server\":\"%s\",\"client\":\"achan\",\"concurrency\":%d,\"count\":%d,\"errors\":%d," \
        "\"qps\":%.1f,\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"cpu_us_per_call\":%.2f," \
        "\"via\":\"achan bench\"}\n", server, conc, n, n - ok, field($0, "qps"), field($0, "p50"),
        field($0, "p90"), field($0, "p99"), field($0, "cpu_us_per_call")
      found = 1
    }
    END { exit found ? 0 : 1 }'
}

failed=0
run_client() {  # server client concurrency mode: appends its JSON line to $batch
  local server=$1 client=$2 c=$3 mode=$4 extra=() line rc=0 gtls=() atls=() port=${port[$4]}
  read -r -a extra <<<"$achan_args"
  if [ "$mode" = tls ]; then
    server=$server+tls
    gtls=(--tls-ca "$work/ca.pem" --server-name "$tls_server_name")
    atls=(--cacert "$work/ca.pem" --servername "$tls_server_name")
    [ "$achan_client" = load ] && { echo "compare.sh: --achan-client load has no TLS" >&2; exit 2; }
  fi
  if [ "$client" = grpcpp ]; then
    "$bin/grpcpp_async_client" "${gtls[@]}" --target "127.0.0.1:$port" --concurrency "$c" \
      --duration-ms "$duration_ms" --warmup-ms "$warmup_ms" --payload-size "$payload" \
      --timeout-ms "$timeout_ms" >"$work/run.out" 2>"$work/run.err" || rc=$?
    line=$(sed -n '/^{/{s/^{/{"server":"'"$server"'",/;p;q}' "$work/run.out")
  elif [ "$achan_client" = load ]; then
    "$bin/achan_load" --io-threads "$io_threads" --target "127.0.0.1:$port" --concurrency "$c" \
      --duration-ms "$duration_ms" --warmup-ms "$warmup_ms" --payload-size "$payload" \
      --timeout-ms "$timeout_ms" "${extra[@]}" >"$work/run.out" 2>"$work/run.err" || rc=$?
    line=$(sed -n '/^{/{s/^{/{"server":"'"$server"'",/;p;q}' "$work/run.out")
  else
    # stderr to a file: no progress line (it is only drawn on a terminal).
    "$bin/achan" bench "127.0.0.1:$port" /achan.test.Echo/Unary -I "$root/proto" \
      --proto echo.proto -d "{\"payload\":\"$payload_b64\"}" --concurrency "$c" \
      --duration "${duration_ms}ms" --warmup "${warmup_ms}ms" --deadline "${timeout_ms}ms" \
      --json "${atls[@]}" "${extra[@]}" >"$work/run.out" 2>"$work/run.err" || rc=$?
    line=$(convert_bench_json "$server" "$c" <"$work/run.out") || line=
  fi
  if [ -n "$line" ]; then
    echo "$line" >>"$batch"
    echo "$line" >&2
  fi
  if [ "$rc" != 0 ] || [ -z "$line" ] || ! grep -q '"errors":0,' <<<"$line" ||
    grep -q '"count":0,' <<<"$line"; then
    echo "compare.sh: $client client against the $server server at concurrency $c failed" \
      "(exit $rc) or reported errors; its output:" >&2
    cat "$work/run.out" "$work/run.err" >&2
    failed=1
  fi
}

# Every (mode, client) pair of a round; the order rotates from round to round.
pairs=()
for m in $modes; do pairs+=("$m grpcpp" "$m achan"); done
np=${#pairs[@]}

# handshake_bench against the running servers: achan's and grpc++'s client, every mode.
run_handshake() {  # server
  local m cl tls=() label
  for m in $modes; do
    tls=()
    [ "$m" = tls ] && tls=(--tls-ca "$work/ca.pem" --server-name "$tls_server_name")
    for cl in achan grpcpp; do
      label=$1; [ "$m" = tls ] && label=$1+tls
      if line=$("$bin/handshake_bench" --target "127.0.0.1:${port[$m]}" --client "$cl" \
          --count "$handshake" "${tls[@]}" 2>"$work/hs.err"); then
        line="{\"server\":\"$label\",${line#\{}"
        echo "$line" | tee -a "$work/handshake.jsonl" >&2
      else
        echo "compare.sh: handshake_bench ($cl, $m) against the $1 server failed:" >&2
        cat "$work/hs.err" >&2
        failed=1
      fi
    done
  done
}

for server in $servers; do
  for m in $modes; do start_server "$server" "$m"; done
  echo "server: $server ($(for m in $modes; do printf '%s on 127.0.0.1:%s ' "$m" "${port[$m]}"; done));" \
    "${rounds} rounds x ${duration_ms} ms (+${warmup_ms} ms warm-up) per client, mode and" \
    "concurrency; payload $payload B; achan client: $achan_client${achan_args:+ $achan_args}" >&2
  for c in $concurrency; do
    for r in $(seq "$rounds"); do
      for try in $(seq 0 "$retries"); do
        batch=$work/batch.jsonl
        : > "$batch"
        sample_ours; t0=$(date +%s.%N) b0=$(busy_ticks) o0=$ours
        for i in $(seq 0 $((np - 1))); do
          read -r m cl <<<"${pairs[$(((i + r - 1) % np))]}"
          run_client "$server" "$cl" "$c" "$m"
        done
        sample_ours; t1=$(date +%s.%N) b1=$(busy_ticks) o1=$ours
        others=$(awk -v b="$((b1 - b0))" -v o="$((o1 - o0))" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
          'BEGIN { v = (b - o) / hz / (t1 - t0); printf "%.2f", v < 0 ? 0 : v }')
        ours=$(awk -v o="$((o1 - o0))" -v t0="$t0" -v t1="$t1" -v hz="$hz" \
          'BEGIN { printf "%.2f", o / hz / (t1 - t0) }')
        busy=$(awk -v x="$others" -v max="$max_other_load" 'BEGIN { print (max > 0 && x > max) ? 1 : 0 }')
        kept=1
        [ "$busy" = 1 ] && [ "$try" -lt "$retries" ] && kept=0
        printf '%s\t%s\t%s\t%s\t%s\t%s\t%s\n' "$server" "$c" "$r" "$try" "$others" "$ours" \
          "$([ "$kept" = 1 ] && { [ "$busy" = 1 ] && echo kept-busy || echo kept; } || echo rerun)" \
          >>"$work/load.log"
        echo "load: $server, $c in flight, round $r, try $((try + 1)): other processes" \
          "$others cores, ours $ours cores$([ "$kept" = 0 ] && echo ' -> rerun')" >&2
        if [ "$kept" = 1 ]; then cat "$batch" >>"$out"; break; fi
      done
    done
  done
  [ "$handshake" != 0 ] && run_handshake "$server"
  stop_servers
done

echo "runs:"
cat "$out"
echo
keys=
for s in $servers; do
  for m in $modes; do
    if [ "$m" = tls ]; then keys="$keys $s+tls"; else keys="$keys $s"; fi
  done
done
# Medians per (server, client, concurrency), then one table row per server and concurrency.
awk -v servers="${keys# }" -v conc="$concurrency" -v summary="$summary" '
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
  function m(s, cl, c, name) { return median(s SUBSEP cl SUBSEP c SUBSEP name) }
  /^\{/ {
    s = field($0, "server"); cl = field($0, "client"); c = field($0, "concurrency")
    split("qps p50_us p99_us cpu_us_per_call", names, " ")
    for (k in names) { key = s SUBSEP cl SUBSEP c SUBSEP names[k]; vals[key, ++cnt[key]] = field($0, names[k]) + 0 }
  }
  END {
    fmt = "%-10s %5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s | %s\n"
    printf fmt, "server", "calls", "grpc++", "achan", "ratio", "p50 g++", "p50 ach", "p99 g++", "p99 ach", \
      "cpu g++", "cpu ach", "ratio", "targets @64"
    printf fmt, "", "in fl", "qps", "qps", "ach/g", "us", "us", "us", "us", "us/call", "us/call", "ach/g", \
      "qps>=2.5x cpu<=0.3x p99<="
    ns = split(servers, ss, " "); n = split(conc, cs, " ")
    for (si = 1; si <= ns; si++) for (i = 1; i <= n; i++) {
      s = ss[si]; c = cs[i]
      gq = m(s, "grpcpp", c, "qps"); aq = m(s, "achan", c, "qps")
      gc = m(s, "grpcpp", c, "cpu_us_per_call"); ac = m(s, "achan", c, "cpu_us_per_call")
      g50 = m(s, "grpcpp", c, "p50_us"); a50 = m(s, "achan", c, "p50_us")
      g99 = m(s, "grpcpp", c, "p99_us"); a99 = m(s, "achan", c, "p99_us")
      qr = gq ? aq / gq : 0; cr = gc ? ac / gc : 0
      verdict = "-"
      if (c == 64) {
        miss = ""
        if (!(qr >= 2.5)) miss = miss ",qps"
        if (!(cr > 0 && cr <= 0.3)) miss = miss ",cpu"
        if (!(a99 > 0 && a99 <= g99)) miss = miss ",p99"
        verdict = miss == "" ? "PASS" : "MISS(" substr(miss, 2) ")"
      }
      printf "%-10s %5s | %9.0f %9.0f %6.2f | %8.0f %8.0f | %8.0f %8.0f | %7.1f %7.1f %6.2f | %s\n", \
        s, c, gq, aq, qr, g50, a50, g99, a99, gc, ac, cr, verdict
      if (summary != "")
        printf "%s\t%s\t%.0f\t%.0f\t%.2f\t%.0f\t%.0f\t%.0f\t%.0f\t%.2f\t%.2f\t%.2f\t%s\n", \
          s, c, gq, aq, qr, g50, a50, g99, a99, gc, ac, cr, verdict >> summary
    }
    # TLS / h2c, per client: rows SERVER+tls and SERVER of the same run.
    header = 0
    for (si = 1; si <= ns; si++) for (i = 1; i <= n; i++) {
      s = ss[si]; c = cs[i]
      if (s !~ /\+tls$/) continue
      h = substr(s, 1, length(s) - 4)
      if (!((h SUBSEP "grpcpp" SUBSEP c SUBSEP "qps") in cnt)) continue
      if (!header) {
        printf "\nTLS / h2c (same run; CPU per call target <= 1.3x):\n"
        printf "%-6s %5s | %-6s | %8s %8s %6s | %7s %7s %6s | %s\n", "server", "calls", "client", \
          "qps h2c", "qps tls", "tls/h", "cpu h2c", "cpu tls", "tls/h", "cpu <= 1.3x"
        header = 1
      }
      split("grpcpp achan", cls, " ")
      for (k = 1; k <= 2; k++) {
        cl = cls[k]
        hq = m(h, cl, c, "qps"); tq = m(s, cl, c, "qps")
        hc = m(h, cl, c, "cpu_us_per_call"); tc = m(s, cl, c, "cpu_us_per_call")
        r = hc ? tc / hc : 0
        printf "%-6s %5s | %-6s | %8.0f %8.0f %6.2f | %7.2f %7.2f %6.2f | %s\n", h, c, cl, hq, tq, \
          hq ? tq / hq : 0, hc, tc, r, cl == "achan" ? (r > 0 && r <= 1.3 ? "PASS" : "MISS") : "-"
        if (summary != "")
          printf "tls_vs_h2c\t%s\t%s\t%s\t%.0f\t%.0f\t%.2f\t%.2f\t%.3f\n", h, c, cl, hq, tq, hc, tc, \
            r >> summary
      }
    }
  }' "$out"
echo "(medians of $rounds runs each; ratio > 1 means achan is faster / uses more CPU per call)"

if [ -s "$work/handshake.jsonl" ]; then
  echo
  echo "time to READY of a fresh channel (handshake_bench, $handshake dials each, one after another):"
  awk '
    function field(line, name,   re, m) {
      re = "\"" name "\":(\"[^\"]*\"|[-0-9.e+]+|true|false)"
      if (!match(line, re)) return ""
      m = substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
      gsub(/"/, "", m)
      return m
    }
    BEGIN { printf "%-10s %-6s | %8s %8s %8s\n", "server", "client", "p50 us", "p90 us", "mean us" }
    {
      printf "%-10s %-6s | %8.0f %8.0f %8.0f\n", field($0, "server"), field($0, "client"), \
        field($0, "p50_us"), field($0, "p90_us"), field($0, "mean_us")
    }' "$work/handshake.jsonl"
  [ -n "$summary" ] && awk '{ print "handshake\t" $0 }' "$work/handshake.jsonl" >>"$summary"
fi

echo
echo "load of other processes per batch (cores, average over the batch; rerun above" \
  "$max_other_load, at most $retries times):"
awk -F'\t' '{ printf "  %-10s %5s in flight, round %s, try %d: others %s, ours %s  %s\n", \
  $1, $2, $3, $4 + 1, $5, $6, $7 }' "$work/load.log"
awk -F'\t' '$7 != "rerun" { n++; s += $5; if ($5 > mx) mx = $5 }
  END { if (n) printf "kept batches: others averaged %.2f cores (max %.2f)\n", s / n, mx }' "$work/load.log"
[ -n "$summary" ] && awk '{ print "load\t" $0 }' "$work/load.log" >>"$summary"

if [ "$failed" = 1 ]; then
  echo "compare.sh: FAILED: at least one run failed or reported errors (see runs above)" >&2
  exit 1
fi
