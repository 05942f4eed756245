#include "core/balancer/weighted_round_robin.hpp"

#include <doctest/doctest.h>

#include "core/balancer/registry.hpp"
#include "core/balancer/stride_scheduler.hpp"
#include "core/orca/load_report.hpp"
#include "tests/support/load_sim.hpp"

using namespace achan;
using namespace std::chrono_literals;
using achan::test::fake_policy_helper;
using achan::test::load_sim;

namespace {

const std::vector<std::string> four{"a:1", "b:1", "c:1", "d:1"};

struct fixture {
  fake_policy_helper h{5};
  weighted_round_robin wrr{h};
  explicit fixture(std::string config = R"({"blackoutPeriod": "0s"})") {
    wrr.update_addresses(four, lb_config{"weighted_round_robin", false, std::move(config)});
    achan::test::make_all_ready(h, wrr, four);
  }
  /// Reports `qps` at utilization 1 for `address` now.
  void report(const std::string& address, double qps) {
    wrr.tracker(address)->update(qps, 0, 1.0, h.now());
  }
};

std::map<std::string, int> pick_counts(const fake_policy_helper& h, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i)
    ++out[(*h.picker->pick({}).conn)->address()];
  return out;
}

}  // namespace

TEST_CASE("weighted_round_robin: config defaults and precise errors") {
  auto d = parse_wrr_config("{}", "p");
  REQUIRE(d);
  CHECK(d->blackout_period == 10s);
  CHECK(d->weight_expiration_period == 180s);
  CHECK(d->weight_update_period == 1s);
  CHECK(d->error_utilization_penalty == 1.0);
  CHECK(parse_wrr_config(R"({"weightUpdatePeriod": "0.01s"})", "p")->weight_update_period ==
        100ms);  // raised to the minimum, as gRPC does
  auto oob = parse_wrr_config(R"({"enableOobLoadReport": true})", "lb.wrr");
  REQUIRE_FALSE(oob);
  CHECK(oob.error().message ==
        "lb.wrr.enableOobLoadReport: out-of-band load reports are not supported (achan reads "
        "per-call reports)");
  CHECK(parse_wrr_config(R"({"errorUtilizationPenalty": -1})", "p").error().message ==
        "p.errorUtilizationPenalty: must be a number >= 0, not -1");
  auto& r = policy_registry::builtins();
  CHECK(r.find("weighted_round_robin_experimental"));
  CHECK(r.config_error("weighted_round_robin", R"({"blackoutPeriod": "x"})", "q") != "");
}

TEST_CASE("weighted_round_robin: weight is qps over utilization plus the error penalty") {
  fake_policy_helper h;
  weight_tracker t{h.clock(), 1.0};
  wrr_config cfg;
  cfg.blackout_period = 0s;
  t.update(100, 10, 0.5, h.now());
  CHECK(t.weight(h.now(), cfg) == doctest::Approx(100 / (0.5 + 10.0 / 100)));
  t.set_penalty(0);
  t.update(100, 10, 0.5, h.now());
  CHECK(t.weight(h.now(), cfg) == doctest::Approx(200));
  t.update(0, 0, 0.5, h.now());  // no qps: ignored, the weight stays
  t.update(100, 0, 0, h.now());  // no utilization: ignored
  CHECK(t.weight(h.now(), cfg) == doctest::Approx(200));
}

TEST_CASE("weighted_round_robin: a weight counts after the blackout and expires without reports") {
  fake_policy_helper h;
  weight_tracker t{h.clock(), 1.0};
  wrr_config cfg;  // blackout 10 s, expiration 3 min
  t.update(50, 0, 1, h.now());
  CHECK(t.weight(h.now(), cfg) == 0);
  h.advance(9s);
  t.update(50, 0, 1, h.now());
  CHECK(t.weight(h.now(), cfg) == 0);
  h.advance(1s);
  CHECK(t.weight(h.now(), cfg) == doctest::Approx(50));
  h.advance(180s);  // no report for weightExpirationPeriod
  CHECK(t.weight(h.now(), cfg) == 0);
  t.update(50, 0, 1, h.now());  // reports again: the blackout starts over
  CHECK(t.weight(h.now(), cfg) == 0);
  h.advance(10s);
  CHECK(t.weight(h.now(), cfg) == doctest::Approx(50));
}

TEST_CASE("weighted_round_robin: picks converge to the weights within 2 percent") {
  fixture f;
  f.report("a:1", 100);
  f.report("b:1", 200);
  f.report("c:1", 300);
  f.report("d:1", 400);
  CHECK(f.h.pending_timers() == 1);
  f.h.advance(1s);  // weightUpdatePeriod: the picker is rebuilt with the weights
  const int n = 100000;
  auto c = pick_counts(f.h, n);
  double want[] = {0.1, 0.2, 0.3, 0.4};
  int i = 0;
  for (auto& a : four) {
    double share = c[a] / double(n);
    MESSAGE(a << " share " << share);
    CHECK(share == doctest::Approx(want[i]).epsilon(0.02));
    ++i;
  }
}

TEST_CASE("weighted_round_robin: with fewer than two weights it rotates evenly") {
  fixture f;
  f.report("a:1", 1000);
  f.h.advance(1s);
  auto c = pick_counts(f.h, 4000);
  for (auto& a : four)
    CHECK(c[a] == 1000);
}

TEST_CASE("weighted_round_robin: resolver weights apply until load reports give weights") {
  fake_policy_helper h{5};
  h.weights = {{"a:1", 4}, {"b:1", 2}};  // c:1 and d:1: 1
  weighted_round_robin wrr{h};
  wrr.update_addresses(four,
                       lb_config{"weighted_round_robin", false, R"({"blackoutPeriod": "0s"})"});
  achan::test::make_all_ready(h, wrr, four);
  auto c = pick_counts(h, 80000);
  CHECK(c["a:1"] / 80000.0 == doctest::Approx(4 / 8.0).epsilon(0.02));
  CHECK(c["b:1"] / 80000.0 == doctest::Approx(2 / 8.0).epsilon(0.02));
  CHECK(c["d:1"] / 80000.0 == doctest::Approx(1 / 8.0).epsilon(0.02));
  for (auto& [a, qps] :
       std::map<std::string, double>{{"a:1", 100}, {"b:1", 100}, {"c:1", 100}, {"d:1", 100}})
    wrr.tracker(a)->update(qps, 0, 1.0, h.now());
  h.advance(1s);  // load reports say they are equal: that wins
  c = pick_counts(h, 4000);
  for (auto& a : four)
    CHECK(c[a] == doctest::Approx(1000).epsilon(0.02));
}

TEST_CASE("weighted_round_robin: unknown weights count as the mean of the known ones") {
  fixture f;
  f.report("a:1", 100);
  f.report("b:1", 300);  // mean 200: c and d count 200 each
  f.h.advance(1s);
  auto c = pick_counts(f.h, 80000);
  CHECK(c["a:1"] / 80000.0 == doctest::Approx(100 / 800.0).epsilon(0.02));
  CHECK(c["c:1"] / 80000.0 == doctest::Approx(200 / 800.0).epsilon(0.02));
}

TEST_CASE("weighted_round_robin: weights come from ORCA reports in the call trailers") {
  fixture f;
  load_sim sim{f.h};
  auto orca = [](double qps, double cpu) {
    orca_load_report r;
    r.rps_fractional = qps;
    r.cpu_utilization = cpu;
    return metadata{{std::string{orca_trailer}, encode_orca_report(r)}};
  };
  // Same qps, a and b at 4x the utilization of c and d: c and d get 4x their share.
  sim.backends["a:1"].trailers = orca(100, 0.8);
  sim.backends["b:1"].trailers = orca(100, 0.8);
  sim.backends["c:1"].trailers = orca(100, 0.2);
  sim.backends["d:1"].trailers = orca(100, 0.2);
  sim.run(400, 4);
  f.h.advance(1s);
  auto c = pick_counts(f.h, 100000);
  CHECK(c["c:1"] / 100000.0 == doctest::Approx(0.4).epsilon(0.02));
  CHECK(c["a:1"] / 100000.0 == doctest::Approx(0.1).epsilon(0.02));
  // A malformed report changes nothing.
  status ok;
  metadata bad{{std::string{orca_trailer}, "\xff\xff"}};
  f.wrr.tracker("a:1")->on_call_end(call_outcome{ok, bad, f.h.now(), true});
}

TEST_CASE("stride_scheduler: caps a dominant weight at ten times the mean") {
  std::vector<double> w(20, 1.0);
  w.push_back(1000);
  auto s = stride_scheduler::make(w);
  REQUIRE(s);
  std::atomic<std::uint64_t> seq{0};
  std::vector<int> c(w.size());
  for (int i = 0; i < 210000; ++i)
    ++c[s->pick(seq)];
  // mean of the raw weights is 1000/21+20/21 = 48.6: the big one is capped at 486.
  double ratio = c[20] / double(c[0]);
  CHECK(ratio == doctest::Approx(486).epsilon(0.05));
  CHECK_FALSE(stride_scheduler::make({1.0, 0.0}));
  CHECK_FALSE(stride_scheduler::make({5.0}));
  CHECK(stride_scheduler::make({1.0, 2.0}));
}
