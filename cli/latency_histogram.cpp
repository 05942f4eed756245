#include "cli/latency_histogram.hpp"

#include <algorithm>
#include <bit>
#include <cmath>

namespace achan::cli {

// Values below 2*sub get a bucket each; above, value >> shift lies in [sub, 2*sub) and
// each shift has `sub` buckets.
unsigned latency_histogram::index_of(std::uint64_t ns) noexcept {
  if (ns < 2 * sub)
    return static_cast<unsigned>(ns);
  unsigned msb = 63u - static_cast<unsigned>(std::countl_zero(ns));
  unsigned shift = msb - sub_bits;
  if (shift > max_shift)
    return bucket_count - 1;
  return 2 * sub + (shift - 1) * sub + static_cast<unsigned>((ns >> shift) - sub);
}

double latency_histogram::lower_of(unsigned index) noexcept {
  if (index < 2 * sub)
    return index;
  unsigned shift = (index - 2 * sub) / sub + 1;
  unsigned mant = (index - 2 * sub) % sub + sub;
  return std::ldexp(static_cast<double>(mant), static_cast<int>(shift));
}

double latency_histogram::width_of(unsigned index) noexcept {
  if (index < 2 * sub)
    return 1;
  return std::ldexp(1.0, static_cast<int>((index - 2 * sub) / sub + 1));
}

void latency_histogram::record(std::uint64_t ns) noexcept {
  ++buckets_[index_of(ns)];
  ++count_;
  max_ = std::max(max_, ns);
  min_ = std::min(min_, ns);
}

double latency_histogram::quantile(double q) const noexcept {
  if (count_ == 0)
    return 0;
  q = std::clamp(q, 0.0, 1.0);
  auto rank = static_cast<std::uint64_t>(std::ceil(q * static_cast<double>(count_)));
  rank = std::max<std::uint64_t>(rank, 1);
  std::uint64_t seen = 0;
  for (unsigned i = 0; i < bucket_count; ++i) {
    seen += buckets_[i];
    if (seen >= rank) {
      double mid = lower_of(i) + (width_of(i) - 1) / 2;
      return std::clamp(mid, static_cast<double>(min()), static_cast<double>(max_));
    }
  }
  return static_cast<double>(max_);
}

std::vector<std::pair<double, std::uint64_t>> latency_histogram::linear_bins(unsigned bins) const {
  std::vector<std::pair<double, std::uint64_t>> out;
  if (count_ == 0 || bins == 0)
    return out;
  double lo = static_cast<double>(min());
  double hi = static_cast<double>(max_);
  double step = std::max((hi - lo) / bins, 1.0);
  for (unsigned b = 0; b < bins; ++b)
    out.emplace_back(lo + step * (b + 1), 0);
  for (unsigned i = 0; i < bucket_count; ++i) {
    if (!buckets_[i])
      continue;
    double mid = std::clamp(lower_of(i) + (width_of(i) - 1) / 2, lo, hi);
    auto b = std::min<std::size_t>(static_cast<std::size_t>((mid - lo) / step), bins - 1);
    out[b].second += buckets_[i];
  }
  return out;
}

}  // namespace achan::cli
