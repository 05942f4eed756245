#pragma once
/// Per-call hooks of load-aware pickers. A pick may hand out trackers; the channel
/// attaches them to the call, and exactly one `on_call_end` runs per attached tracker
/// when that call ends (or when it is re-picked before it was sent). Policies use them
/// to count outstanding calls, measure latency and read load reports from trailers.
///
/// Trackers are reference counted intrusively, so attaching one to a call is one atomic
/// increment: no allocation and no lock per pick or per completion.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

#include <achan/status.hpp>

namespace achan {

/// Request or response metadata: ordered (key, value) pairs, keys lower-case.
using metadata = std::vector<std::pair<std::string, std::string>>;
/// Monotonic time as the channel's clock reports it (CAF's actor clock: virtual in tests).
using clock_duration = std::chrono::steady_clock::duration;
using time_point = std::chrono::steady_clock::time_point;

/// How a picked call ended, as its trackers see it.
struct call_outcome {
  const status& st;          ///< the call's final status
  const metadata& trailers;  ///< response headers and trailers (empty if none arrived)
  time_point picked_at;      ///< when the pick was made (channel clock)
  /// False if the call never left for this pick's backend: it was picked again
  /// (the connection could not take it) or it ended before it was started.
  bool sent = true;
};

/// A policy's per-call hook. Subclass it, create it with `make_tracker`, and return a
/// pointer to it from `picker::pick` (pick_result::trackers) while the picker holds a
/// `tracker_ref` to it.
class call_tracker {
 public:
  call_tracker() = default;
  call_tracker(const call_tracker&) = delete;
  call_tracker& operator=(const call_tracker&) = delete;

  /// Runs exactly once per attachment, on the thread that ended the call (a transport
  /// thread, the channel actor, or the thread that cancelled it). Must not block: it
  /// runs on the data path. Lock-free counters and atomics only.
  virtual void on_call_end(const call_outcome& o) noexcept = 0;

  void retain() const noexcept { refs_.fetch_add(1, std::memory_order_relaxed); }
  void release() const noexcept {
    if (refs_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      delete this;
  }

 protected:
  virtual ~call_tracker() = default;

 private:
  mutable std::atomic<std::uint32_t> refs_{0};
};

/// An owning reference to a tracker (like shared_ptr, with the count inside it).
template <class T>
class tracker_ref {
 public:
  tracker_ref() = default;
  explicit tracker_ref(T* p) noexcept : p_(p) {
    if (p_)
      p_->retain();
  }
  tracker_ref(const tracker_ref& o) noexcept : tracker_ref(o.p_) {}
  tracker_ref(tracker_ref&& o) noexcept : p_(std::exchange(o.p_, nullptr)) {}
  tracker_ref& operator=(tracker_ref o) noexcept {
    std::swap(p_, o.p_);
    return *this;
  }
  ~tracker_ref() {
    if (p_)
      p_->release();
  }
  T* get() const noexcept { return p_; }
  T* operator->() const noexcept { return p_; }
  T& operator*() const noexcept { return *p_; }
  explicit operator bool() const noexcept { return p_ != nullptr; }

 private:
  T* p_ = nullptr;
};

/// Creates a tracker owned by the returned reference.
template <class T, class... Args>
tracker_ref<T> make_tracker(Args&&... args) {
  return tracker_ref<T>{new T(std::forward<Args>(args)...)};
}

}  // namespace achan
