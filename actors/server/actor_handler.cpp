#include <achan/actor_handler.hpp>

#include <caf/send.hpp>

namespace achan {

server_request::server_request(transport::server_call_info i, std::string r, transport::responder p)
    : info(std::move(i)),
      request(std::move(r)),
      respond(std::move(p), [](transport::responder& dropped) {
        dropped.fail({status_code::unavailable, "the call was not answered by its handler actor"});
      }) {}

void server_request::reply(std::string payload, metadata trailers) {
  if (auto p = respond.take())
    p->reply(std::move(payload), std::move(trailers));
}

void server_request::fail(status st, metadata trailers) {
  if (auto p = respond.take())
    p->fail(std::move(st), std::move(trailers));
}

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
