// The proxy's fault decisions and JSON forms, as plain functions.
#include <doctest/doctest.h>

#include "proxy/config_json.hpp"
#include "proxy/faults.hpp"

using namespace achan;
using namespace achan::proxy;

TEST_CASE("proxy faults: decide follows the first matching rule and the seed") {
  std::vector<fault_rule> rules{
      {.method = "/a.S/", .abort_percent = 100},
      {.method = "", .delay_percent = 100, .delay = std::chrono::milliseconds{7}}};
  metadata md;
  auto a = decide(rules, false, "/a.S/M", md, 1, 0);
  REQUIRE(a.abort);
  CHECK(a.abort->code == status_code::unavailable);
  auto d = decide(rules, false, "/b.S/M", md, 1, 0);
  CHECK_FALSE(d.abort);
  CHECK(d.delay == std::chrono::milliseconds{7});
  CHECK(uniform(3, 10, 1) == uniform(3, 10, 1));
  CHECK(uniform(3, 10, 1) != uniform(4, 10, 1));
  int hits = 0;
  std::vector<fault_rule> half{{.abort_percent = 50}};
  for (std::uint64_t n = 0; n < 10000; ++n)
    hits += decide(half, false, "/x/", md, 9, n).abort ? 1 : 0;
  CHECK(hits > 4800);  // mean 5000, sd 50
  CHECK(hits < 5200);
}

TEST_CASE("proxy faults: headers override the rules only when enabled - and are consumed") {
  std::vector<fault_rule> none;
  metadata md{{"x-achan-fault-delay-ms", "25"}, {"keep", "1"}};
  auto off = decide(none, false, "/x/", md, 1, 0);
  CHECK(off.delay.count() == 0);
  CHECK(md.size() == 2);
  auto on = decide(none, true, "/x/", md, 1, 0);
  CHECK(on.delay == std::chrono::milliseconds{25});
  CHECK(md == metadata{{"keep", "1"}});
  metadata bad{{"x-achan-fault-delay-ms", "-1"}};
  auto e = decide(none, true, "/x/", bad, 1, 0);
  REQUIRE(e.error);
  CHECK(e.error->message == "x-achan-fault-delay-ms '-1' is not 0..60000");
}

TEST_CASE("proxy config: route files and rules are checked field by field") {
  auto ok = json::routes_from_json(
      R"({"routes":[{"prefix":"/a.S/","target":"ipv4:127.0.0.1:1","lb":"round_robin",
          "faults":[{"abort_percent":5,"abort_code":"not_found"}]},{"target":"dns:///x:1"}]})");
  REQUIRE(ok.ok());
  REQUIRE(ok->size() == 2);
  CHECK((*ok)[0].name == "/a.S/");
  CHECK((*ok)[0].dial.lb_policy == "round_robin");
  CHECK((*ok)[0].faults[0].abort_code == status_code::not_found);
  CHECK((*ok)[1].name == "default");
  auto msg = [](const char* text) { return json::routes_from_json(text).error().message; };
  CHECK(msg("nope") == "not valid JSON");
  CHECK(msg(R"({"routes":[]})") == "no routes");
  CHECK(msg(R"({"routes":[{"prefix":"/a/"}]})") == "routes[0]: no target");
  CHECK(msg(R"({"routes":[{"target":"x","lb":3}]})") ==
        "routes[0]: field 'lb' has a value of the wrong kind");
  CHECK(msg(R"({"routes":[{"target":"x","faults":[{"abort_code":"NOPE"}]}]})") ==
        "routes[0].faults[0]: fault rule: field 'abort_code' has a value of the wrong kind");
  CHECK(msg(R"({"routes":[{"target":"x","faults":[{"abort_code":0}]}]})") ==
        "routes[0].faults[0]: fault rule: abort code must be a gRPC status code 1..16 (not OK)");
  CHECK(msg(R"({"routes":[{"target":"x","faults":[{"method":"a.S/"}]}]})")
            .find("method must start with '/'") != std::string::npos);
  auto round =
      json::fault_from_json(json::to_json(fault_rule{.method = "/m/", .delay_percent = 3}));
  REQUIRE(round.ok());
  CHECK(round->delay_percent == 3);
  CHECK(round->method == "/m/");
}
