#pragma once
/// The messages a CAF actor may send a channel, and the channel's typed handle
/// (`channel::actor()`): a call is a message, the reply a response.
///
///   self->request(ch.actor(), caf::infinite, achan::call_request{method, bytes, {}})
///       .then([](achan::call_result& r) { ... });
///
/// Messages the channel's own actors exchange (pickers, call hand-offs, timers) are
/// private to the library; this handle lists only what users may send.
#include <cstdint>
#include <string>
#include <vector>

#include <caf/actor.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <achan/call.hpp>

namespace achan {

/// Actor users' request: `request(channel.actor(), infinite, call_request{...})`
/// answers with a call_result (never with an error message).
struct call_request {
  std::string method;   ///< "/package.Service/Method"
  std::string payload;  ///< serialized request message
  call_options options;
};

/// Actor users' streaming call of any kind (server-, client- or bidi-streaming):
/// `request(channel.actor(), infinite, stream_request{...})` answers with the final
/// call_result (empty payload) once the call ended; every response message goes to `sink`
/// before that as a stream_message carrying `id`. If `sink` is the requester, all of them
/// arrive before the response. `requests` are written at once, in order; then the
/// request stream is half-closed, unless `half_close` is false: the requester then sends
/// stream_write / stream_close / stream_cancel with the same `id` (ids are per requester;
/// reusing one of a stream still open fails the new call with INVALID_ARGUMENT).
struct stream_request {
  std::uint64_t id = 0;
  std::string method;                 ///< "/package.Service/Method"
  std::vector<std::string> requests;  ///< serialized request messages
  bool half_close = true;
  call_options options;
  caf::actor sink;  ///< receives the stream_messages (null: they are dropped)
};
/// Channel → a stream_request's sink: one response message, in order.
struct stream_message {
  std::uint64_t id = 0;
  std::string payload;
};
/// Requester → channel: one more request message on its open stream `id` (ignored once
/// the stream was closed or ended). With `notify`, the requester gets exactly one
/// stream_sent for it — the actor form of stream_call::write's `sent`, for pacing.
struct stream_write {
  std::uint64_t id = 0;
  std::string payload;
  bool notify = false;
};
/// Channel → the sender of a stream_write with `notify`: the message went into HTTP/2
/// DATA frames (`ok`), or never will (the stream was closed, ended or unknown).
struct stream_sent {
  std::uint64_t id = 0;
  bool ok = false;
};
/// Requester → channel: half-close stream `id` (no more request messages).
struct stream_close {
  std::uint64_t id = 0;
};
/// Requester → channel: cancel stream `id` (it ends with CANCELLED).
struct stream_cancel {
  std::uint64_t id = 0;
};
/// The channel actor as users see it.
using channel_actor = caf::typed_actor<caf::replies_to<call_request>::with<call_result>,
                                       caf::replies_to<stream_request>::with<call_result>,
                                       caf::reacts_to<stream_write>, caf::reacts_to<stream_close>,
                                       caf::reacts_to<stream_cancel>>;

}  // namespace achan

// These messages carry actor handles and callbacks: they never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::call_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::call_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_write)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_sent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_close)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_cancel)
