#include "actors/subchannel/backoff.hpp"

#include <algorithm>
#include <cmath>

namespace achan {

std::string validate(const backoff_params& p) {
  using std::chrono::nanoseconds;
  if (p.initial <= nanoseconds::zero())
    return "backoff: initial delay must be > 0";
  if (!(p.multiplier >= 1.0))
    return "backoff: multiplier must be >= 1";
  if (!(p.jitter >= 0.0 && p.jitter < 1.0))
    return "backoff: jitter must be in [0, 1)";
  if (p.max < p.initial)
    return "backoff: max delay must be >= initial delay";
  if (p.min_connect_timeout <= nanoseconds::zero())
    return "backoff: min connect timeout must be > 0";
  return "";
}

backoff::backoff(backoff_params p, std::uint64_t seed) : params_(p), rng_(seed) {}

std::chrono::nanoseconds backoff::next_delay() {
  auto initial = static_cast<double>(params_.initial.count());
  if (current_ns_ == 0) {
    current_ns_ = initial;
    return params_.initial;
  }
  current_ns_ =
      std::min(current_ns_ * params_.multiplier, static_cast<double>(params_.max.count()));
  // 53 random bits -> uniform in [0, 1), identical on every standard library (unlike
  // std::uniform_real_distribution).
  double unit = static_cast<double>(rng_() >> 11) * 0x1.0p-53;
  double delay = current_ns_ + (2.0 * unit - 1.0) * params_.jitter * current_ns_;
  return std::chrono::nanoseconds(std::llround(std::max(0.0, delay)));
}

std::chrono::nanoseconds backoff::connect_timeout(std::chrono::nanoseconds delay) const {
  return std::max(delay, params_.min_connect_timeout);
}

void backoff::reset() {
  current_ns_ = 0;
}

}  // namespace achan
