#pragma once
/// One timer for all the stream deadlines of a connection: a deadline_set plus the
/// asio timer armed at its earliest entry, shared by the client and server connections.
#include <asio/any_io_executor.hpp>
#include <asio/error.hpp>
#include <asio/steady_timer.hpp>

#include <chrono>
#include <cstdint>
#include <memory>

#include "transport/h2/deadline_set.hpp"

namespace achan::transport::h2util {

/// Used on the owner's strand only. When deadlines pass the timer calls, on that strand,
/// `owner->on_deadline(id)` for each stream due (in deadline order), then `owner->flush()`
/// once; the handler holds the owner (a shared_ptr) until then. An owner that closed calls
/// clear() first: nothing is called after that.
class deadline_timer {
 public:
  using time_point = deadline_set::time_point;

  explicit deadline_timer(const asio::any_io_executor& ex) : timer_(ex) {}

  /// Adds stream `id` due at `t`, re-arming the timer if `t` is the new earliest.
  template <class Owner>
  void add(time_point t, std::int32_t id, const std::shared_ptr<Owner>& owner) {
    if (set_.add(t, id))
      arm(t, owner);
  }
  /// Forgets stream `id` due at `t` (the stream ended first).
  void remove(time_point t, std::int32_t id) { set_.remove(t, id); }
  /// Forgets every stream and stops the timer (the connection closed).
  void clear() {
    set_.clear();
    timer_.cancel();
  }

 private:
  template <class Owner>
  void arm(time_point t, const std::shared_ptr<Owner>& owner) {
    timer_.expires_at(t);
    timer_.async_wait([this, owner](const std::error_code& ec) {
      if (ec == asio::error::operation_aborted)
        return;  // re-armed for an earlier deadline, or cleared
      set_.take_due(std::chrono::steady_clock::now(),
                    [&](std::int32_t id) { owner->on_deadline(id); });
      if (auto next = set_.arm())
        arm(*next, owner);
      owner->flush();
    });
  }

  asio::steady_timer timer_;
  deadline_set set_;
};

}  // namespace achan::transport::h2util
