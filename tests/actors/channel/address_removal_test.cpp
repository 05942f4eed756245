// An address update that removes a backend drains its connection (gRPC's GracefulClose):
// the calls already on it finish OK, new calls go to the backends that are left, and
// the connection closes once it is empty. Closing the channel still ends calls at once.
#include <doctest/doctest.h>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>

#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

struct two_backends : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  std::vector<call_result> results;

  two_backends() {
    sim->set_behavior("10.0.0.1:1", {.latency = 100ms});
    sim->set_behavior("10.0.0.2:1", {.latency = 100ms});
  }
  ~two_backends() { run(); }  // callbacks may still write to `results`

  channel dial_round_robin() {
    dial_options o;
    o.transport = sim;
    o.resolvers.push_back(resolver);
    o.seed = 1;
    o.lb_policy = "round_robin";
    auto ch = achan::dial(sys, "manual:///backends", o);
    REQUIRE(ch);
    resolver->update({"10.0.0.1:1", "10.0.0.2:1"});
    ch->connect();
    advance(10ms);
    REQUIRE(ch->state() == connectivity_state::ready);
    return *ch;
  }

  void start(channel& ch, int n) {
    for (int i = 0; i < n; ++i)
      ch.call("/echo.Echo/Unary", "hi", {.timeout = 5s},
              [this](call_result&& r) { results.push_back(std::move(r)); });
    run();
  }

  std::size_t on(const std::string& address) const {
    return static_cast<std::size_t>(std::count_if(
        results.begin(), results.end(), [&](const call_result& r) { return r.peer == address; }));
  }
};

}  // namespace

TEST_CASE("address removal: calls in flight on the removed backend finish OK") {
  two_backends f;
  auto ch = f.dial_round_robin();
  f.start(ch, 10);
  f.advance(20ms);
  f.resolver->update({"10.0.0.2:1"});
  f.run();
  f.start(ch, 4);  // after the update: only the backend left
  f.advance(300ms);
  REQUIRE(f.results.size() == 14);
  for (const auto& r : f.results)
    CHECK_MESSAGE(r.status.ok(), r.status.message);
  CHECK(f.on("10.0.0.1:1") == 5);
  CHECK(f.on("10.0.0.2:1") == 9);
  CHECK(f.sim->stats("10.0.0.1:1").open == 0);  // drained, then closed
  ch.close();
}

TEST_CASE("address removal: closing the channel still ends the calls in flight") {
  two_backends f;
  auto ch = f.dial_round_robin();
  f.start(ch, 4);
  f.advance(20ms);
  ch.close();
  f.advance(300ms);
  REQUIRE(f.results.size() == 4);
  for (const auto& r : f.results)
    CHECK_FALSE(r.status.ok());
}
