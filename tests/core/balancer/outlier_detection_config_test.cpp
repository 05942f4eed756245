// outlier_detection's config parsing, its registration, and the sweep's ejection choices
// as tables (select_ejections). The policy's behaviour: outlier_detection_test.cpp.
#include "core/balancer/outlier_detection_config.hpp"

#include <doctest/doctest.h>

#include <chrono>
#include <random>
#include <string>
#include <vector>

#include <achan/service_config.hpp>
#include "core/balancer/outlier_detection_sweep.hpp"
#include "core/balancer/registry.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

const std::string path = "loadBalancingConfig[0].outlier_detection";

std::string error_of(const std::string& json) {
  auto r = parse_outlier_detection_config(json, path);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == status_code::invalid_argument);
  return r.error().message;
}

outlier_detection_config parsed(const std::string& json) {
  auto r = parse_outlier_detection_config(json, path);
  REQUIRE_MESSAGE(r.ok(), r.error().message);
  return *r;
}

}  // namespace

TEST_CASE("outlier_detection config: defaults with only childPolicy and no algorithm") {
  auto c = parsed(R"({"childPolicy": [{"round_robin": {}}]})");
  CHECK(c.interval == 10s);
  CHECK(c.base_ejection_time == 30s);
  CHECK(c.max_ejection_time == 300s);
  CHECK(c.max_ejection_percent == 10);
  CHECK_FALSE(c.success_rate_ejection.has_value());
  CHECK_FALSE(c.failure_percentage_ejection.has_value());
  CHECK_FALSE(c.counting_enabled());
  CHECK(c.child.name == "round_robin");
  CHECK(c.child.config == "{}");
}

TEST_CASE("outlier_detection config: reads every field of gRPC's example") {
  auto c = parsed(R"({"interval": "1.5s", "baseEjectionTime": "20s", "maxEjectionTime": "100s",
      "maxEjectionPercent": "25",
      "successRateEjection": {"stdevFactor": 1000, "enforcementPercentage": 50,
                              "minimumHosts": 3, "requestVolume": 10},
      "failurePercentageEjection": {"threshold": 60, "enforcementPercentage": 70,
                                    "minimumHosts": 2, "requestVolume": 20},
      "childPolicy": [{"pick_first": {"shuffleAddressList": true}}]})");
  CHECK(c.interval == 1500ms);
  CHECK(c.base_ejection_time == 20s);
  CHECK(c.max_ejection_time == 100s);
  CHECK(c.max_ejection_percent == 25);
  REQUIRE(c.success_rate_ejection);
  CHECK(c.success_rate_ejection->stdev_factor == 1000);
  CHECK(c.success_rate_ejection->enforcement_percentage == 50);
  CHECK(c.success_rate_ejection->minimum_hosts == 3);
  CHECK(c.success_rate_ejection->request_volume == 10);
  REQUIRE(c.failure_percentage_ejection);
  CHECK(c.failure_percentage_ejection->threshold == 60);
  CHECK(c.failure_percentage_ejection->enforcement_percentage == 70);
  CHECK(c.failure_percentage_ejection->minimum_hosts == 2);
  CHECK(c.failure_percentage_ejection->request_volume == 20);
  CHECK(c.child.name == "pick_first");
  CHECK(c.child.shuffle_address_list);
}

TEST_CASE("outlier_detection config: an empty algorithm object enables it with defaults") {
  auto c = parsed(R"({"successRateEjection": {}, "failurePercentageEjection": {},
                      "childPolicy": [{"round_robin": {}}]})");
  CHECK(c.counting_enabled());
  CHECK(c.success_rate_ejection->stdev_factor == 1900);
  CHECK(c.success_rate_ejection->enforcement_percentage == 100);
  CHECK(c.success_rate_ejection->minimum_hosts == 5);
  CHECK(c.success_rate_ejection->request_volume == 100);
  CHECK(c.failure_percentage_ejection->threshold == 85);
  CHECK(c.failure_percentage_ejection->enforcement_percentage == 100);
  CHECK(c.failure_percentage_ejection->minimum_hosts == 5);
  CHECK(c.failure_percentage_ejection->request_volume == 50);
}

TEST_CASE("outlier_detection config: maxEjectionTime defaults to the larger of 300s and the base") {
  auto c = parsed(R"({"baseEjectionTime": "400s", "childPolicy": [{"round_robin": {}}]})");
  CHECK(c.max_ejection_time == 400s);
  auto d = parsed(R"({"baseEjectionTime": "400s", "maxEjectionTime": "10s",
                      "childPolicy": [{"round_robin": {}}]})");
  CHECK(d.max_ejection_time == 10s);
}

TEST_CASE("outlier_detection config: the first known child policy wins") {
  auto c = parsed(R"({"childPolicy": [{"no_such_policy": {}}, {"round_robin": {}},
                                      {"pick_first": {}}]})");
  CHECK(c.child.name == "round_robin");
}

TEST_CASE("outlier_detection config: percentages and thresholds above 100 are refused") {
  const std::string child = R"("childPolicy": [{"round_robin": {}}])";
  CHECK(error_of(R"({"maxEjectionPercent": 150, )" + child + "}") ==
        path + ".maxEjectionPercent: must be an integer from 0 to 100, not 150");
  CHECK(
      error_of(R"({"successRateEjection": {"enforcementPercentage": 101}, )" + child + "}") ==
      path +
          ".successRateEjection.enforcementPercentage: must be an integer from 0 to 100, not 101");
  CHECK(error_of(R"({"failurePercentageEjection": {"threshold": 101}, )" + child + "}") ==
        path + ".failurePercentageEjection.threshold: must be an integer from 0 to 100, not 101");
  CHECK(
      error_of(R"({"failurePercentageEjection": {"enforcementPercentage": -1}, )" + child + "}") ==
      path +
          ".failurePercentageEjection.enforcementPercentage: must be an integer from 0 to 100, "
          "not -1");
  CHECK(error_of(R"({"successRateEjection": {"stdevFactor": 4294967296}, )" + child + "}") ==
        path +
            ".successRateEjection.stdevFactor: must be an integer from 0 to 4294967295, not "
            "4294967296");
  CHECK(error_of(R"({"failurePercentageEjection": {"minimumHosts": 1.5}, )" + child + "}") ==
        path +
            ".failurePercentageEjection.minimumHosts: must be an integer from 0 to 4294967295, "
            "not 1.5");
  CHECK(error_of(R"({"successRateEjection": 3, )" + child + "}") ==
        path + ".successRateEjection: must be an object, not 3");
}

TEST_CASE("outlier_detection config: durations are checked") {
  const std::string child = R"("childPolicy": [{"round_robin": {}}])";
  CHECK(error_of(R"({"interval": "0s", )" + child + "}") ==
        path + ".interval: must be a duration > 0, not \"0s\"");
  CHECK(error_of(R"({"baseEjectionTime": "-1s", )" + child + "}") ==
        path + ".baseEjectionTime: must be a duration >= 0, not \"-1s\"");
  CHECK(error_of(R"({"maxEjectionTime": 30, )" + child + "}") ==
        path + ".maxEjectionTime: must be a duration like \"1.5s\", not 30");
  CHECK(parsed(R"({"baseEjectionTime": "0s", )" + child + "}").base_ejection_time == 0s);
}

TEST_CASE("outlier_detection config: childPolicy is required and must name a known policy") {
  CHECK(error_of("{}") == path + ".childPolicy: is required");
  CHECK(error_of(R"({"childPolicy": {"round_robin": {}}})") ==
        path + ".childPolicy: must be an array, not {\"round_robin\":{}}");
  CHECK(error_of(R"({"childPolicy": []})") == path + ".childPolicy: names no policy");
  CHECK(error_of(R"({"childPolicy": [{"a": {}}, {"b": {}}]})") ==
        path + ".childPolicy: names no known policy (saw 'a', 'b')");
  CHECK(error_of(R"({"childPolicy": [{"round_robin": {}, "pick_first": {}}]})") ==
        path +
            ".childPolicy[0]: must name exactly one policy, not 2 in "
            "{\"pick_first\":{},\"round_robin\":{}}");
  CHECK(error_of(R"({"childPolicy": [{"round_robin": 1}]})") ==
        path + ".childPolicy[0].round_robin: must be an object, not 1");
  CHECK(error_of("[]") == path + ": must be an object, not []");
}

TEST_CASE("outlier_detection config: the child's config goes through its validator") {
  // A nested outlier_detection child is checked by the registered validator.
  CHECK(error_of(R"({"childPolicy": [{"outlier_detection": {"maxEjectionPercent": 200,
                       "childPolicy": [{"round_robin": {}}]}}]})") ==
        path +
            ".childPolicy[0].outlier_detection.maxEjectionPercent: must be an integer from 0 to "
            "100, not 200");
  // A lookup passed in replaces the registry's.
  child_policy_lookup lookup{[](std::string_view n) { return n == "mine"; },
                             [](std::string_view, std::string_view json, const std::string& p) {
                               return json == "{}" ? std::string{} : p + ": mine takes no settings";
                             }};
  auto ok = parse_outlier_detection_config(R"({"childPolicy": [{"mine": {}}]})", "od", lookup);
  REQUIRE(ok.ok());
  CHECK(ok->child.name == "mine");
  auto bad = parse_outlier_detection_config(
      R"({"childPolicy": [{"round_robin": {}}, {"mine": {"x": 1}}]})", "od", lookup);
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == "od.childPolicy[1].mine: mine takes no settings");
}

TEST_CASE("outlier_detection config: registered under both names with a validator") {
  const auto& r = policy_registry::builtins();
  CHECK(r.find("outlier_detection") != nullptr);
  CHECK(r.find("outlier_detection_experimental") != nullptr);
  CHECK(r.config_error("outlier_detection_experimental", R"({"maxEjectionPercent": 101})", "x") ==
        "x.maxEjectionPercent: must be an integer from 0 to 100, not 101");
  CHECK(r.config_error("outlier_detection", R"({"childPolicy": [{"round_robin": {}}]})", "x")
            .empty());
  // A service config naming it is checked the same way.
  auto sc = parse_service_config(
      R"({"loadBalancingConfig": [{"outlier_detection": {"interval": "5s",
          "childPolicy": [{"round_robin": {}}]}}]})");
  REQUIRE_MESSAGE(sc.ok(), sc.error().message);
  REQUIRE((*sc)->lb.has_value());
  CHECK((*sc)->lb->name == "outlier_detection");
  auto bad = parse_service_config(
      R"({"loadBalancingConfig": [{"outlier_detection": {"interval": "5s"}}]})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message.find(
            "loadBalancingConfig[0].outlier_detection.childPolicy: is required") !=
        std::string::npos);
}

// select_ejections ------------------------------------------------------------------

namespace {

outlier_detection_config failure_only(std::uint32_t max_percent = 10) {
  outlier_detection_config c;
  c.max_ejection_percent = max_percent;
  c.failure_percentage_ejection.emplace();
  return c;
}

std::vector<od_address_stats> hosts(std::size_t n, std::uint64_t ok, std::uint64_t bad,
                                    std::size_t failing) {
  std::vector<od_address_stats> h(n, od_address_stats{ok + bad, 0, false});
  for (std::size_t i = 0; i < failing; ++i)
    h[i] = {ok, bad, false};
  return h;
}

}  // namespace

TEST_CASE("select_ejections: failure percentage strictly above the threshold") {
  std::mt19937_64 rng{1};
  auto c = failure_only(100);
  std::vector<od_address_stats> h{
      {15, 85, false}, {14, 86, false}, {100, 0, false}, {100, 0, false}, {100, 0, false}};
  CHECK(select_ejections(h, c, rng) == std::vector<std::size_t>{1});  // 85 % is not above 85
}

TEST_CASE("select_ejections: the cap counts addresses already ejected and allows one") {
  std::mt19937_64 rng{1};
  auto h = hosts(10, 0, 100, 5);
  CHECK(select_ejections(h, failure_only(10), rng) == std::vector<std::size_t>{0});
  CHECK(select_ejections(h, failure_only(0), rng) == std::vector<std::size_t>{0});
  CHECK(select_ejections(h, failure_only(30), rng) == std::vector<std::size_t>{0, 1, 2});
  h[9].ejected = true;  // 10 % already ejected: nothing more at 10 %
  CHECK(select_ejections(h, failure_only(10), rng).empty());
  CHECK(select_ejections(h, failure_only(20), rng) == std::vector<std::size_t>{0});
}

TEST_CASE("select_ejections: requestVolume and minimumHosts gate the candidates") {
  std::mt19937_64 rng{1};
  auto c = failure_only(100);
  c.failure_percentage_ejection->request_volume = 50;
  CHECK(select_ejections(hosts(5, 0, 49, 5), c, rng).empty());  // too few calls each
  CHECK(select_ejections(hosts(5, 0, 50, 1), c, rng) == std::vector<std::size_t>{0});
  auto h = hosts(5, 0, 50, 1);
  h[4] = {10, 0, false};  // 4 candidates left: fewer than minimumHosts 5
  CHECK(select_ejections(h, c, rng).empty());
  c.failure_percentage_ejection->minimum_hosts = 4;
  CHECK(select_ejections(h, c, rng) == std::vector<std::size_t>{0});
  c.failure_percentage_ejection->request_volume = 0;  // addresses without calls never count
  CHECK(select_ejections(hosts(5, 0, 0, 5), c, rng).empty());
}

TEST_CASE("select_ejections: success rate below mean minus stdev times the factor") {
  std::mt19937_64 rng{1};
  outlier_detection_config c;
  c.max_ejection_percent = 100;
  c.success_rate_ejection.emplace();
  // Rates 100 100 100 100 50: mean 90, stdev 20; 1.9 -> threshold 52, 3.0 -> 30.
  auto h = hosts(5, 50, 50, 1);
  CHECK(select_ejections(h, c, rng) == std::vector<std::size_t>{0});
  c.success_rate_ejection->stdev_factor = 3000;
  CHECK(select_ejections(h, c, rng).empty());
  c.success_rate_ejection->stdev_factor = 1900;
  c.success_rate_ejection->request_volume = 101;
  CHECK(select_ejections(h, c, rng).empty());
  c.success_rate_ejection->request_volume = 100;
  c.success_rate_ejection->minimum_hosts = 6;
  CHECK(select_ejections(h, c, rng).empty());
}

TEST_CASE("select_ejections: enforcementPercentage draws from the seeded generator") {
  auto c = failure_only(100);
  auto h = hosts(100, 0, 100, 100);
  std::mt19937_64 rng{7};
  c.failure_percentage_ejection->enforcement_percentage = 0;
  CHECK(select_ejections(h, c, rng).empty());
  c.failure_percentage_ejection->enforcement_percentage = 100;
  CHECK(select_ejections(h, c, rng).size() == 100);
  c.failure_percentage_ejection->enforcement_percentage = 30;
  std::mt19937_64 a{7}, b{7};
  auto first = select_ejections(h, c, a);
  CHECK(first == select_ejections(h, c, b));
  CHECK(first.size() > 15);
  CHECK(first.size() < 45);
}
