// An address update that removes a backend drains its HTTP/2 connection: a call the
// backend is still serving finishes OK after the update, and new calls go to the
// backend that replaced it.
#include <doctest/doctest.h>

#include <future>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>

#include "testkit/echo_service.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {
const std::string unary = "/achan.test.Echo/Unary";
}  // namespace

TEST_CASE("address removal: a call in flight on a removed backend finishes OK over HTTP/2") {
  // Backend A holds the first call until the test answers it; B echoes.
  transport::h2_server a;
  std::mutex mx;
  std::promise<transport::responder> held;
  bool first = true;
  a.add_unary(unary, [&](transport::server_call_info, std::string, transport::responder r) {
    std::lock_guard lk{mx};
    if (std::exchange(first, false))
      held.set_value(std::move(r));
    else
      r.reply("a");
  });
  auto la = a.listen("127.0.0.1", 0);
  REQUIRE(la.ok());
  transport::h2_server b;
  auto service = testkit::add_echo_service(b, "b");
  auto lb = b.listen("127.0.0.1", 0);
  REQUIRE(lb.ok());
  auto addr_a = "127.0.0.1:" + std::to_string(*la);
  auto addr_b = "127.0.0.1:" + std::to_string(*lb);

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto resolver = std::make_shared<manual_resolver>(sys);
  dial_options o;
  o.resolvers.push_back(resolver);
  auto ch = achan::dial(sys, "manual:///backends", o);
  REQUIRE(ch);
  resolver->update({addr_a});
  auto pending = ch->call(unary, test::echo_request("x"), {.timeout = 20s, .wait_for_ready = true});
  auto in_handler = held.get_future();
  REQUIRE(in_handler.wait_for(20s) == std::future_status::ready);
  auto respond = in_handler.get();

  resolver->update({addr_b});
  // Bounded: calls reach B once pick_first has switched.
  bool on_b = false;
  for (int i = 0; i < 200 && !on_b; ++i) {
    auto r =
        ch->call(unary, test::echo_request("y"), {.timeout = 5s, .wait_for_ready = true}).get();
    REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
    on_b = r.peer == addr_b;
  }
  CHECK(on_b);
  respond.reply("done");  // A's connection was drained, not closed: the reply arrives
  auto r = pending.get();
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(r.payload == "done");
  CHECK(r.peer == addr_a);
  ch->close();
  a.shutdown(1s);
  b.shutdown(1s);
}
