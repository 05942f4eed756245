#pragma once
/// The load loop of `achan bench`: keeps calls in flight on one channel (closed loop)
/// or starts them at a fixed rate (open loop), and records every call that started in
/// the measured phase exactly once: OK or its error code, its latency, and the backend
/// (subchannel address) that carried it.
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <string>

#include <achan/channel.hpp>
#include "cli/latency_histogram.hpp"

namespace achan::cli {

/// What to run.
struct bench_settings {
  std::string method;         ///< "/pkg.Service/Method" (unary)
  std::string request;        ///< serialized request, sent by every call
  call_options options;       ///< deadline, wait_for_ready, metadata
  unsigned concurrency = 50;  ///< calls in flight (closed loop)
  /// Measured phase length; unset: until `total` calls (one of the two is required).
  std::optional<std::chrono::nanoseconds> duration;
  std::optional<std::uint64_t> total;  ///< measured calls to start
  std::optional<double> rate;          ///< calls per second: open loop
  std::chrono::nanoseconds warmup{0};  ///< calls started before this are not counted
  /// After the measured phase, how long calls still in flight may take before the
  /// channel is closed (they then end UNAVAILABLE and count as errors).
  std::chrono::nanoseconds drain{std::chrono::seconds(10)};
};

/// Progress, for the live line on stderr.
struct bench_progress {
  std::uint64_t count = 0;   ///< measured calls finished so far
  std::uint64_t errors = 0;  ///< of which not OK
  double elapsed_s = 0;      ///< since the measured phase began
};

/// What a run measured.
struct bench_result {
  std::uint64_t count = 0;  ///< measured calls started == finished
  std::uint64_t ok = 0;
  std::map<std::string, std::uint64_t> errors;                   ///< status code name → calls
  std::map<std::string, std::string> error_examples;             ///< code name → first message
  std::map<std::string, std::uint64_t> per_backend;              ///< peer address → calls
  std::map<std::string, latency_histogram> per_backend_latency;  ///< peer → its OK calls
  double duration_s = 0;       ///< measured phase start → last measured call finished
  latency_histogram latency;   ///< of the OK calls
  double cpu_us_per_call = 0;  ///< process CPU (user+sys) over the phase / count
  /// The channel's retry and hedging counters over the whole run (warm-up included).
  channel_stats attempts;
};

/// Runs the benchmark on `ch` from the calling thread (blocks until every measured call
/// has finished). `progress` (optional) is called about every `progress_every` from the
/// calling thread.
bench_result run_bench_load(channel& ch, const bench_settings& s,
                            const std::function<void(const bench_progress&)>& progress = {},
                            std::chrono::milliseconds progress_every = std::chrono::seconds(1));

}  // namespace achan::cli
