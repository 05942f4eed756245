// achan scenario run|check FILE: scenario scripts (docs/scenarios.md) in virtual time by
// seed (--sim) or on loopback sockets behind the fault proxy (--real).
#include <sys/resource.h>

#include <algorithm>
#include <charconv>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>
#include <thread>

#include <achan/scenario.hpp>

#include "cli/commands.hpp"
#include "cli/scenario_seeds.hpp"

namespace achan::cli {

command_spec scenario_spec() {
  return {
      "scenario",
      "achan scenario run|check FILE [flags]",
      "Runs a scenario file - backends, the channel, a load, a timeline of faults and\n"
      "expectations (docs/scenarios.md) - and prints each expectation PASS or FAIL.\n"
      "  check  validates the file without running it.\n"
      "  run    --sim: on the simulated transport in virtual time; a seed fixes every\n"
      "         random choice, so a seed's trace is identical run after run (a failing\n"
      "         seed prints the command that replays it). --real: achan servers on\n"
      "         loopback behind the fault proxy, wall-clock time.\n"
      "Exit 0 if every expectation passed (for every seed), 1 if one failed, 2 for a\n"
      "bad file or flags.",
      {"ACTION", "FILE"},
      {{"--sim", "", "", "run on the simulated transport in virtual time (default)"},
       {"--real", "", "", "run on loopback sockets with real servers and fault proxies"},
       {"--seed", "", "N", "the seed (default: the file's seed, else 1)"},
       {"--seeds", "", "A..B", "--sim: run every seed from A to B"},
       {"--check-determinism", "", "", "--sim: run each seed twice and fail if the traces differ"},
       {"--trace", "", "FILE",
        "write the JSON-lines trace to FILE ('-': stdout; the summary then goes to stderr)"},
       {"--jobs", "", "N",
        "--sim: run N seeds at once, each on its own thread (default: the number of cores; "
        "the output stays in seed order)"},
       {"--verbose", "", "", "with --seeds: the whole summary of every seed, not one line"},
       {"--latency-advisory", "", "",
        "--real: report failed latency expectations as WARN without failing the run (for\n"
        "sanitizer builds or a loaded machine, where latency measures the machine)"}}};
}

namespace {

std::pair<std::uint64_t, std::uint64_t> seed_range(const std::string& s) {
  auto dots = s.find("..");
  std::uint64_t a = 0, b = 0;
  auto num = [&](std::string_view t, std::uint64_t& v) {
    auto [p, ec] = std::from_chars(t.data(), t.data() + t.size(), v);
    return ec == std::errc{} && p == t.data() + t.size() && !t.empty();
  };
  if (dots == std::string::npos || !num(std::string_view{s}.substr(0, dots), a) ||
      !num(std::string_view{s}.substr(dots + 2), b) || b < a)
    throw usage_error("--seeds takes A..B with A <= B, not '" + s + "'");
  if (b - a >= 1000000)
    throw usage_error("--seeds: at most 1000000 seeds in one run");
  return {a, b};
}

std::string first_difference(const scenario::trace& x, const scenario::trace& y) {
  std::ostringstream a, b;
  x.write_jsonl(a);
  y.write_jsonl(b);
  std::istringstream la{a.str()}, lb{b.str()};
  std::string l1, l2;
  for (std::size_t n = 1;; ++n) {
    bool g1 = static_cast<bool>(std::getline(la, l1));
    bool g2 = static_cast<bool>(std::getline(lb, l2));
    if (!g1 && !g2)
      return "traces have equal text but different digests";
    if (!g1 || !g2 || l1 != l2)
      return "line " + std::to_string(n) + ":\n  first:  " + (g1 ? l1 : "(end)") +
             "\n  second: " + (g2 ? l2 : "(end)");
  }
}

long max_rss_mib() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  return u.ru_maxrss / 1024;
}

}  // namespace

int run_scenario(const parsed_args& args) {
  const auto& action = args.positionals[0];
  const auto& file = args.positionals[1];
  if (action != "run" && action != "check")
    throw usage_error("scenario takes run or check, not '" + action + "'");
  auto sc = scenario::parse_file(file);
  if (!sc) {
    std::fprintf(stderr, "achan scenario: %s\n", sc.error().message.c_str());
    return 2;
  }
  if (action == "check") {
    std::printf("ok: %s: %zu backends (%zu instances), %zu timeline events, %zu expectations\n",
                sc->name.empty() ? file.c_str() : sc->name.c_str(), sc->backends.size(),
                sc->instances().size(), sc->timeline.size(), sc->expect.size());
    return 0;
  }
  bool real = args.has("--real");
  if (real && args.has("--sim"))
    throw usage_error("give --sim or --real, not both");
  if (real && (args.has("--seeds") || args.has("--check-determinism")))
    throw usage_error("--seeds and --check-determinism are for --sim runs");
  if (args.has("--seed") && args.has("--seeds"))
    throw usage_error("give --seed or --seeds, not both");
  std::uint64_t first = sc->seed, last = sc->seed;
  if (args.has("--seed"))
    first = last = static_cast<std::uint64_t>(args.integer("--seed", 1, 0, INT64_MAX));
  if (args.has("--seeds"))
    std::tie(first, last) = seed_range(args.get("--seeds"));
  bool many = last > first;
  bool twice = args.has("--check-determinism");
  if (real && args.has("--jobs"))
    throw usage_error("--jobs is for --sim runs");
  bool advisory_latency = args.has("--latency-advisory");
  if (advisory_latency && !real)
    throw usage_error("--latency-advisory is for --real runs (--sim latency is exact)");
  unsigned cores = std::max(1U, std::thread::hardware_concurrency());
  auto jobs = static_cast<unsigned>(args.integer("--jobs", cores, 1, 64));
  std::ofstream trace_file;
  std::ostream* trace_out = nullptr;
  if (args.has("--trace")) {
    auto path = args.get("--trace");
    if (path == "-") {
      trace_out = &std::cout;
    } else {
      trace_file.open(path);
      if (!trace_file)
        throw usage_error("--trace: cannot write " + path);
      trace_out = &trace_file;
    }
  }
  std::ostream& out = trace_out == &std::cout ? std::cerr : std::cout;
  std::uint64_t passed = 0, failed = 0;
  double sim_s = 0;
  int error_exit = 0;
  auto wall0 = std::chrono::steady_clock::now();
  auto run = [&](std::uint64_t seed) {
    seed_outcome o;
    o.seed = seed;
    o.run = real ? scenario::run_real(*sc, seed) : scenario::run_sim(*sc, seed);
    if (advisory_latency)  // evaluate() gives one verdict per expectation, in order
      for (std::size_t i = 0; i < o.run.verdicts.size() && i < sc->expect.size(); ++i)
        o.run.verdicts[i].advisory = sc->expect[i].what == scenario::expectation::kind::latency;
    o.ok = o.run.passed();
    if (twice && !o.run.error) {
      auto again = scenario::run_sim(*sc, seed);
      if (again.trace.digest() != o.run.trace.digest()) {
        o.ok = false;
        o.why = "not deterministic: the second run's trace differs at " +
                first_difference(o.run.trace, again.trace);
      }
    }
    return o;
  };
  auto report = [&](seed_outcome&& o) {
    auto& r = o.run;
    if (r.error) {
      out << "achan scenario: seed " << o.seed << ": " << r.error->message << "\n";
      bool bad_input = r.error->code == status_code::invalid_argument ||
                       r.error->code == status_code::resource_exhausted;
      error_exit = bad_input ? 2 : 1;
      return false;
    }
    if (trace_out)
      r.trace.write_jsonl(*trace_out, many ? std::optional{o.seed} : std::nullopt);
    sim_s += static_cast<double>(r.figures.simulated.count()) / 1e9;
    if (!many || !o.ok || args.has("--verbose"))
      scenario::write_summary(out, *sc, r);
    else
      out << "PASS seed " << o.seed << ": " << r.figures.calls << " calls, " << r.figures.failed
          << " failed\n";
    if (!o.why.empty())
      out << "FAIL " << o.why << "\n";
    if (!o.ok)
      out << "replay: achan scenario run " << file << (real ? " --real" : " --sim") << " --seed "
          << o.seed << "\n";
    (o.ok ? passed : failed)++;
    return true;
  };
  run_seeds(first, last - first + 1, jobs, run, report);
  if (error_exit != 0)
    return error_exit;
  double wall_s = std::chrono::duration<double>(std::chrono::steady_clock::now() - wall0).count();
  if (many || twice) {
    char buf[220];
    std::snprintf(buf, sizeof buf,
                  "%llu seeds: %llu passed, %llu failed; %.1f s of scenario time in %.2f s "
                  "wall (%.0fx, %u jobs); max RSS %ld MiB\n",
                  static_cast<unsigned long long>(passed + failed),
                  static_cast<unsigned long long>(passed), static_cast<unsigned long long>(failed),
                  sim_s, wall_s, wall_s > 0 ? sim_s / wall_s : 0.0, jobs, max_rss_mib());
    out << buf;
  }
  out.flush();
  return failed == 0 ? 0 : 1;
}

}  // namespace achan::cli
