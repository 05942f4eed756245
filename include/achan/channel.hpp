#pragma once
/// The public face of achan: dial a target, make calls, watch connectivity.
///
///   caf::actor_system sys{cfg};
///   achan::dial_options opts;
///   opts.lb_policy = "round_robin";
///   auto ch = achan::dial(sys, "ipv4:10.0.0.1:50051,10.0.0.2:50051", opts);
///   if (!ch) { std::cerr << achan::to_string_with_message(ch.error()); return 1; }
///   auto reply = ch->call("/echo.Echo/Unary", bytes).get();   // std::future
///
/// A channel is a cheap handle (copies share one channel). When the last copy is
/// destroyed the channel closes. Actor users can instead send
/// `request(ch.actor(), caf::infinite, achan::call_request{...})` and get a
/// call_result as the response.
#include <array>
#include <functional>
#include <future>
#include <memory>
#include <string>
#include <string_view>

#include <caf/actor.hpp>
#include <caf/expected.hpp>
#include <caf/fwd.hpp>

#include <achan/dial_options.hpp>
#include <achan/errors.hpp>
#include <achan/protocol.hpp>
#include <achan/target.hpp>

namespace achan {

/// Lets the owner of one call cancel it.
class call_handle {
 public:
  call_handle() = default;
  /// (Made by channel; `ch` is the channel actor.)
  call_handle(call_ptr c, caf::actor ch) : c_(std::move(c)), ch_(std::move(ch)) {}
  /// Ends the call with CANCELLED unless it already ended, and releases its stream.
  /// Thread-safe; a no-op on a default-constructed or finished handle.
  void cancel();
  /// True once the call has ended (its completion has run or is running).
  bool done() const noexcept { return !c_ || c_->finished(); }

 private:
  call_ptr c_;
  caf::actor ch_;
};

/// A client- or bidi-streaming call in progress: write request messages, half-close,
/// cancel. Copies share the call. Thread-safe. write() never blocks and queues without
/// bound: a writer that can outpace the network paces itself with `sent` (write the next
/// message when the last one went out, like grpc++'s one outstanding async Write) or by
/// keeping buffered() under a limit of its own.
class stream_call {
 public:
  stream_call() = default;
  /// (Made by channel; `ch` is the channel actor.)
  stream_call(call_ptr c, caf::actor ch) : handle_(c, std::move(ch)), c_(std::move(c)) {}
  /// Queues one request message; false (and `sent` is not called) once writes_done()
  /// was called or the call ended. `sent`, if given, runs exactly once on an achan
  /// thread (it must not block): true when the message went into HTTP/2 DATA frames —
  /// it fitted the server's flow-control window — false if the call ended first.
  bool write(std::string message, std::function<void(bool)> sent = {});
  /// Bytes of written messages not yet sent (queued, or waiting for flow-control
  /// window); 0 once the call ended.
  std::size_t buffered() const;
  /// Half-close: no more request messages (the server sees the end of the stream).
  void writes_done();
  /// Ends the call with CANCELLED unless it already ended.
  void cancel();
  /// True once the call has ended.
  bool done() const noexcept { return handle_.done(); }
  /// Response flow control, for a reader that cannot keep up (a proxy whose client
  /// reads slowly): while paused, the HTTP/2 transport grants the server no more
  /// flow-control window for this stream, so the server stops after at most
  /// h2_options::stream_window more bytes; messages already received still reach
  /// on_message. pause_responses(false) reopens the window. Any thread; the latest call
  /// wins. No effect on calls with a retry or hedging policy (their attempts are
  /// separate streams) or on transports that do not pace (the simulated one).
  void pause_responses(bool paused);

 private:
  call_handle handle_;
  call_ptr c_;
};

/// A client channel. All members are thread-safe.
/// What a channel's retries and hedges did (channel::stats()): a snapshot of counters
/// since dial.
struct channel_stats {
  /// Attempts of calls with a retry or hedging policy, by the status they ended with
  /// (index = status_code; lost hedges end CANCELLED).
  std::array<std::uint64_t, 17> attempts_by_code{};
  std::uint64_t retries = 0;              ///< retry attempts started (after the first)
  std::uint64_t hedges = 0;               ///< hedged attempts started (after the first)
  std::uint64_t transparent_retries = 0;  ///< calls re-picked that no server had processed
};

class channel {
 public:
  struct impl;
  explicit channel(std::shared_ptr<impl> i) : impl_(std::move(i)) {}

  /// The channel's current connectivity state (as last published by its state manager).
  connectivity_state state() const noexcept;
  /// Leaves IDLE: starts resolving and connecting without waiting for a call.
  void connect();
  /// Calls `done(true)` once the state is no longer `from`, or `done(false)` when the
  /// channel clock reaches `deadline` first. `done` runs on the state manager actor.
  void wait_for_state_change(connectivity_state from, time_point deadline,
                             std::function<void(bool)> done);
  /// Future form of the above, with a timeout relative to now.
  std::future<bool> wait_for_state_change(connectivity_state from, clock_duration timeout);
  /// Calls `fn` with the current state (from == to), then with every change in order,
  /// ending with SHUTDOWN. `fn` runs on the state manager actor and must not block.
  void subscribe(std::function<void(const state_change&)> fn);

  /// Starts a unary call. `done` runs exactly once, on an achan thread (it must not
  /// block), with the response or the status that ended the call.
  call_handle call(std::string method, std::string payload, call_options opts,
                   std::function<void(call_result&&)> done);
  /// Future form of the above.
  std::future<call_result> call(std::string method, std::string payload, call_options opts = {});
  /// Unary call with a protobuf message (anything with ByteSizeLong() and
  /// SerializeToArray(), e.g. google::protobuf::MessageLite): serialized once, into the
  /// buffer the HTTP/2 transport sends the request from (no copy before nghttp2's frame).
  /// Otherwise as the bytes form.
  template <class Message>
  auto call(std::string method, const Message& request, call_options opts,
            std::function<void(call_result&&)> done)
      -> decltype(request.ByteSizeLong(), call_handle{}) {
    std::string bytes(request.ByteSizeLong(), '\0');
    if (!request.SerializeToArray(bytes.data(), static_cast<int>(bytes.size()))) {
      done(
          call_result{{status_code::internal, "cannot serialize the request message"}, {}, {}, {}});
      return {};
    }
    return call(std::move(method), std::move(bytes), std::move(opts), std::move(done));
  }

  /// Starts a server-streaming call: one request, then `on_message` for each response
  /// message in order, then `done` exactly once with the final status (its payload is
  /// empty). Both run on achan threads and must not block; no message follows `done`.
  /// Deadline, cancellation and wait_for_ready work as for unary calls.
  call_handle server_stream(std::string method, std::string request, call_options opts,
                            std::function<void(std::string&&)> on_message,
                            std::function<void(call_result&&)> done);
  /// Starts a client-streaming call: write requests on the returned stream_call, then
  /// writes_done(); `done` gets the single response (payload) and status.
  stream_call client_stream(std::string method, call_options opts,
                            std::function<void(call_result&&)> done);
  /// Starts a bidi-streaming call: requests through the returned stream_call, responses
  /// to `on_message` in order, then `done` once (empty payload); nothing after `done`.
  stream_call bidi_stream(std::string method, call_options opts,
                          std::function<void(std::string&&)> on_message,
                          std::function<void(call_result&&)> done);

  /// Shuts the channel down: state SHUTDOWN; waiting calls end with CANCELLED,
  /// in-flight ones with UNAVAILABLE; later calls end with CANCELLED at once.
  void close();

  /// The channel actor, for `request(actor, caf::infinite, call_request{...})`.
  channel_actor actor() const;
  /// The parsed target.
  const achan::target& target() const noexcept;
  /// Now on the channel's clock (the actor clock; virtual under the test coordinator).
  time_point now() const noexcept;

  /// Counters of the channel's retries and hedges so far. Any thread.
  channel_stats stats() const noexcept;

 private:
  std::shared_ptr<impl> impl_;
};

/// Parses and validates `target` and `opts`, and creates a channel in IDLE (or, with
/// opts.block_until_ready, connects and waits for READY). Errors (errc): invalid_target,
/// unknown_policy, invalid_option, dial_timeout; would_deadlock when
/// opts.block_until_ready is set and the calling thread runs `sys`'s actors (a handler
/// of an actor, i.e. a CAF scheduler worker, or any thread under CAF's test
/// coordinator): the wait needs those actors to run, so dial fails at once instead of
/// blocking (from an actor, dial without block_until_ready and follow the state with
/// channel::subscribe). Without block_until_ready, dial never blocks and may be called
/// from anywhere.
caf::expected<channel> dial(caf::actor_system& sys, std::string_view target,
                            dial_options opts = {});

}  // namespace achan
