#pragma once
/// The pure rules of gRFC A6 retries and hedging, without CAF: the retry backoff, the
/// server's pushback, and the channel's retry throttle. The channel actor
/// (actors/retry/) applies them.
#include <atomic>
#include <cstdint>

#include <achan/call.hpp>
#include <achan/service_config.hpp>

namespace achan {

/// The delay before retry number `n` (1 = the first retry):
/// `min(initial · multiplier^(n-1), max) · (0.8 + 0.4·u)` for `u` in [0, 1) from the
/// channel's seeded generator.
clock_duration retry_backoff(const retry_policy& p, int n, double u) noexcept;

/// What the server said in `grpc-retry-pushback-ms`.
struct pushback {
  enum class kind : std::uint8_t {
    none,   ///< no pushback header: follow the policy
    stop,   ///< a negative or malformed value: do not retry (or hedge) this call again
    delay,  ///< retry after `after` instead of the policy's backoff
  };
  kind what = kind::none;
  clock_duration after{};
};

/// Reads `grpc-retry-pushback-ms` from a response's headers and trailers (the last one
/// wins, as gRPC reads the trailers).
pushback read_pushback(const metadata& trailers) noexcept;

/// A channel's retry throttle (retryThrottling): tokens start at max_tokens; a counted
/// failure costs one token, a success adds token_ratio; retries and hedges are allowed
/// only while tokens > max_tokens / 2. Lock-free, shared by every thread that ends an
/// attempt. Tokens are kept in thousandths (gRPC keeps three decimal places).
class retry_throttle {
 public:
  explicit retry_throttle(const retry_throttling& cfg) noexcept;
  /// A failed attempt that counts (a retryable or non-fatal code, or pushback).
  void record_failure() noexcept;
  /// A successful attempt.
  void record_success() noexcept;
  /// Whether a retry or hedge may be sent now.
  bool allows_retry() const noexcept;
  /// Tokens now (for tests and stats).
  double tokens() const noexcept;
  /// The settings it was built from.
  const retry_throttling& config() const noexcept { return cfg_; }

 private:
  retry_throttling cfg_;
  std::int64_t max_;    // thousandths
  std::int64_t ratio_;  // thousandths
  std::atomic<std::int64_t> tokens_;
};

}  // namespace achan
