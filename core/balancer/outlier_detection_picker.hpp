#pragma once
/// outlier_detection's data path: the per-address call counter (a call_tracker) and the
/// picker that wraps the child's picker and attaches the counter of the picked address.
/// Header-only so tests and benchmarks can build them directly.
#include <algorithm>
#include <atomic>
#include <cstdint>
#include <functional>
#include <utility>
#include <vector>

#include <achan/call_tracker.hpp>
#include <achan/picker.hpp>
#include <achan/transport.hpp>

namespace achan {

/// One address's call outcomes in two buckets (gRFC A50's call counter, after Envoy's):
/// calls ending now count into the active bucket; each sweep retires it and activates
/// the other, zeroed. `on_call_end` runs on any thread and is two atomic operations.
class od_call_counter final : public call_tracker {
 public:
  struct counts {
    std::uint64_t successes = 0;
    std::uint64_t failures = 0;
    std::uint64_t volume() const noexcept { return successes + failures; }
  };

  /// Counts OK as a success and every other status as a failure (as gRPC does). A call
  /// that never left for the backend (`!o.sent`) is not counted.
  void on_call_end(const call_outcome& o) noexcept override {
    if (!o.sent)
      return;
    auto* b = active_.load(std::memory_order_acquire);
    (o.st.ok() ? b->successes : b->failures).fetch_add(1, std::memory_order_relaxed);
  }

  /// The policy's thread only (the sweep, or a timer restart that discards old counts):
  /// zeroes the inactive bucket, makes it the active one and returns what the retired
  /// bucket counted. A call ending during the swap may land in either interval.
  counts rotate() noexcept {
    auto* old = active_.load(std::memory_order_relaxed);
    auto* next = old == &buckets_[0] ? &buckets_[1] : &buckets_[0];
    next->successes.store(0, std::memory_order_relaxed);
    next->failures.store(0, std::memory_order_relaxed);
    active_.store(next, std::memory_order_release);
    return {old->successes.load(std::memory_order_relaxed),
            old->failures.load(std::memory_order_relaxed)};
  }

  /// What the active bucket holds so far (tests, diagnostics).
  counts current() const noexcept {
    const auto* b = active_.load(std::memory_order_acquire);
    return {b->successes.load(std::memory_order_relaxed),
            b->failures.load(std::memory_order_relaxed)};
  }

 private:
  struct bucket {
    std::atomic<std::uint64_t> successes{0};
    std::atomic<std::uint64_t> failures{0};
  };
  bucket buckets_[2];
  std::atomic<bucket*> active_{&buckets_[0]};
};

/// Delegates to the child's picker and, for a complete pick, puts the picked address's
/// counter into pick_result::trackers[1] (the parent's slot). The connection → counter
/// table is built once per picker and searched by pointer: a pick takes no lock and
/// allocates nothing. A connection missing from the table (an address outlier_detection
/// does not track) gets no counter; a child that already filled slot 1 (itself a
/// parent) keeps it.
class od_picker final : public picker {
 public:
  using entry = std::pair<const transport::connection*, tracker_ref<od_call_counter>>;

  /// `child` must not be null. `counters` in any order; empty when counting is off.
  od_picker(picker_ptr child, std::vector<entry> counters)
      : child_(std::move(child)), counters_(std::move(counters)) {
    std::sort(counters_.begin(), counters_.end(),
              [](const entry& a, const entry& b) { return by_address(a.first, b.first); });
  }

  pick_result pick(const pick_info& info) const noexcept override {
    auto r = child_->pick(info);
    if (r.what != pick_result::kind::complete || r.conn == nullptr || r.trackers[1] != nullptr ||
        counters_.empty())
      return r;
    const auto* key = r.conn->get();
    auto it = std::lower_bound(
        counters_.begin(), counters_.end(), key,
        [](const entry& e, const transport::connection* k) { return by_address(e.first, k); });
    if (it != counters_.end() && it->first == key)
      r.trackers[1] = it->second.get();
    return r;
  }

  /// The wrapped picker (tests, diagnostics).
  const picker_ptr& child() const noexcept { return child_; }
  /// How many connections have a counter.
  std::size_t counted() const noexcept { return counters_.size(); }

 private:
  // std::less: a total order over pointers to unrelated objects.
  static constexpr std::less<const transport::connection*> by_address{};
  picker_ptr child_;
  std::vector<entry> counters_;  // sorted by connection pointer
};

}  // namespace achan
