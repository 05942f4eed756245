// achan bench TARGET METHOD: keeps calls in flight (or starts them at a fixed rate) and
// reports the rate, latency percentiles, status codes and calls per backend.
#include <unistd.h>

#include <cstdio>

#include "cli/bench_report.hpp"
#include "cli/bench_run.hpp"
#include "cli/commands.hpp"
#include "cli/dial_flags.hpp"
#include "cli/method_lookup.hpp"

namespace achan::cli {
command_spec bench_spec() {
  command_spec s{
      "bench",
      "achan bench TARGET METHOD [--proto FILE] [-d JSON] [--concurrency N] "
      "[--duration D | --total N] [flags]",
      "Load-tests a unary METHOD through achan's channel: keeps --concurrency calls in\n"
      "flight (or starts --rate calls per second) for --duration or --total calls, after an\n"
      "optional --warmup that is not counted. Every call started in the measured phase is\n"
      "counted exactly once, as OK or under its status code, and under the backend\n"
      "(subchannel address) that carried it. Prints a summary with a latency histogram,\n"
      "or with --json exactly one JSON object on stdout:\n"
      "  {\"count\":N,\"ok\":N,\"errors\":{\"UNAVAILABLE\":n},\"qps\":F,\"duration_s\":F,\n"
      "   \"latency_us\":{\"p50\":F,\"p90\":F,\"p99\":F,\"p999\":F,\"max\":F},\n"
      "   \"per_backend\":{\"127.0.0.1:5001\":n},\"cpu_us_per_call\":F}\n"
      "Latencies are of OK calls; with --rate they count from the scheduled start.",
      {"TARGET", "METHOD"},
      {}};
  add_method_flags(s.flags);
  add_dial_flags(s.flags, dial_flags_calls);
  s.flags.push_back({"--concurrency", "-c", "N", "calls kept in flight (default 50)"});
  s.flags.push_back(
      {"--duration", "-z", "DURATION", "measured phase (default 10s unless --total)"});
  s.flags.push_back({"--total", "-n", "N", "stop after N measured calls"});
  s.flags.push_back({"--rate", "", "R", "open loop: start R calls per second"});
  s.flags.push_back({"--warmup", "", "DURATION", "unmeasured lead-in (default 0)"});
  s.flags.push_back({"--json", "", "", "print one JSON object at the end"});
  s.flags.push_back({"--progress", "", "", "progress line on stderr (default: when a terminal)"});
  return s;
}

int run_bench(const parsed_args& args) {
  auto dopts = dial_options_from(args);
  bench_settings s;
  s.options = call_options_from(args);
  s.concurrency = static_cast<unsigned>(args.integer("--concurrency", 50, 1, 1'000'000));
  s.duration = args.duration("--duration");
  if (s.duration && s.duration->count() <= 0)
    throw usage_error("--duration must be greater than zero");
  if (args.has("--total"))
    s.total = static_cast<std::uint64_t>(args.integer("--total", 0, 1, INT64_MAX));
  if (!s.duration && !s.total)
    s.duration = std::chrono::seconds(10);
  if (args.has("--rate"))
    s.rate = args.number("--rate", 0);
  s.warmup = args.duration("--warmup").value_or(std::chrono::nanoseconds{0});
  if (s.options.timeout)
    s.drain = std::max<std::chrono::nanoseconds>(s.drain, *s.options.timeout);
  bool json = args.has("--json");
  bool progress = args.has("--progress") || isatty(STDERR_FILENO);

  client_system sys;
  auto ch = dial_or_throw(sys.get(), args.positionals[0], std::move(dopts));
  auto method = find_method(args, ch, args.positionals[1],
                            s.options.timeout.value_or(std::chrono::seconds(10)), s.options.md);
  if (!method) {
    std::fprintf(stderr, "ERROR: %s\n", method.error().message.c_str());
    return 1;
  }
  if (method->info.client_streaming || method->info.server_streaming)
    throw usage_error(method->info.path + " is a streaming method; bench runs unary methods");
  s.method = method->info.path;
  s.request = read_requests(args, *method).front();

  auto show = [&](const bench_progress& p) {
    std::fprintf(stderr, "\rbench: %llu calls, %llu errors, %.0f calls/s   ",
                 static_cast<unsigned long long>(p.count),
                 static_cast<unsigned long long>(p.errors),
                 p.elapsed_s > 0 ? static_cast<double>(p.count) / p.elapsed_s : 0.0);
    std::fflush(stderr);
  };
  auto r = run_bench_load(ch, s,
                          progress ? std::function<void(const bench_progress&)>{show}
                                   : std::function<void(const bench_progress&)>{});
  r.attempts = ch.stats();
  if (progress)
    std::fputs("\n", stderr);
  auto text = json ? bench_json(r) + "\n" : bench_text(r);
  std::fputs(text.c_str(), stdout);
  std::fflush(stdout);
  ch.close();
  return 0;
}

}  // namespace achan::cli
