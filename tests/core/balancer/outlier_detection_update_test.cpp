// outlier_detection over a real round_robin child, in virtual time: address updates,
// config changes, the child's lifecycle and a seeded distribution.
#include <doctest/doctest.h>

#include "tests/core/balancer/outlier_detection_support.hpp"

using namespace achan;
using namespace achan::test::od;
using namespace std::chrono_literals;
using achan::test::fake_policy_helper;

TEST_CASE("outlier_detection: address updates keep state for addresses that stay") {
  fixture f{addresses(5)};
  auto bad = f.addrs[0];
  f.calls_failing(500, {bad});
  f.h.advance(10s);
  REQUIRE(f.od.ejected(bad));
  f.addrs.push_back("10.0.0.9:80");
  f.update(failure_config());
  CHECK(f.od.ejected(bad));
  CHECK(f.od.multiplier(bad) == 1);
  // Removed, its state goes; added again, it starts afresh.
  f.addrs.erase(f.addrs.begin());
  f.update(failure_config());
  CHECK_FALSE(f.od.ejected(bad));
  CHECK(f.od.ejected_count() == 0);
  f.addrs.push_back(bad);
  f.update(failure_config());
  CHECK_FALSE(f.od.ejected(bad));
  CHECK(f.od.multiplier(bad) == 0);
  CHECK(f.h.id_of(bad) != 0);
}

TEST_CASE("outlier_detection: without an algorithm nothing is counted and no timer runs") {
  fixture f{addresses(3), R"({"childPolicy": [{"round_robin": {}}]})"};
  CHECK(f.h.pending_timers() == 0);
  CHECK(f.h.state == cs::ready);
  auto r = f.h.picker->pick({});
  CHECK(r.what == pick_result::kind::complete);
  CHECK(r.trackers[1] == nullptr);
}

TEST_CASE("outlier_detection: turning the algorithms off un-ejects and stops the timer") {
  fixture f{addresses(5)};
  f.calls_failing(500, {f.addrs[0]});
  f.h.advance(10s);
  REQUIRE(f.od.ejected_count() == 1);
  f.update(R"({"childPolicy": [{"round_robin": {}}]})");
  CHECK(f.od.ejected_count() == 0);
  CHECK(f.od.multiplier(f.addrs[0]) == 0);
  CHECK(f.h.picker->pick({}).trackers[1] == nullptr);
  auto publishes = f.h.publishes();
  f.h.advance(100s);  // the old timer fires and is ignored
  CHECK(f.h.publishes() == publishes);
  CHECK(f.h.pending_timers() == 0);
}

TEST_CASE("outlier_detection: a new interval keeps the start of the running one") {
  fixture f{addresses(5)};
  f.h.advance(4s);
  f.calls_failing(500, {f.addrs[0]});
  auto config = failure_config();
  config.replace(config.find("10s"), 3, "6s");
  f.update(config);
  f.h.advance(1900ms);
  CHECK(f.od.ejected_count() == 0);
  f.h.advance(100ms);  // start + 6s
  CHECK(f.od.ejected_count() == 1);
}

TEST_CASE("outlier_detection: exit_idle resolver_error flush and shutdown reach the child") {
  fake_policy_helper h;
  h.child_factory = [](const std::string& name, policy_helper& helper) {
    return (*policy_registry::builtins().find(name))(helper);
  };
  outlier_detection od{h};
  od.resolver_error(status{status_code::unavailable, "no dns"});
  CHECK(h.state == cs::transient_failure);
  CHECK(h.picker->pick({}).error->message == "resolver error: no dns");
  auto addrs = addresses(2);
  od.update_addresses(addrs, lb_config{"outlier_detection", false, failure_config()});
  REQUIRE(od.child() != nullptr);
  CHECK(h.connects.size() == 2);
  od.exit_idle();
  od.flush();
  od.resolver_error(status{status_code::unavailable, "later"});  // the child keeps its list
  CHECK(h.state == cs::connecting);
  od.shutdown();
  CHECK(h.live_addresses().empty());
  auto publishes = h.publishes();
  h.advance(60s);
  CHECK(h.publishes() == publishes);
}

TEST_CASE("outlier_detection: an unknown child or a bad config reports TRANSIENT_FAILURE") {
  fake_policy_helper h;  // no child_factory: create_policy knows nothing
  outlier_detection od{h};
  od.update_addresses(addresses(1), lb_config{"outlier_detection", false, failure_config()});
  CHECK(h.state == cs::transient_failure);
  CHECK(h.picker->pick({}).error->message ==
        "outlier_detection: child policy 'round_robin' is not registered");
  outlier_detection od2{h};
  od2.update_addresses(addresses(1), lb_config{"outlier_detection", false, "{}"});
  CHECK(h.picker->pick({}).error->message == "outlier_detection.childPolicy: is required");
}

TEST_CASE("outlier_detection: seeded distribution with one mostly failing backend") {
  auto seed = achan::test::test_seed();
  MESSAGE("seed " << seed);
  std::mt19937_64 outcomes{seed};
  fixture f{addresses(5)};
  auto bad = f.addrs[2];
  std::map<std::string, int> total;
  for (int interval = 0; interval < 13; ++interval) {
    // 95 % of the bad backend's calls fail: well above the 85 % threshold.
    for (auto& [a, n] : f.calls(1000, [&](const std::string& a) {
           return a == bad && outcomes() % 100 < 95 ? status{status_code::unavailable, "x"}
                                                    : status{};
         }))
      total[a] += n;
    f.h.advance(10s);
  }
  // Ejected at 10 (30s: back at 50) and at 60 (60s: back at 130): two intervals of traffic.
  CHECK(total[bad] == 400);
  for (const auto& a : f.addrs)
    if (a != bad)
      CHECK(total[a] == 2 * 200 + 11 * 250);
  CHECK_FALSE(f.od.ejected(bad));
  CHECK(f.od.multiplier(bad) == 2);
}

TEST_CASE("outlier_detection: a new childPolicy replaces the child and its subchannels") {
  fixture f{addresses(2)};
  auto old_ids = f.h.created;
  f.update(R"({"childPolicy": [{"pick_first": {}}]})");
  for (auto id : old_ids)
    CHECK(f.h.is_shut_down(id));
  CHECK(f.h.created.size() == 4);
  CHECK(f.h.state == cs::connecting);
  f.od.on_subchannel_update(f.h.ready(f.h.id_of(f.addrs[0])));
  CHECK(f.h.state == cs::ready);
  CHECK((*f.h.picker->pick({}).conn)->address() == f.addrs[0]);
}
