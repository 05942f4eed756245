// A whole channel on the dns: resolver (fake lookups, simulated transport, virtual
// time): DNS errors reach calls only when there is no list, a lost backend asks DNS
// again, and dial() checks the dns options and the DNS server.
#include <doctest/doctest.h>

#include <map>

#include <achan/channel.hpp>
#include "actors/resolver/dns_resolver.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_lookup.hpp"
#include "tests/support/recorders.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;

namespace {

struct dns_channel_fixture : test::actor_fixture {
  test::fake_lookup dns;
  dial_options opts;
  std::vector<call_result> results;
  std::optional<channel> ch;

  dns_channel_fixture() {
    opts.transport = sim;
    opts.seed = 1;
    opts.dns.retry_backoff.jitter = 0;
  }
  ~dns_channel_fixture() {
    if (ch)
      ch->close();
    run();
  }

  /// Dials svc.test with `balancer` and leaves IDLE (the first lookup starts).
  void dial(std::string balancer) {
    opts.lb_policy = std::move(balancer);
    opts.resolvers.push_back(make_dns_builder(opts.dns, dns.fn()));
    auto c = achan::dial(sys, "dns:///svc.test:1", opts);
    REQUIRE(c);
    ch = *c;
    ch->connect();
    run();
  }
  void call() {
    ch->call("/echo.Echo/Unary", "hi", {},
             [this](call_result&& r) { results.push_back(std::move(r)); });
    run();
  }
  std::map<std::string, int> per_peer() const { return test::ok_per_peer(results); }
};

}  // namespace

TEST_CASE("dns channel: with no list a DNS error fails calls with the DNS message") {
  for (auto policy : {"pick_first", "round_robin"}) {
    CAPTURE(policy);
    dns_channel_fixture f;
    f.dial(policy);
    REQUIRE(f.dns.count() == 1);
    f.dns.fail("DNS lookup of 'svc.test' failed: name not found (NXDOMAIN) [server x]");
    f.run();
    CHECK(f.ch->state() == cs::transient_failure);
    f.call();
    REQUIRE(f.results.size() == 1);
    CHECK(f.results[0].status.code == status_code::unavailable);
    CHECK(f.results[0].status.message.find("name not found (NXDOMAIN)") != std::string::npos);
  }
}

TEST_CASE("dns channel: after a good list DNS errors change nothing downstream") {
  for (auto policy : {"pick_first", "round_robin"}) {
    CAPTURE(policy);
    dns_channel_fixture f;
    f.opts.dns.refresh_interval = 10s;
    f.dial(policy);
    f.dns.answer({"10.0.0.1:1", "10.0.0.2:1"});
    f.run();
    REQUIRE(f.ch->state() == cs::ready);
    f.advance(10s);
    REQUIRE(f.dns.count() == 2);
    f.dns.fail("DNS lookup of 'svc.test' failed: could not contact the DNS server");
    f.run();
    CHECK(f.ch->state() == cs::ready);
    f.call();
    REQUIRE(f.results.size() == 1);
    CHECK(f.results[0].status.ok());
  }
}

TEST_CASE("dns channel: a lost backend asks DNS again and the new list is used") {
  dns_channel_fixture f;
  f.opts.dns.min_resolve_interval = 5s;
  f.dial("round_robin");
  f.dns.answer({"10.0.0.1:1", "10.0.0.2:1"});
  f.run();
  REQUIRE(f.ch->state() == cs::ready);
  f.advance(10s);
  CHECK(f.dns.count() == 1);
  f.sim->drop("10.0.0.2:1");
  f.run();
  REQUIRE(f.dns.count() == 2);  // the window (5 s since the first query) has passed
  f.dns.answer({"10.0.0.1:1", "10.0.0.3:1"});
  f.run();
  for (int i = 0; i < 10; ++i)
    f.call();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.1:1", 5}, {"10.0.0.3:1", 5}});
}

TEST_CASE("dns channel: dial rejects bad dns options and a DNS server that is not an IP") {
  test::actor_fixture f;
  auto dial_error = [&](std::string_view target, dial_options o) {
    o.transport = f.sim;
    auto ch = achan::dial(f.sys, target, o);
    return ch ? std::string{} : to_string_with_message(ch.error());
  };
  dial_options neg;
  neg.dns.min_resolve_interval = -1s;
  CHECK(dial_error("svc.test:1", neg) ==
        "invalid_option: dns.min_resolve_interval must not be negative");
  dial_options refresh;
  refresh.dns.refresh_interval = -1ms;
  CHECK(dial_error("svc.test:1", refresh) ==
        "invalid_option: dns.refresh_interval must not be negative");
  dial_options timeout;
  timeout.dns.query_timeout = 0s;
  CHECK(dial_error("svc.test:1", timeout) == "invalid_option: dns.query_timeout must be > 0");
  dial_options backoff;
  backoff.dns.retry_backoff.multiplier = 0.5;
  CHECK(dial_error("svc.test:1", backoff).find("invalid_option: dns.retry_backoff") == 0);
  CHECK(dial_error("dns://resolver.local/svc.test:1", {})
            .find("invalid_target: invalid DNS server 'resolver.local'") == 0);
  for (auto ok : {"dns://127.0.0.1:5353/svc.test:1", "dns://[::1]/svc.test", "dns:svc.test",
                  "svc.test", "[::1]:50051"})
    CHECK_MESSAGE(dial_error(ok, {}).empty(), ok);
}

namespace {

/// When the first `n` lookups of a channel seeded with `seed` start (relative to the
/// first), if every lookup fails: the retry schedule, jitter included.
std::vector<clock_duration> dns_retry_schedule(std::uint64_t seed, std::size_t n) {
  dns_channel_fixture f;
  f.opts.seed = seed;
  f.opts.dns.retry_backoff.jitter = 0.2;
  f.dial("pick_first");
  auto start = f.now();
  std::vector<clock_duration> at;
  while (at.size() < n) {
    REQUIRE(f.dns.count() == at.size() + 1);
    at.push_back(f.now() - start);
    f.dns.fail("DNS lookup of 'svc.test' failed: name not found (NXDOMAIN)");
    f.run();
    while (f.dns.count() == at.size()) {  // step timers one at a time to the next lookup
      REQUIRE(!f.clock().schedule().empty());
      f.clock().trigger_timeout();
      f.run();
    }
  }
  return at;
}

}  // namespace

TEST_CASE("dns channel: the DNS retry jitter comes from the channel seed") {
  auto a = dns_retry_schedule(7, 6);
  CHECK(a == dns_retry_schedule(7, 6));
  CHECK(a != dns_retry_schedule(8, 6));
  // The schedule is jittered at all: the third retry is not exactly 1 s x 1.6 x 1.6.
  CHECK(a[3] - a[2] != std::chrono::nanoseconds(2'560'000'000));
}
