// gRFC A6 retry rules (retry_rules.hpp).
#include "core/retry/retry_rules.hpp"

#include <algorithm>
#include <cmath>
#include <string_view>

namespace achan {

clock_duration retry_backoff(const retry_policy& p, int n, double u) noexcept {
  double base = std::chrono::duration<double>(p.initial_backoff).count() *
                std::pow(p.backoff_multiplier, std::max(0, n - 1));
  double cap = std::chrono::duration<double>(p.max_backoff).count();
  double secs = std::min(base, cap) * (0.8 + 0.4 * std::clamp(u, 0.0, 1.0));
  return std::chrono::duration_cast<clock_duration>(std::chrono::duration<double>(secs));
}

pushback read_pushback(const metadata& trailers) noexcept {
  pushback r;
  for (const auto& [k, v] : trailers) {
    if (k != "grpc-retry-pushback-ms")
      continue;
    // A non-negative decimal integer of at most 10 digits; anything else means stop.
    bool digits = !v.empty() && v.size() <= 10 &&
                  std::all_of(v.begin(), v.end(), [](char c) { return c >= '0' && c <= '9'; });
    if (!digits) {
      r = {pushback::kind::stop, {}};
      continue;
    }
    r = {pushback::kind::delay, std::chrono::milliseconds{std::stoll(v)}};
  }
  return r;
}

namespace {
std::int64_t thousandths(double v) noexcept {
  return static_cast<std::int64_t>(std::llround(v * 1000.0));
}
}  // namespace

retry_throttle::retry_throttle(const retry_throttling& cfg) noexcept
    : cfg_(cfg),
      max_(thousandths(cfg.max_tokens)),
      ratio_(thousandths(cfg.token_ratio)),
      tokens_(max_) {}

void retry_throttle::record_failure() noexcept {
  auto t = tokens_.load(std::memory_order_relaxed);
  while (!tokens_.compare_exchange_weak(t, std::max<std::int64_t>(0, t - 1000),
                                        std::memory_order_relaxed)) {
  }
}

void retry_throttle::record_success() noexcept {
  auto t = tokens_.load(std::memory_order_relaxed);
  while (t < max_ &&
         !tokens_.compare_exchange_weak(t, std::min(max_, t + ratio_), std::memory_order_relaxed)) {
  }
}

bool retry_throttle::allows_retry() const noexcept {
  return tokens_.load(std::memory_order_relaxed) * 2 > max_;
}

double retry_throttle::tokens() const noexcept {
  return static_cast<double>(tokens_.load(std::memory_order_relaxed)) / 1000.0;
}

}  // namespace achan
