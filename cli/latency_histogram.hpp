#pragma once
/// A latency histogram with log-linear buckets (64 per power of two, so every recorded
/// value is known to within 1.6 %), constant memory, and percentiles. Not thread-safe:
/// the bench guards it with its recorder's lock.
#include <array>
#include <cstdint>
#include <string>
#include <vector>

namespace achan::cli {

/// Nanosecond latencies from 0 to about 2^40 ns (18 minutes); larger ones count in the
/// top bucket.
class latency_histogram {
 public:
  /// Adds one value.
  void record(std::uint64_t ns) noexcept;
  /// Number of values recorded.
  std::uint64_t count() const noexcept { return count_; }
  /// The largest value recorded, exactly (0 if none).
  std::uint64_t max() const noexcept { return max_; }
  /// The smallest value recorded, exactly (0 if none).
  std::uint64_t min() const noexcept { return count_ ? min_ : 0; }
  /// The value below which a fraction `q` (0..1) of the values lie: the midpoint of
  /// the bucket holding that rank, capped at max(). 0 if nothing was recorded.
  double quantile(double q) const noexcept;
  /// `bins` equal-width bins from min() to max(): (upper edge in ns, count) each. Used
  /// for the text report's bar chart. Empty if nothing was recorded.
  std::vector<std::pair<double, std::uint64_t>> linear_bins(unsigned bins) const;

 private:
  static constexpr unsigned sub_bits = 6;
  static constexpr unsigned sub = 1u << sub_bits;
  static constexpr unsigned max_shift = 34;
  static constexpr unsigned bucket_count = 2 * sub + max_shift * sub;
  static unsigned index_of(std::uint64_t ns) noexcept;
  static double lower_of(unsigned index) noexcept;
  static double width_of(unsigned index) noexcept;

  std::array<std::uint64_t, bucket_count> buckets_{};
  std::uint64_t count_ = 0;
  std::uint64_t max_ = 0;
  std::uint64_t min_ = ~std::uint64_t{0};
};

}  // namespace achan::cli
