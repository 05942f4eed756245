#pragma once
/// The request messages of a client- or bidi-streaming call with a retry policy (gRFC A6:
/// streams are retried while uncommitted). The call's owner writes to the call's own
/// request_stream (the source); this moves each message on to the current attempt's
/// stream and keeps a copy for the next attempt, until the copies would exceed `limit`
/// (the per-call retry buffer): then it keeps none and the call can no longer be retried.
///
/// A message's `sent` callback runs once: true when some attempt handed the message on,
/// false when the call ended first. An attempt that fails while a retry may follow does
/// not run it: the next attempt sends the message again.
///
/// Thread-safe: writers (any thread), transport threads (an attempt's stream ends) and the
/// channel actor (a new attempt) meet here; the lock orders moving messages against
/// switching attempts. It is held only to move pointers and copy messages, never while a
/// callback runs. CAF-free.
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <achan/request_stream.hpp>

namespace achan::transport {

class request_replay : public std::enable_shared_from_this<request_replay> {
 public:
  /// Use std::make_shared; `source` is the call's own stream.
  request_replay(std::shared_ptr<request_stream> source, std::size_t limit);

  /// The request stream for the next attempt: the first time an empty one (and from now
  /// on, what the owner writes goes to it), later one with every message so far and the
  /// half-close if it came. Null once the copies were given up (too large) or finish()ed.
  std::shared_ptr<request_stream> next_stream();
  /// Whether another attempt could still get every message (nothing given up).
  bool replayable() const;
  /// The call ended: no more attempts; the callbacks of messages no attempt handed on
  /// run with false (now, or when the last attempt's stream lets go of them).
  void finish();

 private:
  struct slot;  // one message's `sent` callback, shared by its copies in every attempt
  struct kept {
    std::string message;
    std::shared_ptr<slot> s;
  };
  void pump();  // source → current attempt (the source's on_ready)
  request_stream::sent_fn relay(const std::shared_ptr<slot>& s);

  std::shared_ptr<request_stream> source_;
  std::size_t limit_;
  mutable std::mutex mx_;
  std::shared_ptr<request_stream> current_;
  std::vector<kept> kept_;
  std::size_t kept_bytes_ = 0;
  bool given_up_ = false;  // copies over the limit: no more attempts
  bool finished_ = false;  // the call ended
  bool source_closed_ = false;
  bool started_ = false;
};

}  // namespace achan::transport
