#include "actors/server/actor_handler.hpp"

#include <caf/send.hpp>

namespace achan {

void add_actor_unary(transport::h2_server& server, std::string method,
                     server_handler_actor handler) {
  server.add_unary(std::move(method), [handler](transport::server_call_info info,
                                                std::string request, transport::responder respond) {
    if (!handler) {
      respond.fail({status_code::unavailable, "no handler actor"});
      return;
    }
    caf::anon_send(handler,
                   server_request{std::move(info), std::move(request), std::move(respond)});
  });
}

}  // namespace achan
