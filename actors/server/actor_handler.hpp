#pragma once
/// Serving gRPC methods with actors: a unary call to `method` becomes a
/// server_request message to an actor, which answers through the responder it carries
/// (from its own thread, whenever it likes; exactly once).
///
///   auto counter = sys.spawn(counting_actor);            // handles achan::server_request
///   achan::add_actor_unary(server, "/pkg.Svc/Count", counter);
#include <string>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include "transport/h2/server.hpp"

namespace achan {

/// One unary server call, as an actor receives it. Answer with
/// `respond.reply(payload)` or `respond.fail(status)` in the handler, or move `respond`
/// out of the message and answer later. A server_request destroyed while it still
/// holds an unanswered responder (the actor is gone, or its handler neither answered
/// nor kept the responder) ends the call with UNAVAILABLE, so no call hangs.
struct server_request {
  transport::server_call_info info;
  std::string request;  ///< the serialized request message
  transport::responder respond;

  server_request() = default;
  server_request(transport::server_call_info i, std::string r, transport::responder p)
      : info(std::move(i)), request(std::move(r)), respond(std::move(p)) {}
  server_request(const server_request&) = default;
  server_request(server_request&&) noexcept = default;  // leaves the source's responder empty
  server_request& operator=(const server_request&) = default;
  server_request& operator=(server_request&&) noexcept = default;
  ~server_request() {
    respond.fail({status_code::unavailable, "the call was not answered by its handler actor"});
  }
};

/// The interface an actor needs to serve unary methods.
using server_handler_actor = caf::typed_actor<caf::reacts_to<server_request>>;

/// Registers `method` on `server`, served by `handler`.
void add_actor_unary(transport::h2_server& server, std::string method,
                     server_handler_actor handler);

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::server_request)
