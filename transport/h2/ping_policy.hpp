#pragma once
/// The server's keepalive enforcement (gRFC A8), as gRPC C++ and grpc-go apply it: a
/// client that pings more often than the server permits collects "strikes"; more than
/// max_strikes of them end the connection with GOAWAY ENHANCE_YOUR_CALM "too_many_pings".
#include <chrono>

namespace achan::transport::h2util {

/// Pure bookkeeping; the connection feeds it events on its strand.
class ping_policy {
 public:
  using clock = std::chrono::steady_clock;

  /// `min_time`: the shortest interval between pings the server permits while calls are
  /// open (gRPC: 5 min); without calls pings are permitted only every 2 hours unless
  /// `permit_without_calls`. `max_strikes` 0 disables enforcement.
  ping_policy(clock::duration min_time, bool permit_without_calls, int max_strikes) noexcept
      : min_time_(min_time), permit_without_calls_(permit_without_calls), max_(max_strikes) {}

  /// A PING (not an ACK) arrived at `now`; `calls_open` whether any stream is open.
  /// Returns true when the client has now pinged too often: send GOAWAY and close.
  bool on_ping(clock::time_point now, bool calls_open) noexcept {
    auto interval = calls_open || permit_without_calls_ ? min_time_ : std::chrono::hours(2);
    bool too_soon = have_last_ && now - last_ < interval;
    have_last_ = true;
    last_ = now;
    if (!too_soon)
      return false;
    ++strikes_;
    return max_ != 0 && strikes_ > max_;
  }
  /// The server sent HEADERS or DATA: the client's pings so far are forgiven (gRPC resets
  /// its ping strikes whenever it sends data or headers).
  void on_data_sent() noexcept {
    have_last_ = false;
    strikes_ = 0;
  }
  int strikes() const noexcept { return strikes_; }

 private:
  clock::duration min_time_;
  bool permit_without_calls_;
  int max_;
  int strikes_ = 0;
  bool have_last_ = false;
  clock::time_point last_{};
};

}  // namespace achan::transport::h2util
