#pragma once
/// Typed calls over achan's byte-level API, for protobuf messages: what the code that
/// protoc-gen-achan generates is made of (docs/codegen.md). Users see these types in the
/// signatures of the generated `S::Client`, `S::Service` and `S::StubActor`:
///
///   typed_result<Resp>     a finished unary or client-streaming call: status, parsed
///                          response, trailers, peer
///   stream_result          the end of a server- or bidi-streaming call (no response)
///   request_writer<Req>    client side of client/bidi streaming: write, writes_done, cancel
///   typed_responder<Resp>  server side of unary and client-streaming calls: reply or fail
///   response_writer<Resp>  server side of server/bidi streaming: write, finish
///   request_reader<Req>    what a client/bidi-streaming service method returns
///
/// Namespace achan::glue holds the function templates the generated code calls; they are
/// public so that generated files stay small, and are not meant to be called by hand.
///
/// Messages are anything with protobuf's MessageLite interface (full or lite runtime).
/// A response that does not parse ends the call with INTERNAL; a request that does not
/// parse is answered INVALID_ARGUMENT by the server; a message that cannot be serialized
/// (a proto2 message missing required fields) is an INTERNAL error on the side that tried.
#include <atomic>
#include <climits>
#include <functional>
#include <future>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <caf/actor_system.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include <achan/channel.hpp>
#include <achan/protocol.hpp>
#include <achan/server.hpp>

namespace achan {

// --- messages ----------------------------------------------------------------

/// Parses `bytes` as a `Message`; nullopt if they are not a valid encoding of one (or a
/// proto2 message's required fields are missing). Any thread.
template <class Message>
std::optional<Message> parse_message(std::string_view bytes) {
  std::optional<Message> m{std::in_place};
  if (bytes.size() > static_cast<std::size_t>(INT_MAX) ||
      !m->ParsePartialFromArray(bytes.data(), static_cast<int>(bytes.size())) ||
      !m->IsInitialized())  // (ParseFromArray would log each failure to stderr)
    return std::nullopt;
  return m;
}

/// Serializes `m` into `out` (replacing its content); false if `m` is not initialized
/// (proto2 required fields missing) or over protobuf's 2 GiB limit. Any thread.
template <class Message>
bool serialize_message(const Message& m, std::string& out) {
  if (!m.IsInitialized())
    return false;
  auto size = m.ByteSizeLong();
  if (size > static_cast<std::size_t>(INT_MAX))
    return false;
  out.resize(size);
  return m.SerializePartialToArray(out.data(), static_cast<int>(size));
}

// --- client results --------------------------------------------------------------

/// How a unary or client-streaming call ended. `response` is the parsed response when
/// `status` is OK and default-constructed otherwise; a response that does not parse as
/// `Response` turns an OK status into INTERNAL with a message naming the type.
template <class Response>
struct typed_result {
  achan::status status;
  Response response;
  metadata trailers;  ///< response headers and trailers, in arrival order
  std::string peer;   ///< address of the connection that carried the call ("" if none)
  bool ok() const noexcept { return status.ok(); }
};

/// How a server- or bidi-streaming call ended (its messages went to on_message).
/// A response message that did not parse ends the call with INTERNAL.
struct stream_result {
  achan::status status;
  metadata trailers;
  std::string peer;
  bool ok() const noexcept { return status.ok(); }
};

/// Turns a byte-level result into a typed one (parsing the payload when OK).
template <class Response>
typed_result<Response> to_typed_result(call_result&& r) {
  typed_result<Response> t{std::move(r.status), {}, std::move(r.trailers), std::move(r.peer)};
  if (t.status.ok()) {
    const auto& p = r.payload;
    if (p.size() > static_cast<std::size_t>(INT_MAX) ||
        !t.response.ParsePartialFromArray(p.data(), static_cast<int>(p.size())) ||
        !t.response.IsInitialized()) {
      t.response.Clear();
      t.status = {status_code::internal, "cannot parse the response message as " +
                                             Response::default_instance().GetTypeName()};
    }
  }
  return t;
}

// --- client streaming --------------------------------------------------------------

/// The request side of a client- or bidi-streaming call: a typed stream_call. Copies
/// share the call; thread-safe. write() never blocks and queues without bound: pace with
/// `sent` or buffered() (see achan::stream_call).
template <class Request>
class request_writer {
 public:
  request_writer() = default;
  explicit request_writer(stream_call s) : s_(std::move(s)) {}
  /// Serializes and queues `request`; false (and `sent` is not called) once writes_done()
  /// was called or the call ended, or if `request` cannot be serialized (the call goes
  /// on). `sent` runs once on an achan thread: true when the message went into DATA
  /// frames, false if the call ended first.
  bool write(const Request& request, std::function<void(bool)> sent = {}) {
    std::string bytes;
    return serialize_message(request, bytes) && s_.write(std::move(bytes), std::move(sent));
  }
  /// Half-close: no more requests.
  void writes_done() { s_.writes_done(); }
  /// Ends the call with CANCELLED unless it already ended.
  void cancel() { s_.cancel(); }
  /// Bytes written and not sent yet; 0 once the call ended.
  std::size_t buffered() const { return s_.buffered(); }
  /// True once the call has ended.
  bool done() const noexcept { return s_.done(); }
  /// The byte-level call underneath.
  stream_call& raw() noexcept { return s_; }

 private:
  stream_call s_;
};

// --- server side ---------------------------------------------------------------------

/// Answers a unary or client-streaming server call exactly once (later answers do
/// nothing). Copyable; any thread. After the client cancelled or the deadline passed,
/// answering is a harmless no-op.
template <class Response>
class typed_responder {
 public:
  typed_responder() = default;
  /// Over a unary call's responder.
  explicit typed_responder(transport::responder r) : unary_(std::move(r)) {}
  /// Over a client-streaming call's writer (reply writes one message and finishes).
  explicit typed_responder(transport::server_writer w) : stream_(std::move(w)) {}
  /// OK with `response`; a response that cannot be serialized ends the call INTERNAL.
  void reply(const Response& response, metadata trailers = {}) const {
    std::string bytes;
    if (!serialize_message(response, bytes))
      return fail({status_code::internal, "cannot serialize the response message " +
                                              Response::default_instance().GetTypeName()});
    if (stream_) {
      if (!stream_->done() && stream_->write(std::move(bytes)))
        stream_->finish({}, std::move(trailers));
    } else {
      unary_.reply(std::move(bytes), std::move(trailers));
    }
  }
  /// Ends the call with `st` (not OK) and optional trailers.
  void fail(status st, metadata trailers = {}) const {
    if (stream_)
      stream_->finish(std::move(st), std::move(trailers));
    else
      unary_.fail(std::move(st), std::move(trailers));
  }
  /// True once the call was answered, cancelled by the client or past its deadline.
  bool done() const noexcept { return stream_ ? stream_->done() : unary_.done(); }

 private:
  transport::responder unary_;
  std::optional<transport::server_writer> stream_;
};

/// The response side of a server- or bidi-streaming server call: typed messages, then
/// exactly one final status. Copyable; any thread (calls from one thread keep their
/// order). Pacing and limits as transport::server_writer.
template <class Response>
class response_writer {
 public:
  response_writer() = default;
  explicit response_writer(transport::server_writer w) : w_(std::move(w)) {}
  /// Serializes and queues one response; false once the call ended (then `sent` is not
  /// called). A response that cannot be serialized ends the call with INTERNAL.
  bool write(const Response& response, std::function<void(bool)> sent = {}) const {
    std::string bytes;
    if (!serialize_message(response, bytes)) {
      w_.finish({status_code::internal, "cannot serialize the response message " +
                                            Response::default_instance().GetTypeName()});
      return false;
    }
    return w_.write(std::move(bytes), std::move(sent));
  }
  /// Ends the call with `st` (default OK) and optional trailers.
  void finish(status st = {}, metadata trailers = {}) const {
    w_.finish(std::move(st), std::move(trailers));
  }
  /// True once the call has ended (finished, cancelled or past its deadline).
  bool done() const noexcept { return w_.done(); }
  /// Bytes of written messages not yet in DATA frames; 0 once the call ended.
  std::size_t buffered() const noexcept { return w_.buffered(); }
  /// The byte-level writer underneath.
  const transport::server_writer& raw() const noexcept { return w_; }

 private:
  transport::server_writer w_;
};

/// What a client- or bidi-streaming service method returns: called on the connection's
/// I/O thread, in order; on_end once when the client half-closed (not when it
/// cancelled). Empty functions ignore the event. A request that does not parse is
/// answered INVALID_ARGUMENT and nothing more is delivered.
template <class Request>
struct request_reader {
  std::function<void(Request&& request)> on_message;
  std::function<void()> on_end;
};

}  // namespace achan

// typed_result<T> carries protobuf messages; it never leaves the process.
namespace caf {
template <class Response>
struct allowed_unsafe_message_type<achan::typed_result<Response>> : std::true_type {};
}  // namespace caf

// The templates the generated code calls.
#include <achan/typed_glue.hpp>
