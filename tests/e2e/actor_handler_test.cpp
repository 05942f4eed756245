// Serving unary methods with actors (actors/server/actor_handler.hpp), on loopback.
#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <achan/actor_handler.hpp>
#include <achan/channel.hpp>

using namespace achan;
using namespace std::chrono_literals;

namespace {

struct counter_state {
  int calls = 0;
  std::vector<transport::responder> parked;  // "later" mode: answered by the next call
};

// Answers "<request> #<n>" at once; for request "park" it keeps the responder and
// answers it when the next call arrives.
server_handler_actor::behavior_type counter(
    server_handler_actor::stateful_pointer<counter_state> self, int /*unused: CAF 0.17*/) {
  return {[=](server_request& r) {
    auto n = ++self->state.calls;
    if (r.request == "park") {
      if (auto p = r.respond.take())
        self->state.parked.push_back(std::move(*p));  // answered later
      return;
    }
    for (auto& p : self->state.parked)
      p.reply("unparked by call #" + std::to_string(n));
    self->state.parked.clear();
    r.reply(r.request + " #" + std::to_string(n));
  }};
}

struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  transport::h2_server server;
  server_handler_actor handler = sys.spawn(counter, 0);
  std::string address;
  fixture() {
    add_actor_unary(server, "/t.Counter/Count", handler);
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE(l.ok());
    address = "ipv4:127.0.0.1:" + std::to_string((*l));
  }
  ~fixture() {
    server.shutdown(1s);
    caf::anon_send_exit(handler, caf::exit_reason::user_shutdown);
  }
  channel dial() {
    dial_options o;
    o.block_until_ready = 10s;
    auto ch = achan::dial(sys, address, o);
    REQUIRE(ch);
    return *ch;
  }
};

}  // namespace

TEST_CASE("actor handler: an actor's state serves consecutive calls") {
  fixture f;
  auto ch = f.dial();
  for (int i = 1; i <= 3; ++i) {
    auto r = ch.call("/t.Counter/Count", "hi", {.timeout = 5s}).get();
    REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
    CHECK(r.payload == "hi #" + std::to_string(i));
  }
  ch.close();
}

TEST_CASE("actor handler: a kept responder answers later") {
  fixture f;
  auto ch = f.dial();
  auto parked = ch.call("/t.Counter/Count", "park", {.timeout = 5s});
  auto next = ch.call("/t.Counter/Count", "go", {.timeout = 5s}).get();
  CHECK(next.payload == "go #2");
  auto r = parked.get();
  CHECK(r.status.ok());
  CHECK(r.payload == "unparked by call #2");
  ch.close();
}

TEST_CASE("actor handler: a call to a gone actor ends with UNAVAILABLE") {
  fixture f;
  caf::anon_send_exit(f.handler, caf::exit_reason::user_shutdown);
  auto ch = f.dial();
  auto t0 = std::chrono::steady_clock::now();
  auto r = ch.call("/t.Counter/Count", "anyone?", {.timeout = 10s}).get();
  CHECK(r.status.code == status_code::unavailable);
  CHECK(r.status.message.find("handler actor") != std::string::npos);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  ch.close();
}
