// server_request (actors/server/actor_handler.hpp) ends its call with UNAVAILABLE when it
// is dropped unanswered, and only then: a copy dropped after the handler kept the
// responder leaves the call to the handler.
#include <doctest/doctest.h>

#include <memory>
#include <optional>

#include <achan/actor_handler.hpp>
#include "transport/h2/server_connection.hpp"

using namespace achan;

namespace {

/// A responder with no connection behind it: answering only marks it done.
struct unconnected_call {
  std::shared_ptr<transport::pending_response> pending =
      std::make_shared<transport::pending_response>();
  transport::responder responder() const { return transport::responder{pending}; }
  bool ended() const { return pending->done.load(); }
};

}  // namespace

TEST_CASE("server_request: a copy dropped after the handler kept the responder does not end it") {
  unconnected_call c;
  std::optional<transport::responder> kept;
  {
    server_request r{{}, "req", c.responder()};
    auto copy = r;
    kept = copy.respond.take();     // the handler answers later
    CHECK_FALSE(r.respond.take());  // one responder for all copies
  }
  CHECK_FALSE(c.ended());
  kept->reply("answer");
  CHECK(c.ended());
}

TEST_CASE("server_request: copies dropped unanswered end the call") {
  unconnected_call c;
  {
    server_request r{{}, "req", c.responder()};
    auto copy = r;
  }
  CHECK(c.ended());
}

TEST_CASE("server_request: reply answers once through any copy") {
  unconnected_call c;
  server_request r{{}, "req", c.responder()};
  auto copy = r;
  copy.reply("answer");
  CHECK(c.ended());
  CHECK_FALSE(r.respond.pending());
  CHECK_FALSE(r.respond.take());
}
