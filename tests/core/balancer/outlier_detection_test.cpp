// outlier_detection over a real round_robin child, in virtual time (fake_policy_helper's
// clock fires the sweep timers): ejection, readmission and their limits. Updates, config
// changes and the child's lifecycle: outlier_detection_update_test.cpp; config parsing
// and the sweep's tables: outlier_detection_config_test.cpp.
#include <doctest/doctest.h>

#include "tests/core/balancer/outlier_detection_support.hpp"

using namespace achan;
using namespace achan::test::od;
using namespace std::chrono_literals;
using achan::test::fake_policy_helper;

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
