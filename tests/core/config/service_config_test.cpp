// The service config parser (core/config/service_config_json.cpp): top level, balancer choice,
// method names, per-method fields.
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

TEST_CASE("service_config: the header example parses into every field") {
  auto sc = parse_ok(R"({"methodConfig": [{
      "name": [{"service": "echo.Echo"}],
      "timeout": "0.5s",
      "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
                      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
  const auto& m = only_method(*sc);
  CHECK(m.timeout == 500ms);
  REQUIRE(m.retry);
  CHECK(m.retry->max_attempts == 3);
  CHECK(m.retry->initial_backoff == 100ms);
  CHECK(m.retry->max_backoff == 1s);
  CHECK(m.retry->backoff_multiplier == 2.0);
  CHECK(m.retry->retryable(status_code::unavailable));
  CHECK_FALSE(m.retry->retryable(status_code::internal));
  CHECK_FALSE(m.hedging);
  CHECK_FALSE(m.wait_for_ready);
  CHECK_FALSE(m.max_request_message_bytes);
  CHECK(sc->by_service.count("echo.Echo") == 1);
  CHECK(sc->find("/echo.Echo/Echo") == &m);
}

TEST_CASE("service_config: a full config sets every field") {
  std::string text = R"({
    "loadBalancingConfig": [{"round_robin": {}}],
    "methodConfig": [
      {"name": [{"service": "a.A", "method": "Get"}, {"service": "a.B"}],
       "waitForReady": true, "timeout": "1.000340012s",
       "maxRequestMessageBytes": 1024, "maxResponseMessageBytes": "2048",
       "hedgingPolicy": {"maxAttempts": 4, "hedgingDelay": "0.25s",
                         "nonFatalStatusCodes": ["UNAVAILABLE", 10]}},
      {"name": [{}], "waitForReady": false}],
    "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1},
    "healthCheckConfig": {"serviceName": "health.me"}})";
  auto sc = parse_ok(text);
  REQUIRE(sc->lb);
  CHECK(sc->lb->name == "round_robin");
  CHECK(sc->lb->config == "{}");
  REQUIRE(sc->methods.size() == 2);
  const auto& m = sc->methods[0];
  CHECK(m.wait_for_ready == true);
  CHECK(m.timeout == 1s + 340012ns);
  CHECK(m.max_request_message_bytes == 1024u);
  CHECK(m.max_response_message_bytes == 2048u);
  REQUIRE(m.hedging);
  CHECK(m.hedging->max_attempts == 4);
  CHECK(m.hedging->hedging_delay == 250ms);
  CHECK(m.hedging->non_fatal_status_codes ==
        std::vector<status_code>{status_code::unavailable, status_code::aborted});
  CHECK(m.hedging->non_fatal(status_code::aborted));
  CHECK_FALSE(m.retry);
  CHECK(sc->by_method.at("a.A/Get") == 0);
  CHECK(sc->by_service.at("a.B") == 0);
  CHECK(sc->default_method == 1u);
  CHECK(sc->methods[1].wait_for_ready == false);
  REQUIRE(sc->throttling);
  CHECK(sc->throttling->max_tokens == 10.0);
  CHECK(sc->throttling->token_ratio == 0.1);
  CHECK(sc->health_check_service == "health.me");
  CHECK(sc->json == text);
}

TEST_CASE("service_config: an empty object leaves everything unset") {
  auto sc = parse_ok("{}");
  CHECK_FALSE(sc->lb);
  CHECK(sc->methods.empty());
  CHECK(sc->by_method.empty());
  CHECK(sc->by_service.empty());
  CHECK_FALSE(sc->default_method);
  CHECK_FALSE(sc->throttling);
  CHECK_FALSE(sc->health_check_service);
  CHECK(sc->json == "{}");
  CHECK(sc->find("/a/b") == nullptr);
}

TEST_CASE("service_config: unknown fields and null values are ignored everywhere") {
  auto sc = parse_ok(R"({"future": [1, {"x": 2}], "loadBalancingPolicy": null,
    "loadBalancingConfig": [{"pick_first": {"shuffleAddressList": true, "later": 1}}],
    "methodConfig": [{"name": [{"service": "s", "extra": "x"}], "someday": {}, "timeout": null,
      "retryPolicy": {"maxAttempts": 2, "initialBackoff": "1s", "maxBackoff": "1s",
        "backoffMultiplier": 1.5, "retryableStatusCodes": [14], "perAttemptRecvTimeout": "1s"}}],
    "retryThrottling": {"maxTokens": 1, "tokenRatio": 1, "more": true},
    "healthCheckConfig": {"other": 1}})");
  const auto& m = only_method(*sc);
  CHECK_FALSE(m.timeout);
  REQUIRE(m.retry);
  CHECK(m.retry->retryable_status_codes == std::vector<status_code>{status_code::unavailable});
  CHECK(sc->health_check_service == "");
  REQUIRE(sc->lb);
  CHECK(sc->lb->shuffle_address_list);
}

TEST_CASE("service_config: find matches the exact method then the service then the default") {
  auto sc = parse_ok(R"({"methodConfig": [
      {"name": [{"service": "svc", "method": "m"}], "timeout": "1s"},
      {"name": [{"service": "svc"}], "timeout": "2s"},
      {"name": [{}], "timeout": "3s"},
      {"name": [{"service": "other", "method": ""}], "timeout": "4s"}]})");
  REQUIRE(sc->methods.size() == 4);
  auto timeout_of = [&](std::string_view path) {
    auto* m = sc->find(path);
    REQUIRE(m != nullptr);
    return *m->timeout;
  };
  CHECK(timeout_of("/svc/m") == 1s);
  CHECK(timeout_of("svc/m") == 1s);
  CHECK(timeout_of("/svc/n") == 2s);
  CHECK(timeout_of("svc/n") == 2s);
  CHECK(timeout_of("/else/m") == 3s);
  CHECK(timeout_of("/other/x") == 4s);
  CHECK(timeout_of("") == 3s);
  auto no_default = parse_ok(R"({"methodConfig": [{"name": [{"service": "svc"}]}]})");
  CHECK(no_default->find("/svc/m") != nullptr);
  CHECK(no_default->find("/else/m") == nullptr);
}

TEST_CASE("service_config: the default name may be given as empty strings") {
  auto sc = parse_ok(R"({"methodConfig": [{"name": [{"service": "", "method": ""}]}]})");
  CHECK(sc->default_method == 0u);
  CHECK(sc->by_service.empty());
}

TEST_CASE("service_config: methodConfig entries without names are validated but not stored") {
  auto sc = parse_ok(R"({"methodConfig": [{"timeout": "1s"}, {"name": [], "timeout": "2s"},
                                          {"name": [{"service": "s"}], "timeout": "3s"}]})");
  const auto& m = only_method(*sc);
  CHECK(m.timeout == 3s);
  CHECK(sc->by_service.at("s") == 0);
  auto bad = parse_service_config(R"({"methodConfig": [{"timeout": "-1s"}]})");
  REQUIRE_FALSE(bad.ok());
  CHECK(bad.error().message == R"(methodConfig[0].timeout: must be a duration >= 0, not "-1s")");
}

TEST_CASE("service_config: durations follow protobuf's JSON form") {
  struct duration_case {
    std::string text;
    clock_duration want;
  };
  std::vector<duration_case> cases = {
      {"1s", 1s},
      {"0s", 0s},
      {"0.25s", 250ms},
      {"1.000340012s", 1s + 340012ns},
      {"0.000000001s", 1ns},
      {"10.5s", 10500ms},
      {"1.s", 1s},
      {".5s", 500ms},
      {"-0s", 0s},
      {"315576000000s", clock_duration::max()},  // beyond ~292 years saturates
  };
  for (const auto& c : cases) {
    auto sc = parse_ok(one_method(R"("timeout": ")" + c.text + "\""));
    INFO(c.text);
    CHECK(only_method(*sc).timeout == c.want);
  }
  std::vector<std::string> bad = {"1",   "s",    ".s",   "1.5",   "1m", "1.2.3s", "+1s", " 1s",
                                  "1 s", "1e3s", "0x1s", "1.5ss", "",   "-s",     "1,5s"};
  for (const auto& b : bad) {
    auto r = parse_service_config(one_method(R"("timeout": ")" + b + "\""));
    INFO(b);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().message ==
          "methodConfig[0].timeout: must be a duration like \"1.5s\", not \"" + b + "\"");
  }
  check_errors({
      {one_method(R"("timeout": 1)"),
       R"(methodConfig[0].timeout: must be a duration like "1.5s", not 1)"},
      {one_method(R"("timeout": "-1.5s")"),
       R"(methodConfig[0].timeout: must be a duration >= 0, not "-1.5s")"},
      {one_method(R"("timeout": "1.0000000001s")"),
       R"(methodConfig[0].timeout: must be a duration with at most 9 fractional digits, not "1.0000000001s")"},
      {one_method(R"("timeout": "315576000001s")"),
       R"(methodConfig[0].timeout: is out of range (at most 315576000000s), not "315576000001s")"},
      {one_method(R"("timeout": "99999999999999999999999s")"),
       R"(methodConfig[0].timeout: is out of range (at most 315576000000s), not "99999999999999999999999s")"},
  });
}

TEST_CASE("service_config: message sizes take numbers and digit strings and cap at SIZE_MAX") {
  auto size_of = [](const std::string& v) {
    auto sc = parse_ok(one_method(R"("maxRequestMessageBytes": )" + v));
    return *only_method(*sc).max_request_message_bytes;
  };
  constexpr auto max = std::numeric_limits<std::size_t>::max();
  CHECK(size_of("0") == 0u);
  CHECK(size_of("4194304") == 4194304u);
  CHECK(size_of(R"("4194304")") == 4194304u);
  CHECK(size_of("4096.0") == 4096u);
  CHECK(size_of("18446744073709551615") == max);
  CHECK(size_of(R"("99999999999999999999999")") == max);
  CHECK(size_of("1e30") == max);
  check_errors({
      {one_method(R"("maxRequestMessageBytes": -1)"),
       "methodConfig[0].maxRequestMessageBytes: must be a non-negative integer, not -1"},
      {one_method(R"("maxResponseMessageBytes": "-5")"),
       R"(methodConfig[0].maxResponseMessageBytes: must be a non-negative integer, not "-5")"},
      {one_method(R"("maxResponseMessageBytes": 1.5)"),
       "methodConfig[0].maxResponseMessageBytes: must be a non-negative integer, not 1.5"},
      {one_method(R"("maxResponseMessageBytes": "12k")"),
       R"(methodConfig[0].maxResponseMessageBytes: must be a non-negative integer, not "12k")"},
      {one_method(R"("maxResponseMessageBytes": "")"),
       R"(methodConfig[0].maxResponseMessageBytes: must be a non-negative integer, not "")"},
      {one_method(R"("maxRequestMessageBytes": true)"),
       "methodConfig[0].maxRequestMessageBytes: must be a non-negative integer, not true"},
  });
}

TEST_CASE("service_config: maxAttempts above the cap is clamped to it") {
  auto attempts = [](const std::string& v, int cap) {
    service_config_parse_options o;
    o.max_attempts_cap = cap;
    auto sc = parse_ok(retry_with(R"("maxAttempts": )" + v + ", " + good_retry_fields), o);
    return only_method(*sc).retry->max_attempts;
  };
  CHECK(attempts("2", 5) == 2);
  CHECK(attempts("5", 5) == 5);
  CHECK(attempts("6", 5) == 5);
  CHECK(attempts("1000000000000", 5) == 5);
  CHECK(attempts(R"("3")", 5) == 3);
  CHECK(attempts("3.0", 5) == 3);
  CHECK(attempts("10", 8) == 8);
  CHECK(attempts("3", 1) == 1);  // a cap below 2 turns retries off
  service_config_parse_options o;
  o.max_attempts_cap = 3;
  auto sc = parse_ok(one_method(R"("hedgingPolicy": {"maxAttempts": 7})"), o);
  CHECK(only_method(*sc).hedging->max_attempts == 3);
}

TEST_CASE("service_config: retryPolicy maxAttempts below 2 is rejected") {
  check_errors({
      {retry_with(R"("maxAttempts": 1, )" + good_retry_fields),
       "methodConfig[0].retryPolicy.maxAttempts: must be an integer >= 2, not 1"},
      {retry_with(R"("maxAttempts": 0, )" + good_retry_fields),
       "methodConfig[0].retryPolicy.maxAttempts: must be an integer >= 2, not 0"},
      {retry_with(R"("maxAttempts": -3, )" + good_retry_fields),
       "methodConfig[0].retryPolicy.maxAttempts: must be an integer >= 2, not -3"},
      {retry_with(R"("maxAttempts": 2.5, )" + good_retry_fields),
       "methodConfig[0].retryPolicy.maxAttempts: must be an integer >= 2, not 2.5"},
      {retry_with(R"("maxAttempts": "two", )" + good_retry_fields),
       R"(methodConfig[0].retryPolicy.maxAttempts: must be an integer >= 2, not "two")"},
      {retry_with(good_retry_fields), "methodConfig[0].retryPolicy.maxAttempts: is required"},
  });
}

TEST_CASE("service_config: retryPolicy fields are required and validated") {
  const std::string ma = R"("maxAttempts": 3, )";
  check_errors({
      {retry_with(ma +
                  R"("maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": [14])"),
       "methodConfig[0].retryPolicy.initialBackoff: is required"},
      {retry_with(
           ma + R"("initialBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": [14])"),
       "methodConfig[0].retryPolicy.maxBackoff: is required"},
      {retry_with(ma +
                  R"("initialBackoff": "1s", "maxBackoff": "1s", "retryableStatusCodes": [14])"),
       "methodConfig[0].retryPolicy.backoffMultiplier: is required"},
      {retry_with(ma + R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2)"),
       "methodConfig[0].retryPolicy.retryableStatusCodes: is required"},
      {retry_with(
           ma +
           R"("initialBackoff": "0s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": [14])"),
       R"(methodConfig[0].retryPolicy.initialBackoff: must be a duration > 0, not "0s")"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "0.0s", "backoffMultiplier": 2, "retryableStatusCodes": [14])"),
       R"(methodConfig[0].retryPolicy.maxBackoff: must be a duration > 0, not "0.0s")"},
      {retry_with(
           ma +
           R"("initialBackoff": "-1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": [14])"),
       R"(methodConfig[0].retryPolicy.initialBackoff: must be a duration >= 0, not "-1s")"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 0, "retryableStatusCodes": [14])"),
       "methodConfig[0].retryPolicy.backoffMultiplier: must be a number > 0, not 0"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": -1.5, "retryableStatusCodes": [14])"),
       "methodConfig[0].retryPolicy.backoffMultiplier: must be a number > 0, not -1.5"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": "x", "retryableStatusCodes": [14])"),
       R"(methodConfig[0].retryPolicy.backoffMultiplier: must be a number > 0, not "x")"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": "inf", "retryableStatusCodes": [14])"),
       R"(methodConfig[0].retryPolicy.backoffMultiplier: must be a number > 0, not "inf")"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": [])"),
       "methodConfig[0].retryPolicy.retryableStatusCodes: must not be empty"},
      {retry_with(
           ma +
           R"("initialBackoff": "1s", "maxBackoff": "1s", "backoffMultiplier": 2, "retryableStatusCodes": "UNAVAILABLE")"),
       R"(methodConfig[0].retryPolicy.retryableStatusCodes: must be an array, not "UNAVAILABLE")"},
      {one_method(R"("retryPolicy": [])"),
       "methodConfig[0].retryPolicy: must be an object, not []"},
  });
  auto sc = parse_ok(retry_with(ma + R"("initialBackoff": "1s", "maxBackoff": "1s",
      "backoffMultiplier": "1.5", "retryableStatusCodes": [14])"));
  CHECK(only_method(*sc).retry->backoff_multiplier == 1.5);
}
