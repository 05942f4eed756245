#pragma once
/// Lock-free publication of picker snapshots from one writer (the channel actor) to any
/// number of readers (threads starting calls).
///
/// Readers announce themselves on a counter for the few nanoseconds they use the raw
/// snapshot; the writer frees a replaced snapshot only after it has seen that counter at
/// zero after the replacement. All four operations are sequentially consistent, so a
/// reader that the writer did not see has to load the newer pointer. (libstdc++ 12's
/// std::atomic<std::shared_ptr> is not lock-free, which is why this exists.)
#include <atomic>
#include <cstdint>
#include <memory>
#include <utility>
#include <vector>

#include <achan/picker.hpp>

namespace achan {

/// One published snapshot of a T (or none). Reader side: with(); writer side (one thread
/// or actor at a time): publish(), reclaim(). The channel publishes its picker and its
/// service config this way.
template <class T>
class snapshot_slot {
 public:
  /// Calls `fn(const T&)` with the current snapshot and returns true, or returns
  /// false if none is published. `fn` must be short and must not throw (it runs while
  /// the snapshot is pinned); copy what outlives it (e.g. the picked connection_ptr).
  template <class F>
  bool with(F&& fn) const noexcept {
    readers_.fetch_add(1, std::memory_order_seq_cst);
    const T* p = current_.load(std::memory_order_seq_cst);
    if (p)
      std::forward<F>(fn)(*p);
    readers_.fetch_sub(1, std::memory_order_seq_cst);
    return p != nullptr;
  }

  /// A hint for readers that can skip their work when nothing is published: one relaxed
  /// load, no reader count. It may be stale; with() is the real read.
  bool published() const noexcept { return current_.load(std::memory_order_relaxed) != nullptr; }

  /// Replaces the snapshot (null: none). Keeps `p` alive, and frees replaced snapshots no
  /// reader can still hold.
  void publish(std::shared_ptr<const T> p) {
    current_.store(p.get(), std::memory_order_seq_cst);
    if (p && (kept_.empty() || kept_.back() != p))
      kept_.push_back(std::move(p));
    reclaim();
  }

  /// Frees replaced snapshots if no reader is inside with() now; otherwise they wait for
  /// a later publish() or reclaim().
  void reclaim() {
    if (kept_.empty() || readers_.load(std::memory_order_seq_cst) != 0)
      return;
    const T* cur = current_.load(std::memory_order_relaxed);
    std::erase_if(kept_, [cur](const std::shared_ptr<const T>& k) { return k.get() != cur; });
  }

  /// Snapshots kept alive (the current one plus replaced ones not freed yet), for tests.
  std::size_t kept() const noexcept { return kept_.size(); }

 private:
  mutable std::atomic<std::uint32_t> readers_{0};
  std::atomic<const T*> current_{nullptr};
  std::vector<std::shared_ptr<const T>> kept_;  // writer only
};

/// The channel's published picker.
using picker_slot = snapshot_slot<picker>;

}  // namespace achan
