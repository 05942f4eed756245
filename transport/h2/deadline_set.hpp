#pragma once
/// The deadlines of one connection's streams, kept in order so that one timer serves
/// them all (a timer per stream costs an allocation, a timer-queue insertion under the
/// reactor's lock and a cancelled completion per call).
#include <chrono>
#include <cstdint>
#include <optional>
#include <set>
#include <utility>

namespace achan::transport::h2util {

/// An ordered set of (deadline, stream id). Single-threaded (the connection's strand).
/// The owner keeps one timer armed at earliest() — re-arming only when add() says the
/// earliest moved earlier — and calls take_due() when it fires.
class deadline_set {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  /// Adds stream `id` due at `t`. Returns true when `t` is now the earliest deadline
  /// and earlier than the time the owner's timer is armed for (the owner re-arms).
  bool add(time_point t, std::int32_t id) {
    entries_.emplace(t, id);
    if (t >= armed_)
      return false;
    armed_ = t;
    return true;
  }

  /// Forgets stream `id` due at `t` (no-op if absent).
  void remove(time_point t, std::int32_t id) { entries_.erase({t, id}); }

  /// Removes every stream due at or before `now`, calling `f(id)` for each in deadline
  /// order (`f` may remove other entries). Afterwards the owner re-arms for arm(), if any.
  template <class F>
  void take_due(time_point now, F&& f) {
    while (!entries_.empty() && entries_.begin()->first <= now) {
      auto id = entries_.begin()->second;
      entries_.erase(entries_.begin());
      f(id);
    }
    armed_ = time_point::max();
  }

  /// The earliest deadline, if any; records that the owner's timer is armed for it.
  std::optional<time_point> arm() {
    if (entries_.empty())
      return std::nullopt;
    armed_ = entries_.begin()->first;
    return armed_;
  }

  /// Forgets everything (the connection closed).
  void clear() {
    entries_.clear();
    armed_ = time_point::max();
  }

  std::size_t size() const noexcept { return entries_.size(); }

 private:
  std::set<std::pair<time_point, std::int32_t>> entries_;
  time_point armed_ = time_point::max();  // what the owner's timer waits for
};

}  // namespace achan::transport::h2util
