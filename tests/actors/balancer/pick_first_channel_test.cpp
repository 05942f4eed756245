// pick_first's Happy Eyeballs pass (gRFC A61) and sticky TRANSIENT_FAILURE (gRFC A62)
// through the whole control plane (balancer actor timers, subchannels with backoff) over
// the simulated transport, in virtual time.
#include <doctest/doctest.h>

#include <map>
#include <memory>
#include <vector>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"
#include "tests/support/recorders.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;
using mode = transport::sim_behavior::connect_mode;

namespace {

/// A behaviour that only sets how connection attempts end (no aggregate initialisation:
/// it would leave later members to -Wmissing-field-initializers).
transport::sim_behavior attempts_end(mode m, clock_duration delay = {}) {
  transport::sim_behavior b;
  b.connect = m;
  b.connect_delay = delay;
  return b;
}

struct pf_fixture : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  std::vector<call_result> results;
  std::shared_ptr<std::vector<state_change>> seen = std::make_shared<std::vector<state_change>>();

  ~pf_fixture() { run(); }  // callbacks may still write to `results`

  /// Dials with pick_first, pushes `addresses` and connects (without running).
  channel dial(std::vector<std::string> addresses) {
    dial_options o;
    o.transport = sim;
    o.resolvers.push_back(resolver);
    o.seed = 1;
    o.lb_policy = "pick_first";
    auto ch = achan::dial(sys, "manual:///backends", o);
    REQUIRE(ch);
    ch->subscribe([log = seen](const state_change& c) { log->push_back(c); });
    resolver->update(std::move(addresses));
    ch->connect();
    return *ch;
  }
  void start(channel& ch) {
    ch.call("/echo.Echo/Unary", "hi", {},
            [this](call_result&& r) { results.push_back(std::move(r)); });
  }
  std::size_t connects(const std::string& a) const { return sim->stats(a).connects; }
  std::vector<cs> states() const {
    std::vector<cs> out;
    for (const auto& c : *seen)
      out.push_back(c.to);
    return out;
  }
};

}  // namespace

TEST_CASE("pick_first channel: a hanging first address gets company after 250 ms") {
  pf_fixture f;
  f.sim->set_behavior("10.0.0.1:1", attempts_end(mode::hang));
  auto ch = f.dial({"10.0.0.1:1", "10.0.0.2:1"});
  f.run();  // quiet with the attempt timer pending: run() does not spin on it
  CHECK(ch.state() == cs::connecting);
  CHECK(f.connects("10.0.0.1:1") == 1);
  CHECK(f.connects("10.0.0.2:1") == 0);
  f.advance(249ms);
  CHECK(f.connects("10.0.0.2:1") == 0);
  f.advance(1ms);
  CHECK(f.connects("10.0.0.2:1") == 1);
  CHECK(ch.state() == cs::ready);
  f.start(ch);
  f.run();
  CHECK(test::ok_per_peer(f.results) == std::map<std::string, int>{{"10.0.0.2:1", 1}});
  // The hanging attempt was abandoned with its subchannel: no retry after its timeout.
  f.advance(1min);
  CHECK(f.connects("10.0.0.1:1") == 1);
  CHECK(ch.state() == cs::ready);
  ch.close();
}

TEST_CASE("pick_first channel: a refused attempt moves on at once and the delay restarts") {
  pf_fixture f;
  f.sim->set_behavior("10.0.0.1:1", attempts_end(mode::refuse, 100ms));
  f.sim->set_behavior("10.0.0.2:1", attempts_end(mode::hang));
  auto ch = f.dial({"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"});
  f.advance(100ms);
  CHECK(f.connects("10.0.0.2:1") == 1);  // when 10.0.0.1 refused, not at +250 ms
  f.advance(249ms);                      // +349 ms
  CHECK(f.connects("10.0.0.3:1") == 0);
  f.advance(1ms);  // 250 ms after 10.0.0.2 started
  CHECK(f.connects("10.0.0.3:1") == 1);
  CHECK(ch.state() == cs::ready);
  CHECK(f.states() == std::vector<cs>{cs::idle, cs::connecting, cs::ready});
  ch.close();
}

TEST_CASE("pick_first channel: TRANSIENT_FAILURE stays through reconnects until READY") {
  pf_fixture f;
  f.sim->set_behavior("10.0.0.1:1", attempts_end(mode::refuse));
  f.sim->set_behavior("10.0.0.2:1", attempts_end(mode::refuse));
  auto ch = f.dial({"10.0.0.1:1", "10.0.0.2:1"});
  f.run();
  REQUIRE(ch.state() == cs::transient_failure);
  CHECK(f.resolver->resolve_now_count() >= 1);  // the failed pass asked for re-resolution
  f.advance(5s);  // backoff ends again and again: each subchannel reconnects and fails
  CHECK(f.connects("10.0.0.1:1") >= 3);
  CHECK(f.connects("10.0.0.2:1") >= 3);
  CHECK(ch.state() == cs::transient_failure);
  f.start(ch);
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);  // fail-fast fails fast
  f.sim->set_behavior("10.0.0.2:1", {});
  f.advance(20s);
  CHECK(ch.state() == cs::ready);
  // CONNECTING was published once, before the first failure, and never after it.
  CHECK(f.states() == std::vector<cs>{cs::idle, cs::connecting, cs::transient_failure, cs::ready});
  f.results.clear();
  f.start(ch);
  f.run();
  CHECK(test::ok_per_peer(f.results) == std::map<std::string, int>{{"10.0.0.2:1", 1}});
  ch.close();
}
