#pragma once
/// The request side of a client- or bidi-streaming call: messages the call's owner
/// writes (any thread) and the connection carrying the call takes (its own thread).
#include <cstddef>
#include <deque>
#include <functional>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

namespace achan::transport {

/// A queue of request messages with a half-close. Thread-safe. write() never blocks and
/// the queue has no bound of its own: a writer paces itself with the `sent` callback of
/// each write (one message handed on, write the next) or by watching buffered().
class request_stream {
 public:
  /// Runs once per written message, on a transport thread, outside any lock: true once
  /// the message was handed on (HTTP/2: all its bytes went into DATA frames, i.e. it
  /// fitted the peer's flow-control windows), false if the call ended first.
  using sent_fn = std::function<void(bool)>;

  /// Queues `message`; false (nothing queued, `sent` not called) once closed.
  bool write(std::string message, sent_fn sent = {});
  /// No more messages (half-close). Idempotent.
  void close();
  /// Whether close() was called.
  bool closed() const;
  /// Bytes of written messages not yet handed on: queued here or taken by the transport
  /// and waiting for flow-control window. 0 once the call ended.
  std::size_t buffered() const;
  /// The call ended: closes the stream, drops what is queued and runs its `sent`
  /// callbacks with false; buffered() is 0 from now on. Idempotent.
  void abandon();

  /// Transport side: a message taken by take_framed, until it is handed on.
  struct taken {
    std::size_t end = 0;   ///< offset in `out` just past its frame
    std::size_t size = 0;  ///< message bytes (counted in buffered())
    sent_fn sent;
  };
  /// Transport side: appends every queued message, gRPC-framed, to `out`, and one entry
  /// per message to `taken`. Returns true once the stream is closed and nothing is left.
  bool take_framed(std::string& out, std::vector<taken>& taken);
  /// Transport side: the message of `t` was handed on (`ok`) or dropped: updates
  /// buffered() and runs its callback. Call outside the transport's protocol callbacks.
  void settle(taken&& t, bool ok);
  /// Transport side: moves the queued messages into `out` (unframed), counting them as
  /// handed on at once; same result as take_framed.
  bool take(std::vector<std::string>& out);
  /// Retry side (transport/request_replay): moves the queued messages with their `sent`
  /// callbacks into `out` (the callbacks are then the caller's to run); they no longer
  /// count in buffered(). Returns true once the stream is closed and nothing is left.
  bool take_with_callbacks(std::vector<std::pair<std::string, sent_fn>>& out);
  /// Transport side: `fn` runs whenever a message or the close arrives (on the writer's
  /// thread, outside the lock; it should only post work). Runs at once if something is
  /// already waiting.
  void on_ready(std::function<void()> fn);

 private:
  struct entry {
    std::string message;
    sent_fn sent;
  };
  void wake(std::unique_lock<std::mutex>& lk);

  mutable std::mutex mx_;  // writers vs. the transport thread; held only briefly
  std::deque<entry> queue_;
  std::size_t buffered_ = 0;
  bool closed_ = false;
  bool abandoned_ = false;
  std::function<void()> ready_;
};

}  // namespace achan::transport
