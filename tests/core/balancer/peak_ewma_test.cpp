#include "core/balancer/peak_ewma.hpp"

#include <doctest/doctest.h>

#include "core/balancer/registry.hpp"
#include "tests/support/load_sim.hpp"

using namespace achan;
using namespace std::chrono_literals;
using achan::test::fake_policy_helper;
using achan::test::load_sim;

namespace {

const std::vector<std::string> four{"a:1", "b:1", "c:1", "d:1"};

struct fixture {
  fake_policy_helper h{11};
  peak_ewma pe{h};
  explicit fixture(std::string config = "{}") {
    pe.update_addresses(four, lb_config{"peak_ewma", false, std::move(config)});
    achan::test::make_all_ready(h, pe, four);
  }
};

double ms(double ns) {
  return ns / 1e6;
}

}  // namespace

TEST_CASE("peak_ewma: config durations with defaults and precise errors") {
  auto d = parse_peak_ewma_config("{}", "p");
  REQUIRE(d);
  CHECK(d->decay_time == 10s);
  CHECK(d->penalty == 1s);
  auto c = parse_peak_ewma_config(R"({"decayTime": "2.5s", "penalty": "0.1s"})", "p");
  REQUIRE(c);
  CHECK(c->decay_time == 2500ms);
  CHECK(c->penalty == 100ms);
  auto bad = parse_peak_ewma_config(R"({"decayTime": "0s"})", "lb.peak_ewma");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.rfind("lb.peak_ewma.decayTime: ", 0) == 0);
  CHECK(policy_registry::builtins().config_error("peak_ewma", R"({"penalty": 5})", "x") != "");
}

TEST_CASE("peak_ewma: a slower sample is taken at once and faster ones decay towards it") {
  fake_policy_helper h;
  ewma_tracker t{h.clock(), peak_ewma_config{10s, 1s}};
  status ok;
  metadata none;
  auto end_after = [&](clock_duration latency) {
    t.started();
    auto picked = h.now();
    h.advance(latency);
    t.on_call_end(call_outcome{ok, none, picked, true});
  };
  CHECK(t.estimate(h.now()) == 0);
  end_after(10ms);
  CHECK(ms(t.estimate(h.now())) == doctest::Approx(10));
  end_after(50ms);  // the peak
  CHECK(ms(t.estimate(h.now())) == doctest::Approx(50));
  end_after(1ms);  // 1 ms later: weight exp(-1ms/10s) ~ 1, so the estimate barely moves
  CHECK(ms(t.estimate(h.now())) == doctest::Approx(50).epsilon(0.01));
  h.advance(10s);  // one decay time: the estimate falls to 1/e
  CHECK(ms(t.estimate(h.now())) == doctest::Approx(50 / std::exp(1.0)).epsilon(0.01));
  // A call that never reached the backend counts as outstanding only.
  t.started();
  CHECK(t.outstanding() == 1);
  t.on_call_end(call_outcome{ok, none, h.now() - 5s, false});
  CHECK(t.outstanding() == 0);
  CHECK(ms(t.estimate(h.now())) == doctest::Approx(50 / std::exp(1.0)).epsilon(0.01));
}

TEST_CASE("peak_ewma: cost is the estimate times outstanding plus one and new ones pay a penalty") {
  fake_policy_helper h;
  ewma_tracker t{h.clock(), peak_ewma_config{10s, 1s}};
  CHECK(t.cost(h.now()) == 0);  // no sample and idle: gets the next call
  t.started();
  CHECK(t.cost(h.now()) == doctest::Approx(1e9 + 1));  // penalty + outstanding
  status ok;
  metadata none;
  auto picked = h.now();
  h.advance(4ms);
  t.on_call_end(call_outcome{ok, none, picked, true});
  t.started();
  t.started();
  CHECK(t.cost(h.now()) == doctest::Approx(4e6 * 3));
}

TEST_CASE("peak_ewma: avoids a slow subchannel under load") {
  fixture f;
  load_sim sim{f.h};
  sim.backends["d:1"].latency = 20ms;
  auto picks = sim.run(20000, 32);
  MESSAGE("slow share: " << picks["d:1"] / 20000.0);
  CHECK(picks["d:1"] < 2000);  // < 10 %; round robin sends 25 %
  // and the fast ones share the rest
  CHECK(picks["a:1"] > 4000);
  CHECK(picks["b:1"] > 4000);
  CHECK(picks["c:1"] > 4000);
}

TEST_CASE("peak_ewma: a subchannel that was slow gets traffic again once it is fast") {
  fixture f{R"({"decayTime": "1s"})"};
  load_sim sim{f.h};
  sim.backends["d:1"].latency = 50ms;
  sim.run(5000, 16);
  sim.backends["d:1"].latency = 1ms;
  f.h.advance(10s);  // ten decay times: its estimate is back near zero
  sim.picks.clear();
  auto picks = sim.run(8000, 16);
  MESSAGE("recovered share: " << picks["d:1"] / 8000.0);
  CHECK(picks["d:1"] > 1000);
}

TEST_CASE("peak_ewma: the same seed gives the same distribution") {
  auto run = [] {
    fixture f;
    load_sim sim{f.h};
    sim.backends["c:1"].latency = 5ms;
    return sim.run(3000, 8);
  };
  CHECK(run() == run());
}
