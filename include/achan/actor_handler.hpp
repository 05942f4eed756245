#pragma once
/// Serving gRPC methods with actors: a unary call to `method` becomes a
/// server_request message to an actor, which answers through the responder it carries
/// (from its own thread, whenever it likes; exactly once).
///
///   auto counter = sys.spawn(counting_actor);            // handles achan::server_request
///   achan::add_actor_unary(server, "/pkg.Svc/Count", counter);
///   // in the actor:  [](achan::server_request& r) { r.reply(r.request); }
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include <achan/answer_once.hpp>
#include <achan/server.hpp>

namespace achan {

/// One unary server call, as an actor receives it. Answer in the handler with
/// `r.reply(payload)` or `r.fail(status)`, or take the responder
/// (`if (auto p = r.respond.take()) keep(std::move(*p));`) and answer later. Every copy
/// of the message shares one responder: the first to answer or take it owns the call. If
/// no copy did (the actor is gone, or its handler neither answered nor kept the
/// responder), the last copy to go ends the call with UNAVAILABLE, so no call hangs.
struct server_request {
  transport::server_call_info info;
  std::string request;                        ///< the serialized request message
  answer_once<transport::responder> respond;  ///< the call's responder, shared by every copy

  /// An empty request (no call behind it); CAF needs default construction.
  server_request() = default;
  /// Call `i` with request `r`, answered through `p` (add_actor_unary makes these).
  server_request(transport::server_call_info i, std::string r, transport::responder p);

  /// Answers OK with `payload` (a serialized response message). Does nothing if this
  /// message's responder was answered or taken already (through any copy).
  void reply(std::string payload, metadata trailers = {});
  /// Ends the call with `st` (not OK). Does nothing in the same cases as reply().
  void fail(status st, metadata trailers = {});
};

/// The interface an actor needs to serve unary methods.
using server_handler_actor = caf::typed_actor<caf::reacts_to<server_request>>;

/// Registers `method` on `server`, served by `handler`.
void add_actor_unary(transport::h2_server& server, std::string method,
                     server_handler_actor handler);

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::server_request)
