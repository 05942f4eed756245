// dns_core with service config (gRFC A2), as plain calls: what finish_query sends for
// the TXT part of an answer, the dedupe that also compares the config, and the one
// seeded percentage roll.
#include <doctest/doctest.h>

#include <algorithm>

#include "core/resolver/dns_core.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

const std::string txt_name = "_grpc_config.svc.test";
const std::vector<std::string> ab{"127.0.0.2:50051", "127.0.0.3:50051"};

dns::lookup_result answer(std::vector<std::string> addresses, std::vector<std::string> txt) {
  dns::lookup_result r;
  r.addresses = std::move(addresses);
  r.txt = std::move(txt);
  return r;
}

std::string config(const std::string& service_config) {
  return R"(grpc_config=[{"serviceConfig":)" + service_config + "}]";
}

/// Runs one query answered with `r` and returns what finish_query gave.
std::optional<dns_outcome> query(dns_core& core, const dns::lookup_result& r) {
  auto now = time_point{} + std::chrono::hours(core.queries());
  core.start(now);
  auto seq = core.begin_query(now);
  return core.finish_query(seq, now, r);
}

}  // namespace

TEST_CASE("dns core: the TXT answer's chosen config goes out with the addresses") {
  dns_core core{{}, 1, txt_name};
  auto out = query(core, answer(ab, {"v=spf1", config(R"({"a":1})")}));
  REQUIRE(out);
  CHECK(out->error.ok());
  CHECK(out->addresses == ab);
  CHECK(out->service_config == R"({"a":1})");
  CHECK(out->service_config_error.ok());
}

TEST_CASE("dns core: without a TXT name the records are not looked at") {
  dns_core core{{}, 1};
  auto out = query(core, answer(ab, {config(R"({"a":1})")}));
  REQUIRE(out);
  CHECK_FALSE(out->service_config);
  CHECK(out->service_config_error.ok());
}

TEST_CASE("dns core: a bad record is an INVALID_ARGUMENT config error naming the TXT name") {
  dns_core core{{}, 1, txt_name};
  auto out = query(core, answer(ab, {"grpc_config={}"}));
  REQUIRE(out);
  CHECK(out->addresses == ab);
  CHECK_FALSE(out->service_config);
  CHECK(out->service_config_error.code == status_code::invalid_argument);
  CHECK(out->service_config_error.message ==
        "service config in TXT '_grpc_config.svc.test': grpc_config: the value must be a "
        "JSON array of service config choices, got an object");
}

TEST_CASE("dns core: a failed TXT query keeps the addresses and sends UNAVAILABLE for the config") {
  dns_options opts;
  opts.retry_backoff.jitter = 0;
  dns_core core{opts, 1, txt_name};
  auto r = answer(ab, {});
  r.txt_error = dns::lookup_error::timeout;
  r.txt_message = "DNS TXT lookup of '_grpc_config.svc.test' failed: timed out after 5000 ms";
  auto out = query(core, r);
  REQUIRE(out);
  CHECK(out->error.ok());
  CHECK(out->addresses == ab);
  CHECK(out->service_config_error.code == status_code::unavailable);
  CHECK(out->service_config_error.message == r.txt_message);
  // The addresses came: that is a success, no retry is scheduled.
  CHECK_FALSE(core.next_wakeup());
}

TEST_CASE("dns core: an address failure sends only the error") {
  dns_core core{{}, 1, txt_name};
  auto r = answer({}, {config("{}")});
  r.error = dns::lookup_error::not_found;
  r.message = "NXDOMAIN";
  auto out = query(core, r);
  REQUIRE(out);
  CHECK(out->error.code == status_code::unavailable);
  CHECK(out->addresses.empty());
  CHECK_FALSE(out->service_config);
  CHECK(out->service_config_error.ok());
}

TEST_CASE("dns core: dedupe compares the config as well as the address set") {
  dns_core core{{}, 1, txt_name};
  REQUIRE(query(core, answer(ab, {config(R"({"a":1})")})));
  CHECK_FALSE(query(core, answer({ab[1], ab[0]}, {config(R"({"a":1})")})));  // same
  auto changed = query(core, answer(ab, {config(R"({"a":2})")}));
  REQUIRE(changed);
  CHECK(changed->service_config == R"({"a":2})");
  auto removed = query(core, answer(ab, {}));
  REQUIRE(removed);
  CHECK_FALSE(removed->service_config);
  CHECK_FALSE(query(core, answer(ab, {"unrelated=1"})));  // still no config
  auto bad = query(core, answer(ab, {"grpc_config=["}));
  REQUIRE(bad);
  CHECK_FALSE(bad->service_config_error.ok());
  CHECK_FALSE(query(core, answer(ab, {"grpc_config=["})));  // the same error again
  auto other_error = query(core, answer(ab, {"grpc_config=1"}));
  REQUIRE(other_error);
  CHECK(other_error->service_config_error.message.find("got a number") != std::string::npos);
  auto back = query(core, answer(ab, {config(R"({"a":1})")}));
  REQUIRE(back);
  CHECK(back->service_config == R"({"a":1})");
}

TEST_CASE("dns core: the percentage roll is fixed by the seed and spread over 0 to 99") {
  CHECK(dns_core({}, 42).config_roll() == dns_core({}, 42).config_roll());
  int below_ten = 0;
  std::vector<bool> seen(100);
  for (std::uint64_t seed = 0; seed < 10000; ++seed) {
    auto roll = dns_core({}, seed).config_roll();
    REQUIRE(roll < 100);
    seen[roll] = true;
    below_ten += roll < 10;
  }
  CHECK(std::count(seen.begin(), seen.end(), true) == 100);
  CHECK(below_ten > 850);  // ~1000 expected; a 10 % canary reaches ~10 % of clients
  CHECK(below_ten < 1150);
}

TEST_CASE("dns core: one roll serves every re-resolution of a resolver") {
  // The canary choice is taken by the same clients on every answer.
  for (std::uint64_t seed : {1u, 2u, 3u, 4u, 5u}) {
    dns_core core{{}, seed, txt_name};
    auto record = R"(grpc_config=[{"percentage":50,"serviceConfig":{"canary":1}},)"
                  R"({"serviceConfig":{"canary":0}}])";
    auto expected = core.config_roll() < 50 ? R"({"canary":1})" : R"({"canary":0})";
    auto first = query(core, answer(ab, {record}));
    REQUIRE(first);
    CHECK(first->service_config == expected);
    for (int i = 0; i < 5; ++i)
      CHECK_FALSE(query(core, answer(ab, {record})));  // unchanged: same choice each time
  }
}

TEST_CASE("dns core: clientHostname matches the configured host name") {
  dns_options opts;
  opts.client_hostname = "client-7";
  dns_core core{opts, 1, txt_name};
  auto out = query(core, answer(ab, {R"(grpc_config=[{"clientHostname":["client-7"],)"
                                     R"("serviceConfig":{"mine":1}},{"serviceConfig":{}}])"}));
  REQUIRE(out);
  CHECK(out->service_config == R"({"mine":1})");
}
