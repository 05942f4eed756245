// Reconnection rate against a backend that closes every connection right after READY
// (it sends its SETTINGS, then hangs up), through the whole control plane in virtual
// time: the backoff must bound the attempts, whatever the policy asks for.
#include <doctest/doctest.h>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;

namespace {

struct flapping_backend : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  std::vector<call_result> results;

  flapping_backend() { sim->set_behavior("10.0.0.1:1", {.drop_after = 10ms}); }
  ~flapping_backend() { run(); }  // callbacks may still write to `results`

  channel dial_with(std::string balancer) {
    dial_options o;
    o.transport = sim;
    o.resolvers.push_back(resolver);
    o.seed = 1;
    o.lb_policy = std::move(balancer);
    auto ch = achan::dial(sys, "manual:///backends", o);
    REQUIRE(ch);
    resolver->update({"10.0.0.1:1"});
    run();
    return *ch;
  }

  std::size_t connects() const { return sim->stats("10.0.0.1:1").connects; }
};

}  // namespace

// Each connection lives 10 ms. The backoff allows attempts at about 0, 1, 2.6, 5.2 and
// 9.3 s (±20 % jitter from the second delay on); without it round_robin reconnected on
// every IDLE: about 1000 attempts in 10 s.
TEST_CASE("reconnect: round_robin against a backend that closes each connection backs off") {
  flapping_backend f;
  auto ch = f.dial_with("round_robin");
  ch.connect();
  f.advance(10s);
  CHECK(f.connects() >= 3);
  CHECK(f.connects() <= 6);
  CHECK(ch.state() == cs::transient_failure);
  ch.close();
}

// pick_first reconnects when a call finds it IDLE: a stream of fail-fast calls (one per
// 50 ms, as `achan bench` keeps them coming) used to open one connection per call.
TEST_CASE("reconnect: pick_first with calls arriving all the time backs off") {
  flapping_backend f;
  auto ch = f.dial_with("pick_first");
  for (int i = 0; i < 200; ++i) {
    ch.call("/echo.Echo/Unary", "hi", {.timeout = 1s},
            [&f](call_result&& r) { f.results.push_back(std::move(r)); });
    f.advance(50ms);
  }
  CHECK(f.connects() >= 3);
  CHECK(f.connects() <= 6);
  f.advance(1s);
  CHECK(f.results.size() == 200);  // each ended: OK on a connection, or UNAVAILABLE
  ch.close();
}
