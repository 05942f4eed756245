// The dns: resolver with service config from TXT records (gRFC A2) in virtual time with
// a fake lookup: off by default, the TXT name asked with each query (never for
// literals), and what resolver_update carries: the chosen config, the error, or nothing.
#include <doctest/doctest.h>
#include <limits.h>
#include <unistd.h>

#include "actors/resolver/dns_resolver.hpp"
#include "core/resolver/dns_core.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_lookup.hpp"
#include "tests/support/recorders.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

struct txt_fixture : test::actor_fixture {
  test::fake_lookup dns;
  std::shared_ptr<test::balancer_log> log = std::make_shared<test::balancer_log>();
  dns_options opts;
  std::string host = "svc.test";
  resolver_actor resolver;

  txt_fixture() {
    opts.service_config = true;
    opts.client_hostname = "client-1";
    opts.min_resolve_interval = 0s;
  }
  ~txt_fixture() {
    if (resolver)
      caf::anon_send(resolver, resolver_stop{});
    run();
  }
  void start() {
    dns_resolver_config cfg;
    cfg.request = {host, 50051, "127.0.0.1:5353", 700ms, {}};
    cfg.options = opts;
    cfg.seed = 7;
    cfg.lookup = dns.fn();
    resolver = spawn_dns_resolver(sys, cfg, test::spawn_recording_balancer(sys, log));
    run();
  }
  void resolve_now() {
    caf::anon_send(resolver, achan::resolve_now{});
    run();
  }
  void answer(std::vector<std::string> a, std::vector<std::string> txt) {
    dns.answer_txt(std::move(a), std::move(txt));
    run();
  }
  const std::vector<resolver_update>& updates() const { return log->resolutions; }
};

const std::vector<std::string> ab{"127.0.0.2:50051", "127.0.0.3:50051"};
const std::string rr = R"({"loadBalancingPolicy":"round_robin"})";
const std::string pf = R"({"loadBalancingPolicy":"pick_first"})";

std::string record(const std::string& service_config) {
  return R"(grpc_config=[{"serviceConfig":)" + service_config + "}]";
}

}  // namespace

TEST_CASE("dns service config: off by default - no TXT asked and no config sent") {
  txt_fixture f;
  f.opts = {};
  f.start();
  REQUIRE(f.dns.count() == 1);
  CHECK(f.dns.requests()[0].txt_name.empty());
  f.answer(ab, {record(rr)});  // records a lookup would not fetch are ignored too
  REQUIRE(f.updates().size() == 1);
  CHECK(f.updates()[0].addresses == ab);
  CHECK_FALSE(f.updates()[0].service_config);
  CHECK(f.updates()[0].service_config_error.ok());
}

TEST_CASE("dns service config: each query asks for TXT _grpc_config.host and sends the choice") {
  txt_fixture f;
  f.start();
  REQUIRE(f.dns.count() == 1);
  CHECK(f.dns.requests()[0].txt_name == "_grpc_config.svc.test");
  f.answer(ab, {"v=spf1 -all", record(rr)});
  REQUIRE(f.updates().size() == 1);
  CHECK(f.updates()[0].error.ok());
  CHECK(f.updates()[0].addresses == ab);
  CHECK(f.updates()[0].service_config == rr);
  CHECK(f.updates()[0].service_config_error.ok());
  f.resolve_now();
  REQUIRE(f.dns.count() == 2);
  CHECK(f.dns.requests()[1].txt_name == "_grpc_config.svc.test");
}

TEST_CASE("dns service config: IP literals and localhost ask for no TXT") {
  for (auto host : {"10.0.0.1", "::1", "LocalHost"}) {
    CAPTURE(host);
    txt_fixture f;
    f.host = host;
    f.start();
    REQUIRE(f.dns.count() == 1);
    CHECK(f.dns.requests()[0].txt_name.empty());
    f.answer({"10.0.0.1:50051"}, {record(rr)});
    REQUIRE(f.updates().size() == 1);
    CHECK_FALSE(f.updates()[0].service_config);
  }
}

TEST_CASE("dns service config: no TXT config or no choice for this client sends no config") {
  txt_fixture f;
  f.start();
  f.answer(ab, {});
  REQUIRE(f.updates().size() == 1);
  CHECK_FALSE(f.updates()[0].service_config);
  CHECK(f.updates()[0].service_config_error.ok());
  f.resolve_now();
  f.answer(ab, {R"(grpc_config=[{"clientLanguage":["go"],"serviceConfig":{}}])"});
  CHECK(f.updates().size() == 1);  // still no config, same addresses: nothing new
}

TEST_CASE("dns service config: a malformed record sends the addresses with the config error") {
  txt_fixture f;
  f.start();
  f.answer(ab, {R"(grpc_config=[{"serviceConfig":{}, "percent":5}])"});
  REQUIRE(f.updates().size() == 1);
  auto& u = f.updates()[0];
  CHECK(u.error.ok());
  CHECK(u.addresses == ab);
  CHECK_FALSE(u.service_config);
  CHECK(u.service_config_error.code == status_code::invalid_argument);
  CHECK(u.service_config_error.message ==
        "service config in TXT '_grpc_config.svc.test': grpc_config: choices[0]: unknown field "
        "'percent' (a choice has only clientLanguage, percentage, clientHostname and "
        "serviceConfig)");
}

TEST_CASE("dns service config: a failed TXT query sends the addresses with UNAVAILABLE") {
  txt_fixture f;
  f.start();
  f.answer(ab, {record(rr)});
  f.resolve_now();
  f.dns.answer_txt_failed(ab, "DNS TXT lookup of '_grpc_config.svc.test' failed: timed out");
  f.run();
  REQUIRE(f.updates().size() == 2);
  auto& u = f.updates()[1];
  CHECK(u.error.ok());
  CHECK(u.addresses == ab);
  CHECK_FALSE(u.service_config);
  CHECK(u.service_config_error.code == status_code::unavailable);
  CHECK(u.service_config_error.message.find("timed out") != std::string::npos);
  f.advance(1h);  // the addresses came: no error retry
  CHECK(f.dns.count() == 2);
  f.resolve_now();
  f.answer(ab, {record(rr)});  // the config is back: sent again
  REQUIRE(f.updates().size() == 3);
  CHECK(f.updates()[2].service_config == rr);
}

TEST_CASE("dns service config: a changed config with the same addresses is sent") {
  txt_fixture f;
  f.opts.refresh_interval = 10s;
  f.start();
  f.answer(ab, {record(rr)});
  f.advance(10s);
  REQUIRE(f.dns.count() == 2);
  f.answer({ab[1], ab[0]}, {record(rr)});  // same set, same config
  CHECK(f.updates().size() == 1);
  f.advance(10s);
  REQUIRE(f.dns.count() == 3);
  f.answer(ab, {record(pf)});
  REQUIRE(f.updates().size() == 2);
  CHECK(f.updates()[1].addresses == ab);
  CHECK(f.updates()[1].service_config == pf);
  f.advance(10s);
  f.answer(ab, {});  // the record is gone: "no config" is news too
  REQUIRE(f.updates().size() == 3);
  CHECK_FALSE(f.updates()[2].service_config);
  CHECK(f.updates()[2].service_config_error.ok());
}

TEST_CASE("dns service config: an address failure sends the error and no config") {
  txt_fixture f;
  f.start();
  f.dns.fail("DNS lookup of 'svc.test' failed: name not found (NXDOMAIN)");
  f.run();
  REQUIRE(f.updates().size() == 1);
  CHECK(f.updates()[0].error.code == status_code::unavailable);
  CHECK_FALSE(f.updates()[0].service_config);
  CHECK(f.updates()[0].service_config_error.ok());
}

TEST_CASE("dns service config: percentage uses the seeded roll of the resolver") {
  // The resolver's core rolls from cfg.seed (7 in the fixture), once.
  auto roll = dns_core({}, 7).config_roll();
  txt_fixture f;
  f.start();
  auto canary = R"(grpc_config=[{"percentage":)" + std::to_string(roll + 1) +
                R"(,"serviceConfig":{"canary":true}},{"serviceConfig":{"canary":false}}])";
  f.answer(ab, {canary});
  REQUIRE(f.updates().size() == 1);
  CHECK(f.updates()[0].service_config == R"({"canary":true})");
  f.resolve_now();
  auto just_out = R"(grpc_config=[{"percentage":)" + std::to_string(roll) +
                  R"(,"serviceConfig":{"canary":true}},{"serviceConfig":{"canary":false}}])";
  f.answer(ab, {just_out});
  REQUIRE(f.updates().size() == 2);
  CHECK(f.updates()[1].service_config == R"({"canary":false})");
}

TEST_CASE("dns service config: clientHostname defaults to gethostname") {
  char name[HOST_NAME_MAX + 1] = {};
  REQUIRE(::gethostname(name, sizeof name - 1) == 0);
  auto choices = R"(grpc_config=[{"clientHostname":[")" + std::string(name) +
                 R"("],"serviceConfig":{"here":true}},{"serviceConfig":{"here":false}}])";
  txt_fixture with_default;
  with_default.opts.client_hostname.clear();
  with_default.start();
  with_default.answer(ab, {choices});
  REQUIRE(with_default.updates().size() == 1);
  CHECK(with_default.updates()[0].service_config == R"({"here":true})");
  txt_fixture with_option;  // client_hostname = "client-1"
  with_option.start();
  with_option.answer(ab, {choices});
  REQUIRE(with_option.updates().size() == 1);
  CHECK(with_option.updates()[0].service_config == R"({"here":false})");
}

TEST_CASE("dns service config: dns_options validation bounds client_hostname") {
  dns_options o;
  o.service_config = true;
  o.client_hostname = std::string(255, 'h');
  CHECK(validate(o).ok());
  o.client_hostname += 'h';
  CHECK(validate(o).error().message == "dns.client_hostname must be at most 255 characters");
}
