#pragma once
/// The request side of a client- or bidi-streaming call: messages the call's owner
/// writes (any thread) and the connection carrying the call takes (its own thread).
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <vector>

namespace achan::transport {

/// A queue of request messages with a half-close. Thread-safe. Unbounded: writers that
/// can outpace the network should pace themselves on the responses they get.
class request_stream {
 public:
  /// Queues `message`; false (and nothing queued) once closed.
  bool write(std::string message);
  /// No more messages (half-close). Idempotent.
  void close();
  /// Whether close() was called.
  bool closed() const;

  /// Transport side: appends every queued message, gRPC-framed, to `out`. Returns true
  /// once the stream is closed and nothing is left.
  bool take_framed(std::string& out);
  /// Transport side: moves the queued messages into `out` (unframed); same result.
  bool take(std::vector<std::string>& out);
  /// Transport side: `fn` runs whenever a message or the close arrives (on the writer's
  /// thread, outside the lock; it should only post work). Runs at once if something is
  /// already waiting.
  void on_ready(std::function<void()> fn);

 private:
  void wake(std::unique_lock<std::mutex>& lk);

  mutable std::mutex mx_;  // writers vs. the transport thread; held only briefly
  std::deque<std::string> queue_;
  bool closed_ = false;
  std::function<void()> ready_;
};

}  // namespace achan::transport
