#pragma once
/// gRPC's static stride scheduler (weighted_round_robin, gRFC A58): an immutable table of
/// 16-bit weights and a shared sequence counter. Each pick walks the sequence: backend
/// `seq % n` in generation `seq / n` is taken when
/// `(weight·generation + index·32767) % 65535 >= 65535 - weight`, so over 65535
/// generations every backend is taken `weight` times, spread evenly. Weights are scaled
/// so the largest is 65535, capped at 10× the mean (at most ~10 rounds per pick) and
/// raised to at least 1 % of it; unknown (zero) weights get the mean.
#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstdint>
#include <optional>
#include <vector>

namespace achan {

class stride_scheduler {
 public:
  static constexpr std::uint16_t max_weight = 65535;
  static constexpr double max_ratio = 10;
  static constexpr double min_ratio = 0.01;

  /// A scheduler for `weights` (one per backend, 0 = unknown), or none when fewer than
  /// two are known (the caller then rotates evenly).
  static std::optional<stride_scheduler> make(const std::vector<double>& weights) {
    auto n = weights.size();
    std::size_t zeros = 0;
    double sum = 0, top = 0;
    for (double w : weights) {
      if (!(w > 0)) {
        ++zeros;
        continue;
      }
      sum += w;
      top = std::max(top, w);
    }
    if (n < 2 || zeros + 1 >= n)
      return std::nullopt;
    double mean = sum / static_cast<double>(n - zeros);
    if (top / mean > max_ratio)
      top = max_ratio * mean;
    double scale = max_weight / top;
    auto scaled_mean = static_cast<std::uint16_t>(std::lround(scale * mean));
    auto floor = std::max<std::uint16_t>(
        1, static_cast<std::uint16_t>(std::lround(scaled_mean * min_ratio)));
    stride_scheduler s;
    s.weights_.reserve(n);
    for (double w : weights) {
      if (!(w > 0)) {
        s.weights_.push_back(scaled_mean);
        continue;
      }
      auto v = static_cast<std::uint16_t>(std::lround(std::min(w, top) * scale));
      s.weights_.push_back(std::max(v, floor));
    }
    return s;
  }

  /// The next backend index, advancing `sequence` (shared by all pickers of a policy,
  /// any thread).
  std::size_t pick(std::atomic<std::uint64_t>& sequence) const noexcept {
    auto n = weights_.size();
    for (;;) {
      auto seq = sequence.fetch_add(1, std::memory_order_relaxed);
      auto index = seq % n;
      auto generation = seq / n;
      std::uint64_t weight = weights_[index];
      auto mod = (weight * generation + index * (max_weight / 2)) % max_weight;
      if (mod >= max_weight - weight)
        return index;
    }
  }

  const std::vector<std::uint16_t>& weights() const noexcept { return weights_; }

 private:
  std::vector<std::uint16_t> weights_;
};

}  // namespace achan
