// outlier_detection over a real round_robin child, in virtual time (fake_policy_helper's
// clock fires the sweep timers). Config parsing and the sweep's tables:
// outlier_detection_config_test.cpp.
#include "core/balancer/outlier_detection.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/balancer/registry.hpp"
#include "tests/support/fake_policy_helper.hpp"
#include "tests/support/seed.hpp"

using namespace achan;
using namespace std::chrono_literals;
using achan::test::fake_policy_helper;

namespace {

using cs = connectivity_state;

std::vector<std::string> addresses(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("10.0.0." + std::to_string(i) + ":80");
  return out;
}

/// A failure-percentage config (requestVolume 10) with `extra` fields spliced in.
std::string failure_config(const std::string& extra = "", const std::string& fp = "") {
  return R"({"interval": "10s", "baseEjectionTime": "30s", )" + extra +
         R"("failurePercentageEjection": {"requestVolume": 10)" + fp +
         R"(}, "childPolicy": [{"round_robin": {}}]})";
}

/// An outlier_detection over round_robin with every address READY.
struct fixture {
  fake_policy_helper h;
  outlier_detection od{h};
  std::vector<std::string> addrs;

  explicit fixture(std::vector<std::string> a, const std::string& config = failure_config())
      : addrs(std::move(a)) {
    h.child_factory = [](const std::string& name, policy_helper& helper) {
      const auto* f = policy_registry::builtins().find(name);
      return f ? (*f)(helper) : nullptr;
    };
    update(config);
    for (const auto& addr : addrs)
      od.on_subchannel_update(h.ready(h.id_of(addr)));
  }
  void update(const std::string& config) {
    od.update_addresses(addrs, lb_config{"outlier_detection", false, config});
  }

  /// Picks `n` times and ends each call with `outcome(address)`; returns picks per address.
  template <class Outcome>
  std::map<std::string, int> calls(int n, Outcome outcome) {
    static const metadata none;
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i) {
      auto r = h.picker->pick({});
      REQUIRE(r.what == pick_result::kind::complete);
      std::string addr{(*r.conn)->address()};
      ++out[addr];
      REQUIRE(r.trackers[1] != nullptr);
      status st = outcome(addr);
      r.trackers[1]->on_call_end(call_outcome{st, none, h.now(), true});
    }
    return out;
  }
  /// Calls to `bad` fail with UNAVAILABLE, the rest succeed.
  std::map<std::string, int> calls_failing(int n, const std::vector<std::string>& bad) {
    return calls(n, [&](const std::string& a) {
      return std::find(bad.begin(), bad.end(), a) != bad.end()
                 ? status{status_code::unavailable, "boom"}
                 : status{};
    });
  }
};

}  // namespace

TEST_CASE("outlier_detection: a failing address is ejected after one interval") {
  fixture f{addresses(5)};
  CHECK(f.h.state == cs::ready);
  auto bad = f.addrs[2];
  auto counts = f.calls_failing(500, {bad});
  CHECK(counts[bad] == 100);
  f.h.advance(9s);
  CHECK_FALSE(f.od.ejected(bad));
  f.h.advance(1s);
  CHECK(f.od.ejected(bad));
  CHECK(f.od.ejected_count() == 1);
  CHECK(f.od.multiplier(bad) == 1);
  CHECK(f.h.state == cs::ready);
  auto after = f.calls_failing(400, {});
  CHECK(after.count(bad) == 0);
  CHECK(after.size() == 4);
  CHECK(f.h.reresolutions == 1);  // round_robin saw a READY subchannel fail
}

TEST_CASE("outlier_detection: the child sees TRANSIENT_FAILURE while the address is ejected") {
  fixture f{addresses(5)};
  auto bad = f.addrs[0];
  auto id = f.h.id_of(bad);
  f.calls_failing(500, {bad});
  f.h.advance(10s);
  REQUIRE(f.od.ejected(bad));
  // Updates while ejected do not reach the child: no new picker, still not picked.
  auto publishes = f.h.publishes();
  f.od.on_subchannel_update(fake_policy_helper::idle(id, "goaway"));
  f.od.on_subchannel_update(fake_policy_helper::connecting(id));
  auto fresh = f.h.ready(id);
  f.od.on_subchannel_update(fresh);
  CHECK(f.h.publishes() == publishes);
  CHECK(f.h.connect_count(id) == 1);  // round_robin did not see the IDLE
  CHECK(f.calls_failing(100, {}).count(bad) == 0);
  // Un-ejected, the child gets the real latest update: the new connection.
  f.h.advance(40s);
  CHECK_FALSE(f.od.ejected(bad));
  bool seen = false;
  for (int i = 0; i < 5; ++i) {
    auto r = f.h.picker->pick({});
    seen = seen || r.conn->get() == fresh.conn.get();
  }
  CHECK(seen);
}

TEST_CASE("outlier_detection: an ejected address is readmitted after baseEjectionTime") {
  fixture f{addresses(5)};
  auto bad = f.addrs[4];
  f.calls_failing(500, {bad});
  f.h.advance(10s);  // t = 10: ejected
  REQUIRE(f.od.ejected(bad));
  for (int i = 0; i < 3; ++i) {  // sweeps at 20 30 40: 30s not yet over at 40
    f.calls_failing(400, {bad});
    f.h.advance(10s);
    CHECK(f.od.ejected(bad));
  }
  f.h.advance(10s);  // t = 50
  CHECK_FALSE(f.od.ejected(bad));
  CHECK(f.od.multiplier(bad) == 1);
  CHECK(f.calls_failing(500, {})[bad] == 100);
  f.h.advance(10s);  // a sweep without ejection lowers the multiplier
  CHECK(f.od.multiplier(bad) == 0);
}

TEST_CASE("outlier_detection: a second ejection lasts twice as long") {
  fixture f{addresses(5)};
  auto bad = f.addrs[1];
  f.calls_failing(500, {bad});
  f.h.advance(10s);  // t = 10: first ejection
  f.h.advance(40s);  // t = 50: readmitted
  REQUIRE_FALSE(f.od.ejected(bad));
  f.calls_failing(500, {bad});
  f.h.advance(10s);  // t = 60: ejected again
  REQUIRE(f.od.ejected(bad));
  CHECK(f.od.multiplier(bad) == 2);
  f.h.advance(60s);  // t = 120: 60s not over yet
  CHECK(f.od.ejected(bad));
  f.h.advance(10s);  // t = 130
  CHECK_FALSE(f.od.ejected(bad));
}

TEST_CASE("outlier_detection: maxEjectionTime caps the ejection") {
  fixture f{addresses(5), failure_config(R"("maxEjectionTime": "35s", )")};
  auto bad = f.addrs[0];
  for (int round = 0; round < 2; ++round) {
    f.calls_failing(500, {bad});
    f.h.advance(10s);
    REQUIRE(f.od.ejected(bad));
    f.h.advance(30s);
    CHECK(f.od.ejected(bad));
    f.h.advance(10s);  // over: the second ejection is capped at 35s too
    CHECK_FALSE(f.od.ejected(bad));
  }
  CHECK(f.od.multiplier(bad) == 2);
}

TEST_CASE("outlier_detection: ejections stop at maxEjectionPercent") {
  auto bad = std::vector<std::string>(5);
  {
    fixture f{addresses(10)};
    std::copy(f.addrs.begin(), f.addrs.begin() + 5, bad.begin());
    f.calls_failing(1000, bad);
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 1);  // the first in list order
    CHECK(f.od.ejected(bad[0]));
    f.calls_failing(900, bad);
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 1);  // 10 % are ejected: no more
  }
  {
    fixture f{addresses(10), failure_config(R"("maxEjectionPercent": 30, )")};
    f.calls_failing(1000, bad);
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 3);
  }
  {
    fixture f{addresses(10), failure_config(R"("maxEjectionPercent": 0, )")};
    f.calls_failing(1000, bad);
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 1);  // gRPC: one address may always be ejected
  }
}

TEST_CASE("outlier_detection: success rate ejection uses stdevFactor") {
  auto config = [](const std::string& factor) {
    return R"({"successRateEjection": {"stdevFactor": )" + factor +
           R"(}, "childPolicy": [{"round_robin": {}}]})";
  };
  for (auto [factor, ejected] : {std::pair{"1900", true}, std::pair{"3000", false}}) {
    CAPTURE(factor);
    fixture f{addresses(5), config(factor)};
    auto bad = f.addrs[3];
    int n = 0;  // every other call to `bad` fails: 50 % against 100 % elsewhere
    f.calls(1000, [&](const std::string& a) {
      return a == bad && ++n % 2 == 0 ? status{status_code::internal, "x"} : status{};
    });
    f.h.advance(10s);
    CHECK(f.od.ejected(bad) == ejected);
  }
}

TEST_CASE("outlier_detection: requestVolume and minimumHosts are respected") {
  {
    fixture f{addresses(5)};  // requestVolume 10: 9 calls each are too few
    f.calls_failing(45, f.addrs);
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 0);
  }
  {
    fixture f{addresses(4)};  // minimumHosts 5 with 4 addresses
    f.calls_failing(400, {f.addrs[0]});
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 0);
  }
  {
    fixture f{addresses(4), failure_config("", R"(, "minimumHosts": 4)")};
    f.calls_failing(400, {f.addrs[0]});
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 1);
  }
}

TEST_CASE("outlier_detection: enforcementPercentage 0 never ejects") {
  fixture f{addresses(5), failure_config("", R"(, "enforcementPercentage": 0)")};
  for (int i = 0; i < 10; ++i) {
    f.calls_failing(500, {f.addrs[0]});
    f.h.advance(10s);
    CHECK(f.od.ejected_count() == 0);
  }
}

TEST_CASE("outlier_detection: calls that were never sent do not count") {
  fixture f{addresses(5)};
  static const metadata none;
  const status failed{status_code::unavailable, "x"};
  auto bad = f.addrs[0];
  for (int i = 0; i < 500; ++i) {
    auto r = f.h.picker->pick({});
    r.trackers[1]->on_call_end(call_outcome{failed, none, f.h.now(), false});
  }
  f.h.advance(10s);
  CHECK(f.od.ejected_count() == 0);
  // Outcomes of one interval are judged at its end only.
  f.calls_failing(500, {bad});
  f.h.advance(10s);
  CHECK(f.od.ejected(bad));
}

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
