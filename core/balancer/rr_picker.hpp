#pragma once
/// round_robin's READY picker: an immutable snapshot of the READY connections that
/// hands them out in turn. Header-only so benchmarks and tests can build one directly.
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <vector>

#include <achan/picker.hpp>
#include <achan/transport.hpp>

namespace achan {

/// Picks connections in rotation, starting at `start` (round_robin chooses it with the
/// balancer's seeded generator so channels do not all hit the first address). Any thread
/// may call pick(): it is one relaxed fetch_add, no lock, no allocation. Over N picks
/// with k connections every connection is returned exactly N/k times when k divides N.
class rr_picker final : public picker {
 public:
  /// `conns` must not be empty (round_robin publishes a queue/fail picker instead).
  rr_picker(std::vector<transport::connection_ptr> conns, std::size_t start)
      : conns_(std::move(conns)), start_(conns_.empty() ? 0 : start % conns_.size()) {}

  pick_result pick(const pick_info&) const noexcept override {
    if (conns_.empty())
      return {};
    auto n = next_.fetch_add(1, std::memory_order_relaxed);
    auto i = (start_ + n % conns_.size()) % conns_.size();
    return {pick_result::kind::complete, &conns_[i], nullptr};
  }

  /// The connections in rotation order (index 0 first), for tests and diagnostics.
  const std::vector<transport::connection_ptr>& connections() const noexcept { return conns_; }
  std::size_t start() const noexcept { return start_; }

 private:
  std::vector<transport::connection_ptr> conns_;
  std::size_t start_;
  // Relaxed is enough: the counter only spreads picks, it orders no other memory.
  mutable std::atomic<std::uint64_t> next_{0};
};

}  // namespace achan
