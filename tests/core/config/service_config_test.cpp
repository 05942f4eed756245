#include <achan/service_config.hpp>

#include <doctest/doctest.h>

#include <chrono>
#include <cstdint>
#include <limits>
#include <string>
#include <vector>

using namespace achan;
using namespace std::chrono_literals;

namespace {

service_config_ptr parse_ok(const std::string& text, const service_config_parse_options& o = {}) {
  auto r = parse_service_config(text, o);
  INFO(text);
  INFO(r.error().message);
  REQUIRE(r.ok());
  return *r;
}

// A config with one methodConfig entry for service "s" holding `fields`.
std::string one_method(const std::string& fields) {
  return R"({"methodConfig": [{"name": [{"service": "s"}], )" + fields + "}]}";
}

std::string retry_with(const std::string& fields) {
  return one_method(R"("retryPolicy": {)" + fields + "}");
}

const std::string good_retry_fields =
    R"("initialBackoff": "0.1s", "maxBackoff": "1s", "backoffMultiplier": 2,)"
    R"( "retryableStatusCodes": ["UNAVAILABLE"])";

const method_config& only_method(const service_config& sc) {
  REQUIRE(sc.methods.size() == 1);
  return sc.methods[0];
}

struct error_case {
  std::string text;
  std::string message;  // the whole expected message
};

void check_errors(const std::vector<error_case>& cases) {
  for (const auto& c : cases) {
    auto r = parse_service_config(c.text);
    INFO(c.text);
    REQUIRE_FALSE(r.ok());
    CHECK(r.error().code == status_code::invalid_argument);
    CHECK(r.error().message == c.message);
  }
}

}  // namespace

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
