// The service config parser (core/config/service_config_json.cpp): status codes, retry and hedging
// policies, throttling, health checking, errors.
#include <achan/service_config.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

#include "tests/core/config/service_config_support.hpp"

using namespace achan;
using namespace achan::test;
using namespace std::chrono_literals;

TEST_CASE("service_config: status codes are names in any case or numbers 0 to 16") {
  auto codes_of = [](const std::string& list) {
    auto sc = parse_ok(retry_with(R"("maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s",)"
                                  R"( "backoffMultiplier": 2, "retryableStatusCodes": )" +
                                  list));
    return only_method(*sc).retry->retryable_status_codes;
  };
  using sc = status_code;
  CHECK(codes_of(R"(["UNAVAILABLE", "DEADLINE_EXCEEDED", "RESOURCE_EXHAUSTED"])") ==
        std::vector<sc>{sc::unavailable, sc::deadline_exceeded, sc::resource_exhausted});
  CHECK(codes_of(R"(["unavailable", "Data_Loss", "cancelled"])") ==
        std::vector<sc>{sc::unavailable, sc::data_loss, sc::cancelled});
  CHECK(codes_of("[0, 14, 16, 4.0]") ==
        std::vector<sc>{sc::ok, sc::unavailable, sc::unauthenticated, sc::deadline_exceeded});
  CHECK(codes_of(R"(["UNAVAILABLE", 14, "unavailable", "ABORTED", 10])") ==
        std::vector<sc>{sc::unavailable, sc::aborted});
  std::vector<std::string> all = {"OK",
                                  "CANCELLED",
                                  "UNKNOWN",
                                  "INVALID_ARGUMENT",
                                  "DEADLINE_EXCEEDED",
                                  "NOT_FOUND",
                                  "ALREADY_EXISTS",
                                  "PERMISSION_DENIED",
                                  "RESOURCE_EXHAUSTED",
                                  "FAILED_PRECONDITION",
                                  "ABORTED",
                                  "OUT_OF_RANGE",
                                  "UNIMPLEMENTED",
                                  "INTERNAL",
                                  "UNAVAILABLE",
                                  "DATA_LOSS",
                                  "UNAUTHENTICATED"};
  for (std::size_t i = 0; i < all.size(); ++i) {
    INFO(all[i]);
    CHECK(codes_of("[\"" + all[i] + "\"]") == std::vector<sc>{static_cast<sc>(i)});
  }
  const std::string prefix =
      R"("maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, )";
  const std::string path = "methodConfig[0].retryPolicy.retryableStatusCodes";
  const std::string rule = R"(must be a status code name like "UNAVAILABLE" or a number 0..16)";
  check_errors({
      {retry_with(prefix + R"("retryableStatusCodes": ["UNAVAILABLE", "UNAVAIL"])"),
       path + "[1]: " + rule + R"(, not "UNAVAIL")"},
      {retry_with(prefix + R"("retryableStatusCodes": [17])"), path + "[0]: " + rule + ", not 17"},
      {retry_with(prefix + R"("retryableStatusCodes": [-1])"), path + "[0]: " + rule + ", not -1"},
      {retry_with(prefix + R"("retryableStatusCodes": ["14"])"),
       path + "[0]: " + rule + R"(, not "14")"},
      {retry_with(prefix + R"("retryableStatusCodes": [1.5])"),
       path + "[0]: " + rule + ", not 1.5"},
      {retry_with(prefix + R"("retryableStatusCodes": [null])"),
       path + "[0]: " + rule + ", not null"},
      {one_method(R"("hedgingPolicy": {"maxAttempts": 2, "nonFatalStatusCodes": ["NOPE"]})"),
       "methodConfig[0].hedgingPolicy.nonFatalStatusCodes[0]: " + rule + R"(, not "NOPE")"},
  });
}

TEST_CASE("service_config: hedgingPolicy defaults and errors") {
  auto sc = parse_ok(one_method(R"("hedgingPolicy": {"maxAttempts": 2})"));
  const auto& h = *only_method(*sc).hedging;
  CHECK(h.max_attempts == 2);
  CHECK(h.hedging_delay == 0s);
  CHECK(h.non_fatal_status_codes.empty());
  auto with_empty = parse_ok(one_method(R"("hedgingPolicy": {"maxAttempts": 3,
      "hedgingDelay": "0s", "nonFatalStatusCodes": []})"));
  CHECK(only_method(*with_empty).hedging->non_fatal_status_codes.empty());
  check_errors({
      {one_method(R"("hedgingPolicy": {"maxAttempts": 1})"),
       "methodConfig[0].hedgingPolicy.maxAttempts: must be an integer >= 2, not 1"},
      {one_method(R"("hedgingPolicy": {})"),
       "methodConfig[0].hedgingPolicy.maxAttempts: is required"},
      {one_method(R"("hedgingPolicy": {"maxAttempts": 2, "hedgingDelay": "-0.5s"})"),
       R"(methodConfig[0].hedgingPolicy.hedgingDelay: must be a duration >= 0, not "-0.5s")"},
      {one_method(R"("hedgingPolicy": {"maxAttempts": 2, "nonFatalStatusCodes": {}})"),
       "methodConfig[0].hedgingPolicy.nonFatalStatusCodes: must be an array, not {}"},
      {one_method(R"("hedgingPolicy": {"maxAttempts": 2}, "retryPolicy": {})"),
       "methodConfig[0]: has both retryPolicy and hedgingPolicy; at most one is allowed"},
  });
}

TEST_CASE("service_config: method names and entries are validated") {
  check_errors({
      {R"({"methodConfig": {}})", "methodConfig: must be an array, not {}"},
      {R"({"methodConfig": [1]})", "methodConfig[0]: must be an object, not 1"},
      {R"({"methodConfig": [{"name": {"service": "s"}}]})",
       R"(methodConfig[0].name: must be an array, not {"service":"s"})"},
      {R"({"methodConfig": [{"name": ["s"]}]})",
       R"(methodConfig[0].name[0]: must be an object, not "s")"},
      {R"({"methodConfig": [{"name": [{"service": 1}]}]})",
       "methodConfig[0].name[0].service: must be a string, not 1"},
      {R"({"methodConfig": [{"name": [{"service": "s", "method": ["m"]}]}]})",
       R"(methodConfig[0].name[0].method: must be a string, not ["m"])"},
      {R"({"methodConfig": [{"name": [{}]}, {"name": [{"method": "Foo"}]}]})",
       "methodConfig[1].name[0]: method 'Foo' given without a service"},
      {R"({"methodConfig": [{"name": [{"service": "", "method": "Foo"}]}]})",
       "methodConfig[0].name[0]: method 'Foo' given without a service"},
      {one_method(R"("waitForReady": "yes")"),
       R"(methodConfig[0].waitForReady: must be a boolean, not "yes")"},
      {one_method(R"("waitForReady": 1)"),
       "methodConfig[0].waitForReady: must be a boolean, not 1"},
  });
}

TEST_CASE("service_config: the same name twice is rejected") {
  check_errors({
      {R"({"methodConfig": [{"name": [{"service": "s", "method": "m"}]},
                            {"name": [{"service": "t"}, {"service": "s", "method": "m"}]}]})",
       "methodConfig[1].name[1]: duplicate name 's/m', first given at methodConfig[0].name[0]"},
      {R"({"methodConfig": [{"name": [{"service": "s"}, {"service": "s", "method": ""}]}]})",
       "methodConfig[0].name[1]: duplicate name 's', first given at methodConfig[0].name[0]"},
      {R"({"methodConfig": [{"name": [{}]}, {"name": [{"service": ""}]}]})",
       "methodConfig[1].name[0]: duplicate default name (no service), first given at "
       "methodConfig[0].name[0]"},
  });
  // A service and a method of it are different names.
  auto sc = parse_ok(
      R"({"methodConfig": [{"name": [{"service": "s"}, {"service": "s", "method": "m"}]}]})");
  CHECK(sc->by_service.at("s") == 0);
  CHECK(sc->by_method.at("s/m") == 0);
}

TEST_CASE("service_config: loadBalancingConfig takes the first known policy") {
  auto sc = parse_ok(R"({"loadBalancingConfig": [{"grpclb": {"childPolicy": []}},
      {"round_robin": {}}, {"pick_first": {}}]})");
  REQUIRE(sc->lb);
  CHECK(sc->lb->name == "round_robin");
  CHECK_FALSE(sc->lb->shuffle_address_list);
  // Entries after the chosen one are not inspected (as in gRPC core).
  auto rest = parse_ok(R"({"loadBalancingConfig": [{"pick_first": {}}, 7]})");
  CHECK(rest->lb->name == "pick_first");
  CHECK(rest->lb->config == "{}");
}

TEST_CASE("service_config: loadBalancingConfig asks policy_known and keeps the config text") {
  service_config_parse_options o;
  std::vector<std::string> asked;
  o.policy_known = [&](std::string_view name) {
    asked.emplace_back(name);
    return name == "weighted_x";
  };
  auto sc = parse_ok(R"({"loadBalancingConfig": [{"round_robin": {}},
      {"weighted_x": {"b": [1, 2], "a": {"c": "d"}}}]})",
                     o);
  CHECK(asked == std::vector<std::string>{"round_robin", "weighted_x"});
  REQUIRE(sc->lb);
  CHECK(sc->lb->name == "weighted_x");
  CHECK(sc->lb->config == R"({"a":{"c":"d"},"b":[1,2]})");
  auto none = parse_service_config(R"({"loadBalancingConfig": [{"pick_first": {}}]})", o);
  REQUIRE_FALSE(none.ok());
  CHECK(none.error().message == "loadBalancingConfig: names no known policy (saw 'pick_first')");
}

TEST_CASE("service_config: pick_first shuffleAddressList is read and validated") {
  auto sc = parse_ok(R"({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true}}]})");
  REQUIRE(sc->lb);
  CHECK(sc->lb->name == "pick_first");
  CHECK(sc->lb->shuffle_address_list);
  CHECK(sc->lb->config == R"({"shuffleAddressList":true})");
  auto off =
      parse_ok(R"({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": false}}]})");
  CHECK_FALSE(off->lb->shuffle_address_list);
  check_errors({
      {R"({"loadBalancingConfig": [{"pick_first": {"shuffleAddressList": "true"}}]})",
       R"(loadBalancingConfig[0].pick_first.shuffleAddressList: must be a boolean, not "true")"},
  });
}

TEST_CASE("service_config: loadBalancingConfig entries must each name one policy") {
  check_errors({
      {R"({"loadBalancingConfig": {"round_robin": {}}})",
       R"(loadBalancingConfig: must be an array, not {"round_robin":{}})"},
      {R"({"loadBalancingConfig": []})", "loadBalancingConfig: names no policy"},
      {R"({"loadBalancingConfig": [{"a": {}}, {"b": {}}]})",
       "loadBalancingConfig: names no known policy (saw 'a', 'b')"},
      {R"({"loadBalancingConfig": ["round_robin"]})",
       R"(loadBalancingConfig[0]: must be an object naming one policy, not "round_robin")"},
      {R"({"loadBalancingConfig": [{}]})",
       "loadBalancingConfig[0]: must name exactly one policy, not 0 in {}"},
      {R"({"loadBalancingConfig": [{"x": {}}, {"pick_first": {}, "round_robin": {}}]})",
       R"(loadBalancingConfig[1]: must name exactly one policy, not 2 in {"pick_first":{},"round_robin":{}})"},
      {R"({"loadBalancingConfig": [{"round_robin": []}]})",
       "loadBalancingConfig[0].round_robin: must be an object, not []"},
      {R"({"loadBalancingConfig": [{"unknown": 1}, {"round_robin": {}}]})",
       "loadBalancingConfig[0].unknown: must be an object, not 1"},
  });
}

TEST_CASE(
    "service_config: loadBalancingPolicy is the fallback when loadBalancingConfig is absent") {
  auto sc = parse_ok(R"({"loadBalancingPolicy": "ROUND_Robin"})");
  REQUIRE(sc->lb);
  CHECK(sc->lb->name == "round_robin");
  CHECK(sc->lb->config == "{}");
  CHECK_FALSE(sc->lb->shuffle_address_list);
  auto both = parse_ok(R"({"loadBalancingPolicy": "round_robin",
                           "loadBalancingConfig": [{"pick_first": {}}]})");
  CHECK(both->lb->name == "pick_first");
  service_config_parse_options o;
  o.policy_known = [](std::string_view name) { return name == "mine"; };
  CHECK(parse_ok(R"({"loadBalancingPolicy": "MINE"})", o)->lb->name == "mine");
  check_errors({
      {R"({"loadBalancingPolicy": "magic"})", "loadBalancingPolicy: unknown policy 'magic'"},
      {R"({"loadBalancingPolicy": 3})", "loadBalancingPolicy: must be a string, not 3"},
      // Validated even when loadBalancingConfig decides, as gRPC core does.
      {R"({"loadBalancingConfig": [{"pick_first": {}}], "loadBalancingPolicy": "magic"})",
       "loadBalancingPolicy: unknown policy 'magic'"},
  });
}

TEST_CASE("service_config: retryThrottling is validated") {
  auto sc = parse_ok(R"({"retryThrottling": {"maxTokens": 1000, "tokenRatio": 0.0015}})");
  REQUIRE(sc->throttling);
  CHECK(sc->throttling->max_tokens == 1000.0);
  CHECK(sc->throttling->token_ratio == 0.0015);
  check_errors({
      {R"({"retryThrottling": {"maxTokens": 0, "tokenRatio": 1}})",
       "retryThrottling.maxTokens: must be a number in (0, 1000], not 0"},
      {R"({"retryThrottling": {"maxTokens": 1000.5, "tokenRatio": 1}})",
       "retryThrottling.maxTokens: must be a number in (0, 1000], not 1000.5"},
      {R"({"retryThrottling": {"maxTokens": 10, "tokenRatio": 0}})",
       "retryThrottling.tokenRatio: must be a number > 0, not 0"},
      {R"({"retryThrottling": {"maxTokens": 10, "tokenRatio": -0.1}})",
       "retryThrottling.tokenRatio: must be a number > 0, not -0.1"},
      {R"({"retryThrottling": {"tokenRatio": 1}})", "retryThrottling.maxTokens: is required"},
      {R"({"retryThrottling": {"maxTokens": 10}})", "retryThrottling.tokenRatio: is required"},
      {R"({"retryThrottling": true})", "retryThrottling: must be an object, not true"},
  });
}

TEST_CASE("service_config: healthCheckConfig sets the health check service") {
  CHECK(parse_ok(R"({"healthCheckConfig": {"serviceName": "x"}})")->health_check_service == "x");
  CHECK(parse_ok(R"({"healthCheckConfig": {"serviceName": ""}})")->health_check_service == "");
  CHECK(parse_ok(R"({"healthCheckConfig": {}})")->health_check_service == "");
  CHECK_FALSE(parse_ok(R"({"healthCheckConfig": null})")->health_check_service);
  check_errors({
      {R"({"healthCheckConfig": {"serviceName": 5}})",
       "healthCheckConfig.serviceName: must be a string, not 5"},
      {R"({"healthCheckConfig": "x"})", R"(healthCheckConfig: must be an object, not "x")"},
  });
}

TEST_CASE("service_config: the top level must be a JSON object") {
  check_errors({
      {"[]", "service config must be a JSON object, not []"},
      {"\"x\"", R"(service config must be a JSON object, not "x")"},
      {"null", "service config must be a JSON object, not null"},
      {R"([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15, 16, 17, 18, 19, 20])",
       "service config must be a JSON object, not [1,2,3,4,5,6,7,8,9,10,11,12,13,14,15,..."},
  });
}

TEST_CASE("service_config: invalid JSON is INVALID_ARGUMENT with the parser's message") {
  for (std::string text : {"", "{", "{\"a\": }", "{} {}", "{'a': 1}", "{\"a\": \"\xff\"}"}) {
    auto r = parse_service_config(text);
    INFO(text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == status_code::invalid_argument);
    CHECK(r.error().message.rfind("service config is not valid JSON: parse error", 0) == 0);
    CHECK(r.error().message.find("[json.exception") == std::string::npos);
  }
}

TEST_CASE("service_config: nesting deeper than 64 levels is refused") {
  auto nested = [](int depth) {
    return "{\"x\": " + std::string(depth - 1, '[') + std::string(depth - 1, ']') + "}";
  };
  CHECK(parse_service_config(nested(64)).ok());
  CHECK(parse_service_config("{\"x\": " + std::string(63, '[') + "1" + std::string(63, ']') + "}")
            .ok());
  auto r = parse_service_config(nested(65));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == status_code::invalid_argument);
  CHECK(r.error().message == "service config nests deeper than 64 levels");
  auto huge = parse_service_config(std::string(100000, '['));
  CHECK(huge.error().message == "service config nests deeper than 64 levels");
}

TEST_CASE("service_config: long values are cut in messages") {
  auto r = parse_service_config(one_method(R"("waitForReady": ")" + std::string(100, 'y') + "\""));
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().message ==
        "methodConfig[0].waitForReady: must be a boolean, not \"" + std::string(36, 'y') + "...");
  // A cut never splits a UTF-8 sequence.
  std::string euros;
  for (int i = 0; i < 30; ++i)
    euros += "\xe2\x82\xac";
  auto u = parse_service_config(one_method(R"("waitForReady": "a)" + euros + "\""));
  REQUIRE_FALSE(u.ok());
  CHECK(u.error().message ==
        "methodConfig[0].waitForReady: must be a boolean, not \"a" + euros.substr(0, 33) + "...");
}
