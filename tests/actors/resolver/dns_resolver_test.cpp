// The dns: resolver in virtual time with a fake lookup: when it queries (start,
// resolve_now rate limit, refresh interval, TTL floor, error retries) and what it sends
// the balancer (answers, deduped; errors).
#include <doctest/doctest.h>

#include "actors/resolver/dns_resolver.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/fake_lookup.hpp"
#include "tests/support/recorders.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

struct dns_fixture : test::actor_fixture {
  test::fake_lookup dns;
  std::shared_ptr<test::balancer_log> log = std::make_shared<test::balancer_log>();
  dns_options opts;
  resolver_actor resolver;

  dns_fixture() {
    opts.retry_backoff.jitter = 0;
    opts.retry_backoff.initial = 1s;
    opts.retry_backoff.multiplier = 2;
  }
  ~dns_fixture() {
    if (resolver)
      caf::anon_send(resolver, resolver_stop{});
    run();
  }
  void start() {
    dns_resolver_config cfg;
    cfg.request = {"svc.test", 50051, "127.0.0.1:5353", 700ms, {}};
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
  void answer(std::vector<std::string> a, std::optional<std::chrono::seconds> ttl = {}) {
    dns.answer(std::move(a), ttl);
    run();
  }
  void fail(std::string message) {
    dns.fail(std::move(message));
    run();
  }
  const std::vector<resolver_update>& updates() const { return log->resolutions; }
};

const std::vector<std::string> ab{"127.0.0.2:50051", "127.0.0.3:50051"};

}  // namespace

TEST_CASE("dns resolver: queries once at start and sends the answer") {
  dns_fixture f;
  f.start();
  REQUIRE(f.dns.count() == 1);
  CHECK(f.dns.requests()[0].host == "svc.test");
  CHECK(f.dns.requests()[0].port == 50051);
  CHECK(f.dns.requests()[0].server == "127.0.0.1:5353");
  CHECK(f.dns.requests()[0].timeout == 700ms);
  CHECK(f.updates().empty());
  f.answer(ab);
  REQUIRE(f.updates().size() == 1);
  CHECK(f.updates()[0].error.ok());
  CHECK(f.updates()[0].addresses == ab);
  f.advance(1h);  // no refresh configured: nothing more
  CHECK(f.dns.count() == 1);
}

TEST_CASE("dns resolver: two resolve_now within the window make one query at the window end") {
  dns_fixture f;
  f.opts.min_resolve_interval = 30s;
  f.start();
  f.answer(ab);
  f.advance(5s);
  f.resolve_now();
  f.advance(10s);
  f.resolve_now();
  CHECK(f.dns.count() == 1);
  f.advance(15s - 1ms);  // 29.999 s after the first query started
  CHECK(f.dns.count() == 1);
  f.advance(1ms);
  CHECK(f.dns.count() == 2);
  f.answer(ab);
  f.advance(10min);
  CHECK(f.dns.count() == 2);
  // Outside any window a request queries at once.
  f.resolve_now();
  CHECK(f.dns.count() == 3);
}

TEST_CASE("dns resolver: resolve_now during a query waits for the answer and the window") {
  dns_fixture f;
  f.opts.min_resolve_interval = 2s;
  f.start();
  f.resolve_now();
  f.resolve_now();
  f.advance(3s);  // window over, but the first query is still in flight
  CHECK(f.dns.count() == 1);
  f.answer(ab);
  CHECK(f.dns.count() == 2);  // the merged request, at once: the window has passed
  f.answer(ab);
  f.advance(1min);
  CHECK(f.dns.count() == 2);
}

TEST_CASE("dns resolver: refresh_interval re-queries and the new address is sent") {
  dns_fixture f;
  f.opts.refresh_interval = 10s;
  f.start();
  f.advance(3s);
  f.answer({"127.0.0.2:50051"});  // the interval runs from the answer
  f.advance(10s - 1ms);
  CHECK(f.dns.count() == 1);
  f.advance(1ms);
  REQUIRE(f.dns.count() == 2);
  f.answer(ab);
  REQUIRE(f.updates().size() == 2);
  CHECK(f.updates()[1].addresses == ab);
  f.advance(10s);
  CHECK(f.dns.count() == 3);
}

TEST_CASE("dns resolver: honor_ttl refreshes at the TTL but never before the floor") {
  dns_fixture f;
  f.opts.honor_ttl = true;
  f.opts.ttl_floor = 30s;
  f.start();
  f.answer(ab, 5s);  // below the floor
  f.advance(30s - 1ms);
  CHECK(f.dns.count() == 1);
  f.advance(1ms);
  REQUIRE(f.dns.count() == 2);
  f.answer(ab, 100s);  // above the floor
  f.advance(100s - 1ms);
  CHECK(f.dns.count() == 2);
  f.advance(1ms);
  REQUIRE(f.dns.count() == 3);
  f.answer(ab);  // no TTL known (a literal): no refresh
  f.advance(1h);
  CHECK(f.dns.count() == 3);
}

TEST_CASE("dns resolver: without honor_ttl the TTL is ignored") {
  dns_fixture f;
  f.start();
  f.answer(ab, 5s);
  f.advance(1h);
  CHECK(f.dns.count() == 1);
}

TEST_CASE("dns resolver: an unchanged answer sends no second update (order ignored)") {
  dns_fixture f;
  f.opts.refresh_interval = 1s;
  f.start();
  f.answer(ab);
  f.advance(1s);
  REQUIRE(f.dns.count() == 2);
  f.answer({ab[1], ab[0]});
  CHECK(f.updates().size() == 1);
  f.advance(1s);
  REQUIRE(f.dns.count() == 3);
  f.answer({ab[0]});
  REQUIRE(f.updates().size() == 2);
  CHECK(f.updates()[1].addresses == std::vector<std::string>{ab[0]});
}

TEST_CASE("dns resolver: errors are sent and retried with backoff - success resets it") {
  dns_fixture f;
  f.opts.min_resolve_interval = 0s;
  f.start();
  f.answer(ab);
  f.resolve_now();
  REQUIRE(f.dns.count() == 2);
  f.fail("DNS lookup of 'svc.test' failed: boom");
  REQUIRE(f.updates().size() == 2);
  CHECK(f.updates()[1].error.code == status_code::unavailable);
  CHECK(f.updates()[1].error.message.find("boom") != std::string::npos);
  CHECK(f.updates()[1].addresses.empty());
  for (auto wait : {1000ms, 2000ms, 4000ms}) {
    auto before = f.dns.count();
    f.advance(wait - 1ms);
    CHECK(f.dns.count() == before);
    f.advance(1ms);
    REQUIRE(f.dns.count() == before + 1);
    if (wait != 4000ms)
      f.fail("boom again");
  }
  CHECK(f.updates().size() == 4);  // one error per failed query
  f.answer(ab);                    // same list as before the errors: nothing to send
  CHECK(f.updates().size() == 4);
  f.advance(1h);  // retries stopped with the success
  CHECK(f.dns.count() == 5);
  f.resolve_now();
  f.fail("boom after success");
  f.advance(1s - 1ms);
  CHECK(f.dns.count() == 6);
  f.advance(1ms);  // the backoff starts again at 1 s
  CHECK(f.dns.count() == 7);
}

TEST_CASE("dns resolver: an empty answer counts as an error") {
  dns_fixture f;
  f.start();
  f.answer({});
  REQUIRE(f.updates().size() == 1);
  CHECK(f.updates()[0].error.code == status_code::unavailable);
  f.advance(1s);
  CHECK(f.dns.count() == 2);
}

TEST_CASE("dns resolver: an answer after resolver_stop or a second answer is ignored") {
  dns_fixture f;
  f.opts.min_resolve_interval = 0s;
  f.start();
  f.answer(ab);
  f.dns.answer({"127.0.0.9:50051"}, std::nullopt, 0);  // the same query answered twice
  f.run();
  CHECK(f.updates().size() == 1);
  f.resolve_now();
  REQUIRE(f.dns.count() == 2);
  caf::anon_send(f.resolver, resolver_stop{});
  f.run();
  f.answer({"127.0.0.4:50051"});
  f.advance(1min);
  CHECK(f.updates().size() == 1);
}

TEST_CASE("dns resolver: parse_dns_target - ports - DNS server authority - IPv6 literals") {
  auto parse = [](std::string endpoint, std::string authority = {}) {
    return parse_dns_target(
        target{"dns", authority, endpoint, "dns://" + authority + "/" + endpoint});
  };
  auto a = parse("svc.test");
  REQUIRE(a.ok());
  CHECK(a->host == "svc.test");
  CHECK(a->port == 443);
  CHECK(a->server.empty());
  auto b = parse("[::1]:50051", "127.0.0.1");
  REQUIRE(b.ok());
  CHECK(b->host == "::1");
  CHECK(b->port == 50051);
  CHECK(b->server == "127.0.0.1:53");
  auto c = parse("svc:1", "[0:0::1]:5353");
  REQUIRE(c.ok());
  CHECK(c->server == "[::1]:5353");
  CHECK(parse("svc:1", "dns.example.com:53").error().message.find("invalid DNS server") == 0);
  CHECK(parse("svc:1", "127.0.0.1:x").error().message.find("invalid DNS server") == 0);
  CHECK(parse("svc:notaport").error().message.find("invalid dns target") == 0);
  CHECK(parse("").error().message.find("invalid dns target") == 0);
}

TEST_CASE("dns: answer_locally covers literals and localhost only") {
  auto v4 = dns::answer_locally("127.0.0.1", 80);
  REQUIRE(v4);
  CHECK(v4->addresses == std::vector<std::string>{"127.0.0.1:80"});
  auto v6 = dns::answer_locally("0:0::1", 443);
  REQUIRE(v6);
  CHECK(v6->addresses == std::vector<std::string>{"[::1]:443"});
  auto lh = dns::answer_locally("LocalHost", 1);
  REQUIRE(lh);
  CHECK(lh->addresses == std::vector<std::string>{"127.0.0.1:1", "[::1]:1"});
  CHECK_FALSE(lh->ttl);
  CHECK_FALSE(dns::answer_locally("svc.test", 1));
  CHECK_FALSE(dns::answer_locally("localhost.", 1));
}
