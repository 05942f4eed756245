// achan scenario run|check FILE: scenario scripts (docs/scenarios.md) in virtual time by
// seed (--sim) or on loopback sockets behind the fault proxy (--real).
#include <sys/resource.h>

#include <charconv>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <sstream>

#include <achan/scenario.hpp>

#include "cli/commands.hpp"

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
       {"--verbose", "", "", "with --seeds: the whole summary of every seed, not one line"}}};
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
  double sim_s = 0, wall_s = 0;
  for (auto seed = first;; ++seed) {
    auto r = real ? scenario::run_real(*sc, seed) : scenario::run_sim(*sc, seed);
    if (r.error) {
      out << "achan scenario: seed " << seed << ": " << r.error->message << "\n";
      bool bad_input = r.error->code == status_code::invalid_argument ||
                       r.error->code == status_code::resource_exhausted;
      return bad_input ? 2 : 1;
    }
    bool ok = r.passed();
    std::string why;
    if (twice) {
      auto again = scenario::run_sim(*sc, seed);
      if (again.trace.digest() != r.trace.digest()) {
        ok = false;
        why = "not deterministic: the second run's trace differs at " +
              first_difference(r.trace, again.trace);
      }
    }
    if (trace_out)
      r.trace.write_jsonl(*trace_out, many ? std::optional{seed} : std::nullopt);
    sim_s += static_cast<double>(r.figures.simulated.count()) / 1e9;
    wall_s += static_cast<double>(r.figures.wall.count()) / 1e9;
    if (!many || !ok || args.has("--verbose"))
      scenario::write_summary(out, *sc, r);
    else
      out << "PASS seed " << seed << ": " << r.figures.calls << " calls, " << r.figures.failed
          << " failed\n";
    if (!why.empty())
      out << "FAIL " << why << "\n";
    if (!ok)
      out << "replay: achan scenario run " << file << (real ? " --real" : " --sim") << " --seed "
          << seed << "\n";
    (ok ? passed : failed)++;
    if (seed == last)
      break;
  }
  if (many || twice) {
    char buf[200];
    std::snprintf(buf, sizeof buf,
                  "%llu seeds: %llu passed, %llu failed; %.1f s of scenario time in %.2f s "
                  "wall (%.0fx); max RSS %ld MiB\n",
                  static_cast<unsigned long long>(passed + failed),
                  static_cast<unsigned long long>(passed), static_cast<unsigned long long>(failed),
                  sim_s, wall_s, wall_s > 0 ? sim_s / wall_s : 0.0, max_rss_mib());
    out << buf;
  }
  out.flush();
  return failed == 0 ? 0 : 1;
}

}  // namespace achan::cli
