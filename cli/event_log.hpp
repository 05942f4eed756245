#pragma once
/// A thread-safe queue of printable lines: actor callbacks (channel observer, state
/// subscription) push, the command's main thread pops and prints, so no actor ever
/// blocks on stdout.
#include <chrono>
#include <condition_variable>
#include <deque>
#include <mutex>
#include <string>
#include <vector>

namespace achan::cli {

/// Lines waiting to be printed, in push order; at most `max_lines` wait (more are
/// dropped and counted), so a stalled stdout cannot grow it without bound.
class event_log {
 public:
  explicit event_log(std::size_t max_lines = 100000) : max_(max_lines) {}
  /// Adds a line (any thread; never blocks for long).
  void push(std::string line) {
    {
      std::lock_guard lock{m_};
      if (lines_.size() >= max_) {
        ++dropped_;
        return;
      }
      lines_.push_back(std::move(line));
    }
    cv_.notify_one();
  }
  /// Lines dropped because max_lines were waiting.
  std::size_t dropped() {
    std::lock_guard lock{m_};
    return dropped_;
  }
  /// Takes every waiting line, waiting up to `timeout` for the first one.
  std::vector<std::string> pop_all(std::chrono::milliseconds timeout) {
    std::unique_lock lock{m_};
    cv_.wait_for(lock, timeout, [&] { return !lines_.empty(); });
    std::vector<std::string> out(std::make_move_iterator(lines_.begin()),
                                 std::make_move_iterator(lines_.end()));
    lines_.clear();
    return out;
  }

 private:
  std::mutex m_;
  std::condition_variable cv_;
  std::deque<std::string> lines_;
  std::size_t max_;
  std::size_t dropped_ = 0;
};

/// Now as "2026-11-24T08:30:01.123Z" (UTC, milliseconds).
std::string utc_timestamp();

}  // namespace achan::cli
