#include <achan/backoff.hpp>

#include <algorithm>
#include <cmath>

namespace achan {

namespace {
status invalid(std::string m) {
  return {status_code::invalid_argument, std::move(m)};
}
}  // namespace

result<void> validate(const backoff_params& p) {
  using std::chrono::nanoseconds;
  if (p.initial <= nanoseconds::zero())
    return invalid("backoff: initial delay must be > 0");
  if (!(p.multiplier >= 1.0))
    return invalid("backoff: multiplier must be >= 1");
  if (!(p.jitter >= 0.0 && p.jitter < 1.0))
    return invalid("backoff: jitter must be in [0, 1)");
  if (p.max < p.initial)
    return invalid("backoff: max delay must be >= initial delay");
  if (p.min_connect_timeout <= nanoseconds::zero())
    return invalid("backoff: min connect timeout must be > 0");
  return {};
}

backoff::backoff(backoff_params p, std::uint64_t seed) : params_(p), rng_state_(seed) {}

std::uint64_t backoff::next_random() {
  // SplitMix64 (Steele, Lea, Flood 2014; the reference constants).
  std::uint64_t z = (rng_state_ += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

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
  double unit = static_cast<double>(next_random() >> 11) * 0x1.0p-53;
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
