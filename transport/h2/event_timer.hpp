#pragma once
/// One asio timer for a connection's few connection-level events (handshake deadline,
/// idle check, maximum age, keepalive, PING timeouts, ...): each event kind has at most
/// one due time, and the timer is armed at the earliest of them.
#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/steady_timer.hpp>

#include <array>
#include <chrono>
#include <cstddef>
#include <memory>

namespace achan::transport::h2util {

/// `N` event kinds (0..N-1). Used on the owner's strand only. When events fall due the
/// timer calls, on that strand, `owner->on_timer(kind)` for each (in kind order), holding
/// the owner (a shared_ptr) meanwhile. An owner that closed calls stop() first: nothing
/// is called after that.
template <std::size_t N>
class event_timer {
 public:
  using time_point = std::chrono::steady_clock::time_point;

  explicit event_timer(const asio::any_io_executor& ex) : timer_(ex) { due_.fill(never); }

  /// Event `kind` falls due at `at` (replacing an earlier setting of it).
  template <class Owner>
  void set(std::size_t kind, time_point at, const std::shared_ptr<Owner>& owner) {
    due_[kind] = at;
    if (!stopped_ && at < armed_)
      arm(at, owner);
  }
  /// Event `kind` is no longer wanted. (The timer may still wake up once for nothing.)
  void clear(std::size_t kind) noexcept { due_[kind] = never; }
  /// Whether event `kind` is set.
  bool is_set(std::size_t kind) const noexcept { return due_[kind] != never; }
  /// Forgets every event and stops the timer for good.
  void stop() {
    stopped_ = true;
    due_.fill(never);
    timer_.cancel();
  }

 private:
  static constexpr time_point never = time_point::max();

  template <class Owner>
  void arm(time_point at, const std::shared_ptr<Owner>& owner) {
    armed_ = at;
    timer_.expires_at(at);
    timer_.async_wait([this, owner](const std::error_code& ec) {
      if (ec == asio::error::operation_aborted || stopped_)
        return;  // re-armed for an earlier event, or stopped
      armed_ = never;
      auto now = std::chrono::steady_clock::now();
      for (std::size_t k = 0; k < N && !stopped_; ++k)
        if (due_[k] <= now) {
          due_[k] = never;
          owner->on_timer(k);
        }
      if (stopped_)
        return;
      time_point next = never;
      for (auto t : due_)
        next = t < next ? t : next;
      if (next != never && next < armed_)
        arm(next, owner);
    });
  }

  asio::steady_timer timer_;
  std::array<time_point, N> due_;
  time_point armed_ = never;
  bool stopped_ = false;
};

}  // namespace achan::transport::h2util
