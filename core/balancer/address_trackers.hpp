#pragma once
/// The per-address call trackers a READY-set policy keeps (least_request's outstanding
/// counts, peak_ewma's latency estimates, weighted_round_robin's weights): shared with its
/// pickers, so the state survives picker rebuilds and outlives a removed address for as
/// long as calls hold its tracker.
#include <string>
#include <unordered_map>

#include <achan/call_tracker.hpp>
#include "core/balancer/subchannel_list.hpp"

namespace achan {

template <class T>
class address_trackers {
 public:
  /// The tracker of `address`, made by `make()` (returning tracker_ref<T>) if it has none.
  template <class Make>
  tracker_ref<T>& get(const std::string& address, Make&& make) {
    auto& t = map_[address];
    if (!t)
      t = make();
    return t;
  }
  /// The tracker of `address`, or null.
  T* find(const std::string& address) const {
    auto it = map_.find(address);
    return it == map_.end() ? nullptr : it->second.get();
  }
  /// Drops the trackers of addresses `list` no longer holds.
  void prune(const subchannel_list& list) {
    std::erase_if(map_, [&list](const auto& kv) { return !list.find_address(kv.first); });
  }
  auto begin() { return map_.begin(); }
  auto end() { return map_.end(); }
  std::size_t size() const noexcept { return map_.size(); }

 private:
  std::unordered_map<std::string, tracker_ref<T>> map_;
};

}  // namespace achan
