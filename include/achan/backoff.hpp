#pragma once
/// Connection backoff per gRPC's connection-backoff.md: exponential growth from `initial` by
/// `multiplier` up to `max`, each delay jittered by ±`jitter` (jitter does not compound), and a
/// connect timeout of at least `min_connect_timeout`. Pure C++, no CAF, no clock: it only
/// computes durations; the subchannel actor arms its timers with them. Randomness comes from a
/// seeded SplitMix64 generator mapped to [0, 1) by hand, so a seed gives the same schedule with
/// every standard library. (Not std::mt19937_64: its 2.5 KB state and seeding made up most of
/// an idle subchannel's memory and of the time to spawn one.)
#include <chrono>
#include <cstdint>
#include <string>

#include <achan/result.hpp>

namespace achan {

/// Parameters of connection backoff; defaults are gRPC's.
struct backoff_params {
  /// Delay before the second attempt (the first retry).
  std::chrono::nanoseconds initial{std::chrono::seconds(1)};
  /// Growth factor per attempt, >= 1.
  double multiplier = 1.6;
  /// Relative jitter in [0, 1): a delay d becomes uniform in [d*(1-jitter), d*(1+jitter)).
  double jitter = 0.2;
  /// Cap on the un-jittered delay; >= initial.
  std::chrono::nanoseconds max{std::chrono::seconds(120)};
  /// Lower bound of every connect attempt's timeout; > 0.
  std::chrono::nanoseconds min_connect_timeout{std::chrono::seconds(20)};
};

/// Returns a one-line message naming the first unusable parameter (initial <= 0,
/// multiplier < 1 or NaN, jitter outside [0, 1) or NaN, max < initial,
/// min_connect_timeout <= 0) as INVALID_ARGUMENT, or ok if `p` is usable.
result<void> validate(const backoff_params& p);

/// The backoff schedule of one subchannel. Owned by that subchannel's actor; not thread-safe.
class backoff {
 public:
  /// Precondition: validate(p) is ok (the caller validates configuration once, up front).
  /// `seed` fixes the jitter sequence.
  backoff(backoff_params p, std::uint64_t seed);

  /// Delay before the next attempt may start, measured from the start of the attempt about to
  /// be made. First call after construction/reset: exactly `initial` (no jitter). Each later
  /// call: current = min(current * multiplier, max), returns current + uniform(-jitter*current,
  /// +jitter*current), never negative. Only `current` grows; jitter does not compound.
  std::chrono::nanoseconds next_delay();

  /// Connect timeout for an attempt whose backoff delay is `delay`:
  /// max(delay, min_connect_timeout).
  std::chrono::nanoseconds connect_timeout(std::chrono::nanoseconds delay) const;

  /// Back to the initial delay; the subchannel calls it when it loses a connection that
  /// had been READY for at least `initial` (an established one). Does not reseed.
  void reset();

  /// The parameters this schedule was built with.
  const backoff_params& params() const { return params_; }

 private:
  backoff_params params_;
  std::uint64_t next_random();  // SplitMix64
  std::uint64_t rng_state_;
  double current_ns_ = 0;  // un-jittered delay of the last step; 0 before the first call
};

}  // namespace achan
