#!/usr/bin/env bash
# The benchmark suite of issue 4: one command that builds, runs everything side by side
# on this machine and prints a summary table with ratios and the targets. Not part of
# the test run.
#
#   bench/suite.sh [--rounds N] [--duration S] [--warmup S] [--quick] [--no-build]
#                  [--build-dir DIR] [--handshakes N] [--max-other-load CORES]
#                  [--retries K] [--no-tls] [--help]
#
#   --rounds N     runs of each unary client per server and calls in flight (default 3)
#   --duration S   measured time of each unary run, seconds (default 5; "1500ms" works)
#   --warmup S     unmeasured warm-up of each unary run, seconds (default 1)
#   --quick        smoke test: 1 round of 1 s (+1 s warm-up), one pick_bench repetition,
#                  one repetition of the resolver update; the figures are not to be quoted
#   --no-build     use the binaries already in --build-dir
#   --build-dir    build directory under the repo (default build-bench, Release)
#   --handshakes N fresh channels timed to READY per server, client and mode (default 200;
#                  20 with --quick)
#   --max-other-load, --retries
#                  compare.sh's: a batch (one round of one server and concurrency) is rerun
#                  when other processes used more than CORES (0.3) on average meanwhile, at
#                  most K (2) times; each rerun adds that batch's time again
#   --no-tls       skip part e
#
# What it runs, in order:
#   a. bench/compare.sh for the grpc++ async server (bench/grpcpp_async_server) and
#      achan's server (`achan serve`), 1 / 64 / 256 calls in flight, 64-byte Echo/Unary:
#      R rounds alternating bench/grpcpp_async_client and `achan bench --json`; medians
#      of QPS, p50, p99 and client CPU per call with achan/grpc++ ratios, and PASS/MISS at
#      64 in flight against the targets (QPS >= 2.5x, CPU per call <= 0.3x, p99 no worse).
#   b. pick_bench (BM_pick: each READY-set policy's picker with the tracker work of a
#      call, 8 / 1000 connections, 1 and 2
#      threads): picks per second across all threads (1 / real time per pick), median
#      of the repetitions (3, or 1 with --quick).
#   c. control_plane_bench: 10 000-address resolver update with round_robin over the
#      simulated transport (first picker and picker covering all new addresses; target
#      < 100 ms), heap per idle subchannel, heap per in-flight call with 100 000 calls in
#      flight against a slow `achan serve` over 1 and 100 connections (target < 2 KiB),
#      and the same over the simulated transport (channel-side share).
#   f. bench/balancing.sh: four `achan serve` backends, one with --delay 20ms, 32 in flight;
#      QPS, the slow backend's share and p50/p99 per policy side by side.
#   e. TLS (issue 12): bench/compare.sh --modes "h2c tls" --concurrency 64 --handshake N
#      for both servers: each server runs twice (h2c and TLS, certificates made with
#      `openssl` in a temp dir), each round runs both clients in both modes in a rotating
#      order, so the TLS rows and the h2c rows they are divided by come from the same
#      rounds; then handshake_bench times N fresh channels to READY (achan and grpc++,
#      TLS and h2c). Targets: QPS achan / grpc++ >= 2.5x against achan's server, CPU per
#      call <= 0.3x, achan's TLS CPU per call <= 1.3x its h2c CPU per call.
#   g. bench/etcd.sh (when etcd is installed): a one-member etcd on loopback; etcd_bench
#      times 1000 sequential key updates (Put sent -> the new list at the balancer, and
#      the Put's own round trip), dial -> the first list of a 1000-endpoint prefix, and 200
#      updates on it.
#   d. a summary table of every figure with its target and PASS/MISS, and this command
#      line.
# Time on the 2-core machine with the defaults: a. 2 servers x 3 concurrencies x 3 rounds
# x 2 clients x 6 s = 216 s, b. ~30 s, c. ~40 s, e. 2 servers x 3 rounds x 4 runs x 6 s =
# 144 s + 4 x 4 x 200 dials (~15 s), builds aside ~7.5 min; each rerun of a busy batch adds
# 36 s (a) or 24 s (e), so at most ~20 min if every batch is rerun twice.
# Each part's raw output is printed as it runs. Exits 1 at the end if any run failed or
# reported errors (a unary run with errors, a pick_bench error, a failed check of
# control_plane_bench), after printing the summary; 2 on usage errors. A MISS against a
# target does not fail the script. Absolute figures on the shared 2-core machine move by
# +-30 % between sessions: quote ratios from one run, taken on a quiet machine.
set -euo pipefail
root=$(cd "$(dirname "$0")/.." && pwd)
command_line="bench/suite.sh${*:+ $*}"

rounds=3 duration=5 warmup=1 quick=0 build=1 build_dir=build-bench handshakes=200 tls=1
max_other_load=0.3 retries=2
to_ms() {  # "5" / "5s" / "1500ms" -> milliseconds
  case "$1" in
    *ms) v=${1%ms}; m=1 ;;
    *s) v=${1%s}; m=1000 ;;
    *) v=$1; m=1000 ;;
  esac
  case "$v" in ''|*[!0-9]*) echo "suite.sh: bad duration '$1' (seconds, or e.g. 1500ms)" >&2; exit 2 ;; esac
  echo $((v * m))
}
while [ $# -gt 0 ]; do
  case "$1" in
    --rounds) rounds=$2; shift 2 ;;
    --duration) duration=$2; shift 2 ;;
    --warmup) warmup=$2; shift 2 ;;
    --quick) quick=1; shift ;;
    --no-build) build=0; shift ;;
    --build-dir) build_dir=$2; shift 2 ;;
    --handshakes) handshakes=$2; shift 2 ;;
    --max-other-load) max_other_load=$2; shift 2 ;;
    --retries) retries=$2; shift 2 ;;
    --no-tls) tls=0; shift ;;
    -h|--help) sed -n '2,/^set -euo/p' "$0" | sed '$d; s/^# \{0,1\}//'; exit 0 ;;
    *) echo "suite.sh: unknown flag $1 (see --help)" >&2; exit 2 ;;
  esac
done
duration_ms=$(to_ms "$duration")
warmup_ms=$(to_ms "$warmup")
pick_reps=3 pick_min_time=0.5 cp_reps=3
if [ "$quick" = 1 ]; then
  rounds=1 duration_ms=1000 warmup_ms=1000 pick_reps=1 pick_min_time=0.1 cp_reps=1 handshakes=20
fi
case "$rounds" in ''|*[!0-9]*|0) echo "suite.sh: --rounds must be a positive number" >&2; exit 2 ;; esac

bin=$root/$build_dir/bin
if [ "$build" = 1 ]; then
  "$root/scripts/build.sh" "$build_dir" -DCMAKE_BUILD_TYPE=Release -DACHAN_BUILD_TESTS=OFF \
    -DACHAN_BUILD_EXAMPLES=OFF -- achan grpcpp_async_server grpcpp_async_client pick_bench \
    control_plane_bench handshake_bench etcd_bench
fi

work=$(mktemp -d)
trap 'rm -rf "$work"' EXIT
failed=()
echo "suite: $(date -u +%Y-%m-%dT%H:%M:%SZ) on $(nproc) cores; load average:" \
  "$(cut -d' ' -f1-3 /proc/loadavg)"

# ---- a. unary comparison -------------------------------------------------------------
echo
echo "== a. unary Echo, 64-byte payload: grpc++ async client vs achan bench =="
if ! "$root/bench/compare.sh" --no-build --build-dir "$build_dir" --server "grpcpp achan" \
  --concurrency "1 64 256" --rounds "$rounds" --duration-ms "$duration_ms" \
  --warmup-ms "$warmup_ms" --max-other-load "$max_other_load" --retries "$retries" \
  --summary "$work/unary.tsv" 2>&1; then
  failed+=("unary comparison (a run failed or reported errors)")
fi

# ---- b. picks per second ---------------------------------------------------------------
echo
echo "== b. picks per second per policy, with the call's tracker work (pick_bench, $pick_reps repetition(s)) =="
if ! "$bin/pick_bench" --benchmark_filter='^BM_pick' --benchmark_repetitions="$pick_reps" \
  --benchmark_report_aggregates_only=true --benchmark_min_time="$pick_min_time" \
  --benchmark_format=csv >"$work/pick.csv" 2>"$work/pick.err"; then
  failed+=("pick_bench")
  cat "$work/pick.err"
fi
# name,iterations,real_time,cpu_time,time_unit,bytes_per_second,items_per_second,label,
# error_occurred,error_message,[allocs_per_pick]; with repetitions the rows are
# NAME_mean/_median/_stddev/_cv, without them just NAME. Names: BM_pick/POLICY/N[/threads:T].
awk -F, -v reps="$pick_reps" '
  NR == 1 { for (i = 1; i <= NF; i++) col[$i] = i; next }
  {
    name = $1; gsub(/"/, "", name); label = $8; gsub(/"/, "", label)
    if (reps > 1) { if (name !~ /_median$/) next; sub(/_median$/, "", name) }
    if ($9 == "true") { printf "%-28s ERROR %s\n", name, $10; next }
    split(name, p, "/"); threads = name ~ /threads:/ ? substr(p[4], 9) : 1
    allocs = ("allocs_per_pick" in col) ? $(col["allocs_per_pick"]) : ""
    kind = p[1] == "BM_pick_allocations" ? "allocs" : "picks"
    printf "%s\t%s\t%s\t%s\t%.4g\t%s\n", label, kind, p[3], threads, $7, allocs
  }' "$work/pick.csv" >"$work/pick.tsv"
printf "%-22s %11s %7s %16s %16s\n" policy connections threads "picks/s (total)" "allocs per pick"
awk -F'\t' 'NF == 6 && $2 == "picks" { key = $1 "/" $3; printf "%-22s %11s %7s %16.3g\n", $1, $3, $4, $5 }
  NF == 6 && $2 == "allocs" { printf "%-22s %11s %7s %16s %16s\n", $1, $3, "alloc", "-", $6 }
  NF != 6 { print }' "$work/pick.tsv"
if grep -q ERROR "$work/pick.tsv" || [ ! -s "$work/pick.tsv" ]; then
  failed+=("pick_bench reported an error or nothing")
fi
if awk -F'\t' '$2 == "allocs" && $6 + 0 > 0 { bad = 1 } END { exit !bad }' "$work/pick.tsv"; then
  failed+=("a picker allocated (pick_bench allocs_per_pick > 0)")
fi

# ---- c. control plane ------------------------------------------------------------------
echo
echo "== c. control plane (control_plane_bench --reps $cp_reps) =="
if ! "$bin/control_plane_bench" --reps "$cp_reps" --achan "$bin/achan" | tee "$work/cp.jsonl"; then
  failed+=("control_plane_bench (a check failed; see above)")
fi

# ---- e. TLS -----------------------------------------------------------------------------
: >"$work/tls.tsv"
if [ "$tls" = 1 ]; then
  echo
  echo "== e. TLS (issue 12): both clients over TLS and h2c, 64 in flight, both servers; handshakes =="
  if ! "$root/bench/compare.sh" --no-build --build-dir "$build_dir" --server "grpcpp achan" \
    --modes "h2c tls" --concurrency 64 --rounds "$rounds" --duration-ms "$duration_ms" \
    --warmup-ms "$warmup_ms" --handshake "$handshakes" --max-other-load "$max_other_load" \
    --retries "$retries" --summary "$work/tls.tsv" 2>&1; then
    failed+=("TLS comparison (a run or a handshake failed or reported errors)")
  fi
fi

# ---- f. slow backend per policy (issue 14) -------------------------------------------------
echo
echo "== f. one backend 20 ms slow, 32 in flight: share and latency per policy (bench/balancing.sh) =="
if ! "$root/bench/balancing.sh" --build-dir "$build_dir" --rounds "$rounds" \
  --duration "$(( duration_ms / 1000 > 0 ? duration_ms / 1000 : 1 ))" 2>"$work/balancing.err"; then
  failed+=("bench/balancing.sh")
  cat "$work/balancing.err"
fi

# ---- g. etcd resolver (issue 17) ----------------------------------------------------------
echo
echo "== g. etcd resolver: update latency, a 1000-endpoint prefix listed and watched (bench/etcd.sh) =="
if command -v etcd >/dev/null; then
  etcd_args=()
  if [ "$quick" = 1 ]; then etcd_args=(--updates 100 --endpoints 200 --big-updates 20); fi
  if ! "$root/bench/etcd.sh" --no-build --build-dir "$build_dir" "${etcd_args[@]}" >"$work/etcd.jsonl"; then
    failed+=("bench/etcd.sh")
  fi
  cat "$work/etcd.jsonl"
else
  echo "(etcd not installed: skipped; scripts/deps.sh installs it)"
fi

# ---- d. summary ------------------------------------------------------------------------
echo
echo "== d. summary (issue 4) =="
echo "unary, medians of $rounds round(s) x ${duration_ms} ms:"
printf "%-6s %5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s | %s\n" server calls "qps g++" \
  "qps ach" ratio "p50 g++" "p50 ach" "p99 g++" "p99 ach" "cpu g++" "cpu ach" ratio "targets @64"
if [ -s "$work/unary.tsv" ]; then
  awk -F'\t' 'NF == 13 && $1 !~ /^(load|handshake|tls_vs_h2c)$/ { printf "%-6s %5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s | %s\n", \
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$work/unary.tsv"
else
  echo "(no unary figures)"
fi
echo
awk -F'\t' -v cpfile="$work/cp.jsonl" -v pickfile="$work/pick.tsv" '
  function field(line, name,   re) {
    re = "\"" name "\":[-0-9.e+]+"
    if (!match(line, re)) return ""
    return substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
  }
  function row(what, value, target, result) {
    printf "%-64s %12s  %-16s %s\n", what, value, target, result
  }
  function judge(ok) { return ok ? "PASS" : "MISS" }
  BEGIN {
    row("figure", "measured", "target", "result")
    # unary targets at 64 in flight, per server (from compare.sh --summary)
    while ((getline line < (ARGV[1])) > 0) {
      split(line, f, "\t")
      if (f[2] != 64) continue
      name = f[1] == "grpcpp" ? "grpc++ server" : "achan server"
      row("unary, " name ", 64 in flight: QPS achan / grpc++", sprintf("%.2fx", f[5]), ">= 2.5x", judge(f[5] >= 2.5))
      row("unary, " name ", 64 in flight: CPU/call achan / grpc++", sprintf("%.2fx", f[12]), "<= 0.3x", judge(f[12] > 0 && f[12] <= 0.3))
      row("unary, " name ", 64 in flight: p99 achan vs grpc++ (us)", f[9] " / " f[8], "achan <= grpc++", judge(f[9] > 0 && f[9] + 0 <= f[8] + 0))
      unary = 1
    }
    if (!unary) row("unary comparison", "no figures", "", "FAIL")
    while ((getline line < pickfile) > 0) {
      split(line, p, "\t")
      if (p[2] == 8 || p[2] == 1000)
        row("picks/s, round_robin over " p[2] " connections, " p[3] " thread(s), total", sprintf("%.3g", p[4]), "-", "")
    }
    while ((getline line < cpfile) > 0) {
      if (line ~ /"measure":"resolver_update"/) {
        n = field(line, "addresses"); bad = line !~ /"ok":true/
        row(n "-address first list: picker with all READY (ms)", field(line, "initial_all_ready_ms"), "-", bad ? "FAIL" : "")
        row(n "-address update: first picker with a new address (ms)", field(line, "update_first_picker_ms"), "-", bad ? "FAIL" : "")
        v = field(line, "update_all_ready_ms")
        row(n "-address update: picker covering all new addresses (ms)", v, "< 100 ms", bad ? "FAIL" : judge(v + 0 < 100))
        resolver = 1
      } else if (line ~ /"measure":"idle_subchannel_memory"/) {
        row("idle subchannel memory (B), " field(line, "subchannels") " subchannels", field(line, "bytes_per_subchannel"), "-", line ~ /"ok":true/ ? "" : "FAIL")
        idle = 1
      } else if (line ~ /"measure":"inflight_call_memory"/) {
        v = field(line, "bytes_per_call"); k = field(line, "connections"); n = field(line, "calls")
        if (line ~ /"transport":"simulated"/) {
          row("in-flight call memory (B), simulated transport (channel share)", v, "-", line ~ /"ok":true/ ? "" : "FAIL")
        } else {
          row("in-flight call memory (B), " n " in flight, " k " connection(s)", v, "< 2048", line ~ /"ok":true/ ? judge(v + 0 < 2048) : "FAIL")
          inflight = 1
        }
      }
    }
    if (!resolver) row("resolver update", "no figures", "< 100 ms", "FAIL")
    if (!idle) row("memory per idle subchannel", "no figures", "-", "FAIL")
    if (!inflight) row("memory per in-flight call", "no figures", "< 2048", "FAIL")
  }' "$work/unary.tsv"
if [ "$tls" = 1 ]; then
  echo
  echo "TLS (issue 12), 64 in flight, medians of $rounds round(s) x ${duration_ms} ms, h2c rows from the same rounds:"
  printf "%-10s %5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s | %s\n" server calls "qps g++" \
    "qps ach" ratio "p50 g++" "p50 ach" "p99 g++" "p99 ach" "cpu g++" "cpu ach" ratio "targets @64"
  awk -F'\t' 'NF == 13 && $1 !~ /^(load|handshake|tls_vs_h2c)$/ { printf "%-10s %5s | %9s %9s %6s | %8s %8s | %8s %8s | %7s %7s %6s | %s\n", \
    $1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13 }' "$work/tls.tsv"
  echo
  awk -F'\t' '
    function row(what, value, target, result) { printf "%-64s %12s  %-16s %s\n", what, value, target, result }
    function judge(ok) { return ok ? "PASS" : "MISS" }
    function field(line, name,   re, m) {
      re = "\"" name "\":[-0-9.e+]+"
      if (!match(line, re)) return ""
      return substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
    }
    BEGIN { row("figure", "measured", "target", "result") }
    NF == 13 && $1 ~ /\+tls$/ && $2 == 64 {
      name = $1 == "grpcpp+tls" ? "grpc++ TLS server" : "achan TLS server"
      row("TLS, " name ": QPS achan / grpc++", sprintf("%.2fx", $5), ">= 2.5x", judge($5 >= 2.5))
      row("TLS, " name ": CPU/call achan / grpc++", sprintf("%.2fx", $12), "<= 0.3x", judge($12 > 0 && $12 <= 0.3))
      row("TLS, " name ": p99 achan vs grpc++ (us)", $9 " / " $8, "achan <= grpc++", judge($9 > 0 && $9 + 0 <= $8 + 0))
      seen = 1
    }
    $1 == "tls_vs_h2c" {
      name = $2 == "grpcpp" ? "grpc++ server" : "achan server"
      cl = $4 == "grpcpp" ? "grpc++ client" : "achan client"
      row("TLS / h2c CPU per call, " cl ", " name, sprintf("%.2fx", $9), $4 == "achan" ? "<= 1.3x" : "-", \
        $4 == "achan" ? judge($9 > 0 && $9 <= 1.3) : "")
    }
    $1 == "handshake" {
      line = substr($0, index($0, "\t") + 1)
      match(line, /"server":"[^"]*"/); srv = substr(line, RSTART + 10, RLENGTH - 11)
      match(line, /"client":"[^"]*"/); cl = substr(line, RSTART + 10, RLENGTH - 11)
      row("time to READY, " cl " client -> " srv " server, p50 / p90 (us)", \
        sprintf("%.0f / %.0f", field(line, "p50_us"), field(line, "p90_us")), "-", "")
    }
    END { if (!seen) row("TLS comparison", "no figures", "", "FAIL") }' "$work/tls.tsv"
fi
if [ -s "$work/etcd.jsonl" ]; then
  echo
  echo "etcd resolver (issue 17), one run, one etcd member on loopback:"
  awk '
    function field(line, name,   re) {
      re = "\"" name "\":[-0-9.e+]+"
      if (!match(line, re)) return ""
      return substr(line, RSTART + length(name) + 3, RLENGTH - length(name) - 3)
    }
    { match($0, /"measure":"[^"]*"/); m = substr($0, RSTART + 11, RLENGTH - 12)
      what = m == "update" ? "Put sent -> new list at the balancer" : \
             m == "put_answered" ? "Put sent -> etcd answered (etcd'"'"'s share)" : \
             m == "list" ? "dial -> first list of " field($0, "endpoints") " endpoints" : \
             "update on a " field($0, "endpoints") "-endpoint prefix"
      printf "%-64s n=%-5s p50 %6.2f ms  p99 %6.2f ms\n", what, field($0, "n"), \
        field($0, "p50_us") / 1000, field($0, "p99_us") / 1000 }' "$work/etcd.jsonl"
fi
echo
note=
if [ "$quick" = 1 ]; then note="; --quick: smoke-test figures, not to be quoted"; fi
echo "command: $command_line  (in $root, build $build_dir$note)"
echo "load average at the end: $(cut -d' ' -f1-3 /proc/loadavg)"

if [ ${#failed[@]} -gt 0 ]; then
  printf 'suite.sh: FAILED: %s\n' "${failed[@]}" >&2
  exit 1
fi
