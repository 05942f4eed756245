#pragma once
/// Scenario scripts (docs/scenarios.md): a failure test written once in YAML — backends,
/// the channel, the load, a timeline of faults and the expectations — and run two ways:
///   run_sim   on the simulated transport in CAF's virtual time; a seed fixes every
///             random choice, so a seed's trace is byte-identical run after run;
///   run_real  on loopback sockets: achan servers with the fault proxy in front of each,
///             wall-clock time, the same trace and verdict format.
///
///   auto sc = achan::scenario::parse_file("examples/scenarios/crash_restart.yaml");
///   if (!sc) { std::cerr << sc.error().message << "\n"; return 2; }
///   auto run = achan::scenario::run_sim(*sc, 42);
///   CHECK(run.passed());
///   for (const auto& e : run.trace.events) ...   // or write_jsonl(std::cout)
///
/// Target achan::scenario (links the channel, the testkit servers and the fault proxy).
#include <chrono>
#include <cstdint>
#include <optional>
#include <ostream>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <achan/scenario_model.hpp>

namespace achan::scenario {

/// One thing that happened in a run. Compact: a 60 s run can hold millions.
struct trace_event {
  enum class kind : std::uint8_t {
    call_start,        ///< `call` started
    call_end,          ///< `call` ended with `code` after `latency`, on `backend` (or -1)
    call_skipped,      ///< rate mode: a call not started (max_in_flight reached)
    channel_state,     ///< the channel went `from` → `to`
    subchannel_state,  ///< `backend`'s subchannel went `from` → `to` (`text`: reason)
    resolver_update,   ///< the balancer got an address list (`text`: backends, comma-joined)
    service_config,    ///< the service config changed (`text`: its JSON)
    timeline,          ///< a timeline event was applied (`text`: what)
  };
  kind what = kind::call_start;
  duration t{};  ///< since the run started (virtual time under run_sim)
  std::uint64_t call = 0;
  std::int32_t backend = -1;  ///< index into trace::instances, -1: none
  status_code code = status_code::ok;
  connectivity_state from = connectivity_state::idle;
  connectivity_state to = connectivity_state::idle;
  duration latency{};
  std::uint32_t text = 0;  ///< index into trace::texts (0: none)
};

/// The name of `k` as the JSON trace writes it ("call_end").
std::string_view to_string(trace_event::kind k) noexcept;

/// A run's events in the order they happened, with the strings they refer to.
struct trace {
  std::vector<std::string> instances;  ///< backend instance names, by index
  std::vector<trace_event> events;
  std::vector<std::string> texts{""};                         ///< interned strings (0 is "")
  std::unordered_map<std::string, std::uint32_t> text_index;  ///< intern's lookup

  /// Interns `s` (same string, same index).
  std::uint32_t intern(std::string_view s);
  /// One JSON object per line, per event: {"t_us":...,"ev":"call_end",...}; each line
  /// carries "seed" when `seed` is set.
  void write_jsonl(std::ostream& out, std::optional<std::uint64_t> seed = std::nullopt) const;
  /// A 64-bit digest of write_jsonl's text (equal traces, equal digests).
  std::uint64_t digest() const;
};

/// One expectation's outcome.
struct verdict {
  std::string expectation;  ///< as written ("failed_calls max 0")
  bool pass = false;
  std::string detail;  ///< what was measured ("3 failed calls (UNAVAILABLE 3)")
  int line = 0;        ///< where the file states it
  /// A failure reported as WARN that does not fail the run (run_result::passed() ignores
  /// it): `achan scenario run --real --latency-advisory` sets it on latency expectations.
  bool advisory = false;
};

/// Figures of one run, for the summary.
struct run_figures {
  std::uint64_t calls = 0, ok = 0, failed = 0, skipped = 0;
  std::vector<std::uint64_t> ok_by_backend;                        ///< by instance index
  duration p50{}, p99{};                                           ///< of OK calls
  std::uint64_t retries = 0, hedges = 0, transparent_retries = 0;  ///< channel_stats
  duration simulated{};                                            ///< scenario time covered
  std::chrono::nanoseconds wall{};                                 ///< wall-clock time the run took
};

/// The outcome of one run.
struct run_result {
  std::uint64_t seed = 0;
  achan::scenario::trace trace;
  std::vector<verdict> verdicts;
  run_figures figures;
  /// Set when the run could not start (a backend could not listen, the channel could
  /// not be dialed: INVALID_ARGUMENT or UNAVAILABLE) or its load hit load.call_limit
  /// (RESOURCE_EXHAUSTED); then there are no verdicts and passed() is false.
  std::optional<status> error;
  bool passed() const noexcept;
};

/// The figures a trace shows (all but retries and the times, which the runner adds).
run_figures figures_of(const trace& tr);
/// Checks `sc` against what the trace shows. run_sim and run_real call it.
std::vector<verdict> evaluate(const scenario& sc, const trace& tr, const run_figures& fig);

/// Runs `sc` on the simulated transport under a fresh actor system with CAF's test
/// coordinator, from virtual time 0, with every random choice drawn from `seed`: the
/// same scenario and seed give the same trace. Returns when the load has ended and its
/// calls have (calls still open load.drain after the end are cancelled). Blocks the
/// calling thread, which must run no actors of its own system. An INVALID_ARGUMENT
/// `error` when the scenario uses something the simulation does not model
/// (docs/scenarios.md: a toxic type other than latency, timeout, reset_peer, partition).
run_result run_sim(const scenario& sc, std::uint64_t seed);

/// Runs `sc` for real: each backend instance an achan server (the echo service with
/// the instance's latency, errors and health) on 127.0.0.1, the fault proxy in front of
/// each, the channel dialed to the proxies through a manual resolver (or an ipv4: list),
/// the timeline applied on wall-clock time. Takes about the scenario's duration.
/// `seed` seeds the backends' draws and the channel.
run_result run_real(const scenario& sc, std::uint64_t seed);

/// Writes the summary: one line per verdict ("PASS failed_calls max 0: 0 failed calls")
/// and the figures.
void write_summary(std::ostream& out, const scenario& sc, const run_result& r);

}  // namespace achan::scenario
