#pragma once
/// What a scenario file says (docs/scenarios.md lists every key), and its parser.
/// Plain data: build one in C++ as well as from YAML, then run it (<achan/scenario.hpp>).
#include <chrono>
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <achan/connectivity.hpp>
#include <achan/result.hpp>
#include <achan/status.hpp>

namespace achan::scenario {

using duration = std::chrono::nanoseconds;

/// A run starts at most this many calls (skipped rate-mode ticks count too); a load
/// that would start more ends the run with a RESOURCE_EXHAUSTED error, so a
/// zero-latency closed loop cannot spin in virtual time or fill memory with its trace.
inline constexpr std::uint64_t max_calls_per_run = 2'000'000;

/// A latency distribution, drawn per call from the run's seed.
struct latency_dist {
  enum class shape : std::uint8_t { fixed, uniform, normal, lognormal, exponential };
  shape kind = shape::fixed;
  duration a{};      ///< fixed: the value; uniform: min; normal: mean; lognormal: median;
                     ///< exponential: mean
  duration b{};      ///< uniform: max; normal: standard deviation (draws below 0 are 0)
  double sigma = 0;  ///< lognormal: the shape (σ of the underlying normal)
};

/// A group of identical backends.
struct backend_spec {
  std::string name;       ///< instances are NAME-0..NAME-(count-1), or NAME when count is 1
  std::size_t count = 1;  ///< 1..256
  /// Of each answer; 1 ms when the file does not say.
  latency_dist latency{latency_dist::shape::fixed, std::chrono::milliseconds(1), {}, 0};
  double error_rate = 0;  ///< 0..1: the fraction of calls answered with error_status
  status_code error_status = status_code::unavailable;
  bool serving = true;  ///< health status at the start (grpc.health.v1)
  int line = 0;
};

/// The channel under test.
struct channel_spec {
  /// manual: "manual:///backends" with a resolver the timeline drives (resolver events);
  /// static: "ipv4:" with every instance of `initial`, fixed for the run.
  enum class target_form : std::uint8_t { manual, static_list };
  target_form target = target_form::manual;
  std::string policy = "pick_first";  ///< dial_options::lb_policy
  std::string policy_config;          ///< JSON, dial_options::lb_config
  std::string service_config;         ///< JSON, dial_options::service_config
  std::optional<bool> wait_for_ready;
  duration keepalive_time{};  ///< 0: keepalive off
  duration keepalive_timeout{std::chrono::seconds(20)};
  std::optional<duration> backoff_base;     ///< connection backoff's first delay (1 s)
  std::optional<duration> backoff_max;      ///< its cap (120 s)
  std::optional<duration> connect_timeout;  ///< minimum connect timeout (20 s)
  std::vector<std::string> initial;         ///< instances in the first address list (empty: all)
};

/// The load: a closed loop (concurrency) or an open one (rate) of unary calls.
struct load_spec {
  std::size_t concurrency = 0;        ///< calls kept in flight, 1..100000
  double rate = 0;                    ///< or: calls started per second
  std::size_t max_in_flight = 10000;  ///< rate mode: beyond it calls are skipped (traced)
  duration start{};
  std::optional<duration> length;  ///< default: the scenario's duration minus start
  std::string method = "/achan.test.Echo/Unary";
  std::optional<duration> deadline;
  std::optional<bool> wait_for_ready;
  std::size_t payload = 16;  ///< request payload bytes, 0..1 MiB
  /// A closed-loop call that failed is replaced after this pause, so a loop against a
  /// channel that fails fast does not spin (in virtual time it would never advance).
  duration fail_pause{std::chrono::milliseconds(10)};
  /// After the load ends, calls still open this long are cancelled (and traced).
  duration drain{std::chrono::seconds(30)};
  /// The run's call budget (not a file key; programs and tests may lower it): a load
  /// that would start more ends the run with RESOURCE_EXHAUSTED.
  std::uint64_t call_limit = max_calls_per_run;
};

/// A fault-proxy toxic (toxiproxy's attributes, docs/fault-proxy.md).
struct toxic_spec {
  std::string name;  ///< default: TYPE_STREAM
  std::string type;
  std::string stream = "downstream";
  double toxicity = 1;
  std::map<std::string, std::int64_t> attributes;
};

/// One timeline entry.
struct event {
  enum class kind : std::uint8_t {
    kill,     ///< refuse connections, drop the open ones
    restart,  ///< accept again
    pause,    ///< answer nothing, accept nothing (like SIGSTOP); resume undoes it
    resume,
    partition,  ///< the network between client and backend stops passing bytes
    heal,
    goaway,        ///< graceful: GOAWAY on open connections, in-flight calls complete
    add_toxic,     ///< toxic on the backend's proxy (simulated for some types)
    remove_toxic,  ///< by toxic.name
    resolver,      ///< the resolver's address list becomes `instances`
    health,        ///< health status becomes `serving`
    set,           ///< latency, error_rate, error_status change
  };
  duration at{};
  kind what = kind::kill;
  std::vector<std::string> instances;  ///< what it acts on (names resolved to instances)
  toxic_spec toxic;
  bool serving = true;
  std::optional<latency_dist> latency;
  std::optional<double> error_rate;
  std::optional<status_code> error_status;
  int line = 0;
};

/// One expectation, checked against the trace after the run.
struct expectation {
  enum class kind : std::uint8_t {
    failed_calls,  ///< calls not OK (optionally of `status`) within [from, to): ≤ max
    calls,         ///< calls ended within [from, to): min/max
    share,         ///< fraction of OK calls served by `backend` within [from, to)
    latency,       ///< the `quantile` of OK calls' latency within [from, to) ≤ `bound`
    state,         ///< the channel is in `state` at some time in [from, by]
    subchannel,    ///< `backend`'s subchannel passes through `passes` in order
    count,         ///< trace events named `event_name` (filters: status, backend)
    retries,       ///< channel_stats retries (+ hedges): min/max
  };
  kind what = kind::failed_calls;
  std::string text;  ///< as written, for the summary
  duration from{};
  duration to = duration::max();
  std::optional<double> min, max;
  std::string backend;  ///< an instance or a group name
  std::optional<status_code> status;
  double quantile = 0.5;
  duration bound{};
  connectivity_state state = connectivity_state::ready;
  std::vector<connectivity_state> passes;
  std::string event_name;
  int line = 0;
};

/// A whole scenario.
struct scenario {
  std::string name;
  std::string description;
  std::string origin;  ///< the file it came from ("" if built in code)
  duration length{std::chrono::seconds(10)};
  std::uint64_t seed = 1;  ///< used when the command line gives none
  std::vector<backend_spec> backends;
  channel_spec channel;
  load_spec load;
  std::vector<event> timeline;  ///< ordered by `at` (stable)
  std::vector<expectation> expect;

  /// Every backend instance's name, in order (index = trace's backend index).
  std::vector<std::string> instances() const;
  /// The instances `name` denotes: itself, or every instance of a group; empty if none.
  std::vector<std::string> resolve(std::string_view name) const;
};

/// Parses and validates a scenario from YAML text. Errors are INVALID_ARGUMENT with
/// "ORIGIN:LINE:COL: message" (unknown key, bad duration, wrong type, unknown backend,
/// out-of-range value, ...). Never throws.
result<scenario> parse_text(std::string_view yaml, std::string_view origin = "<text>");
/// The same for a file (NOT_FOUND if it cannot be read; at most 1 MiB).
result<scenario> parse_file(const std::string& path);

/// "150ms", "2s", "1.5s", "1m", "500us", "0": a duration; nullopt if malformed.
std::optional<duration> parse_duration(std::string_view text);
/// "UNAVAILABLE" or "unavailable" or "14": a status code; nullopt if unknown.
std::optional<status_code> parse_status_code(std::string_view text);
/// "READY", "TRANSIENT_FAILURE", ...: a state; nullopt if unknown.
std::optional<connectivity_state> parse_state(std::string_view text);

}  // namespace achan::scenario
