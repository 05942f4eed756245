// The dns: resolver against a real DNS server (dnsmasq on a free loopback port) and real
// achan servers on 127.0.0.2-4 sharing one port: spreading over every record, new
// records seen by refresh and after a backend loss, removed records drained, NXDOMAIN
// and a stopped DNS server, and the resolve_now rate limit counted in dnsmasq's log.
#include <doctest/doctest.h>

#include <condition_variable>
#include <csignal>
#include <deque>
#include <map>
#include <mutex>
#include <set>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <achan/channel.hpp>
#include <achan/system_config.hpp>
#include "actors/resolver/dns_resolver.hpp"
#include "testkit/echo_service.hpp"
#include "tests/support/dnsmasq.hpp"
#include "tests/support/echo_messages.hpp"
#include "transport/dns/ares_service.hpp"

using namespace achan;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

const std::string unary = "/achan.test.Echo/Unary";

/// achan servers with the echo service, answering as "srv-<last octet>", on several
/// loopback addresses and one port (so one DNS name can map to all of them).
struct backends {
  std::uint16_t port = 0;
  std::map<std::string, std::unique_ptr<transport::h2_server>> servers;
  std::map<std::string, std::shared_ptr<void>> services;

  explicit backends(const std::vector<std::string>& ips) {
    for (int attempt = 0; attempt < 5 && servers.size() != ips.size(); ++attempt) {
      servers.clear();
      services.clear();
      port = 0;
      for (auto& ip : ips)
        if (!start(ip))
          break;
    }
    REQUIRE_MESSAGE(servers.size() == ips.size(), "cannot listen on one port on every address");
  }
  ~backends() {
    for (auto& [ip, s] : servers)
      s->shutdown(0ms);
  }
  static std::string name(const std::string& ip) { return "srv-" + ip.substr(ip.rfind('.') + 1); }
  std::string address(const std::string& ip) const { return ip + ":" + std::to_string(port); }
  /// Serves on `ip` (port 0 the first time: picks the shared port).
  bool start(const std::string& ip) {
    auto s = std::make_unique<transport::h2_server>();
    auto svc = testkit::add_echo_service(*s, name(ip));
    auto l = s->listen(ip, port);
    if (!l.ok())
      return false;
    port = (*l);
    services[ip] = std::move(svc);
    servers[ip] = std::move(s);
    return true;
  }
  /// Closes every connection to `ip` and stops listening there.
  void stop(const std::string& ip) {
    servers.at(ip)->shutdown(0ms);
    servers.erase(ip);
    services.erase(ip);
  }
};

struct client {
  static caf::actor_system_config& prepared(caf::actor_system_config& c) {
    configure_actor_system(c, 2);
    return c;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{prepared(cfg)};

  channel dial(const std::string& target, dial_options o) {
    o.lb_policy = "round_robin";
    auto ch = achan::dial(sys, target, std::move(o));
    REQUIRE_MESSAGE(ch, to_string_with_message(ch.error()));
    return *ch;
  }
};

/// One call; the answering server's name, or "" with the status in `error`.
std::string call_once(channel& ch, std::string* error = nullptr) {
  call_options opts;
  opts.timeout = 2s;
  auto r = ch.call(unary, test::echo_request("x"), opts).get();
  if (!r.status.ok()) {
    if (error)
      *error = r.status.to_string();
    return "";
  }
  return test::echo_reply(r).server();
}

/// Calls until every server in `want` has answered, or `timeout`; returns who answered.
std::set<std::string> call_until_seen(channel& ch, const std::set<std::string>& want,
                                      std::chrono::milliseconds timeout = 5s) {
  std::set<std::string> seen;
  auto deadline = steady::now() + timeout;
  while (steady::now() < deadline) {
    seen.insert(call_once(ch));
    if (std::includes(seen.begin(), seen.end(), want.begin(), want.end()))
      break;
    std::this_thread::sleep_for(5ms);
  }
  seen.erase("");
  return seen;
}

/// Calls until `n` calls in a row were answered by servers in `only`, or `timeout`.
bool call_until_only(channel& ch, const std::set<std::string>& only, int n,
                     std::chrono::milliseconds timeout = 5s) {
  auto deadline = steady::now() + timeout;
  int streak = 0;
  while (steady::now() < deadline && streak < n) {
    streak = only.count(call_once(ch)) ? streak + 1 : 0;
    std::this_thread::sleep_for(5ms);
  }
  return streak >= n;
}

test::host_records svc(const std::vector<std::string>& ips) {
  test::host_records out;
  for (auto& ip : ips)
    out.emplace_back(ip, "svc.test");
  return out;
}

std::string dns_target(const test::dnsmasq& dns, const backends& b, const std::string& name) {
  return "dns://" + dns.server() + "/" + name + ":" + std::to_string(b.port);
}

}  // namespace

TEST_CASE("dns e2e: calls spread over every address of the name") {
  backends b{{"127.0.0.2", "127.0.0.3", "127.0.0.4"}};
  test::dnsmasq dns{svc({"127.0.0.2", "127.0.0.3", "127.0.0.4"})};
  client c;
  dial_options o;
  o.block_until_ready = 5s;
  auto ch = c.dial(dns_target(dns, b, "svc.test"), o);
  CHECK(call_until_seen(ch, {"srv-2", "srv-3", "srv-4"}) ==
        std::set<std::string>{"srv-2", "srv-3", "srv-4"});
}

TEST_CASE("dns e2e: a new record is seen after the refresh interval") {
  backends b{{"127.0.0.2", "127.0.0.3"}};
  test::dnsmasq dns{svc({"127.0.0.2"})};
  client c;
  dial_options o;
  o.block_until_ready = 5s;
  o.dns.refresh_interval = 300ms;
  auto ch = c.dial(dns_target(dns, b, "svc.test"), o);
  CHECK(call_once(ch) == "srv-2");
  dns.set_records(svc({"127.0.0.2", "127.0.0.3"}));
  CHECK(call_until_seen(ch, {"srv-2", "srv-3"}).count("srv-3") == 1);
}

TEST_CASE("dns e2e: with refresh off a new record is seen after a backend loss") {
  backends b{{"127.0.0.2", "127.0.0.3", "127.0.0.4"}};
  test::dnsmasq dns{svc({"127.0.0.2", "127.0.0.3"})};
  client c;
  dial_options o;
  o.block_until_ready = 5s;
  o.dns.min_resolve_interval = 100ms;
  auto ch = c.dial(dns_target(dns, b, "svc.test"), o);
  REQUIRE(call_until_seen(ch, {"srv-2", "srv-3"}).size() == 2);
  dns.set_records(svc({"127.0.0.2", "127.0.0.3", "127.0.0.4"}));
  REQUIRE(test::wait_for_answer(
      "svc.test", b.port, dns.server(),
      {b.address("127.0.0.2"), b.address("127.0.0.3"), b.address("127.0.0.4")}, 5s));
  // Nothing asks DNS again yet: the new backend gets no call.
  CHECK(call_until_only(ch, {"srv-2", "srv-3"}, 20));
  b.stop("127.0.0.3");  // the lost connection makes the balancer send resolve_now
  CHECK(call_until_seen(ch, {"srv-2", "srv-4"}).count("srv-4") == 1);
}

TEST_CASE("dns e2e: a removed record drains its backend") {
  backends b{{"127.0.0.2", "127.0.0.3"}};
  test::dnsmasq dns{svc({"127.0.0.2", "127.0.0.3"})};
  client c;
  dial_options o;
  o.block_until_ready = 5s;
  o.dns.refresh_interval = 300ms;
  auto ch = c.dial(dns_target(dns, b, "svc.test"), o);
  REQUIRE(call_until_seen(ch, {"srv-2", "srv-3"}).size() == 2);
  dns.set_records(svc({"127.0.0.2"}));
  REQUIRE(call_until_only(ch, {"srv-2"}, 30));
  // Drained for good, not just for a while: well past another refresh, still only srv-2.
  auto until = steady::now() + 700ms;
  while (steady::now() < until)
    REQUIRE(call_once(ch) == "srv-2");
}

TEST_CASE("dns e2e: NXDOMAIN fails calls with a status naming the DNS failure") {
  test::dnsmasq dns{svc({"127.0.0.2"})};
  client c;
  auto ch = c.dial("dns://" + dns.server() + "/absent.test:50051", {});
  std::string error;
  CHECK(call_once(ch, &error).empty());
  CHECK_MESSAGE(error.find("UNAVAILABLE") != std::string::npos, error);
  CHECK_MESSAGE(error.find("DNS lookup of 'absent.test' failed: name not found (NXDOMAIN)") !=
                    std::string::npos,
                error);
  CHECK_MESSAGE(error.find(dns.server()) != std::string::npos, error);
}

TEST_CASE("dns e2e: a stopped DNS server keeps the last good list and is reported clearly") {
  backends b{{"127.0.0.2", "127.0.0.3"}};
  test::dnsmasq dns{svc({"127.0.0.2", "127.0.0.3"})};
  client c;
  dial_options o;
  o.block_until_ready = 5s;
  o.dns.refresh_interval = 100ms;
  o.dns.retry_backoff.initial = 100ms;
  auto ch = c.dial(dns_target(dns, b, "svc.test"), o);
  REQUIRE(call_until_seen(ch, {"srv-2", "srv-3"}).size() == 2);
  dns.stop();
  // Several refreshes and retries fail meanwhile; every call still succeeds on both.
  std::map<std::string, int> per_server;
  auto until = steady::now() + 800ms;
  while (steady::now() < until) {
    std::string error;
    auto who = call_once(ch, &error);
    REQUIRE_MESSAGE(!who.empty(), error);
    ++per_server[who];
  }
  CHECK(per_server.size() == 2);
  // A channel with no list yet fails its calls with the DNS error.
  auto fresh = c.dial(dns_target(dns, b, "svc.test"), {});
  std::string error;
  CHECK(call_once(fresh, &error).empty());
  CHECK_MESSAGE(error.find("DNS lookup of 'svc.test' failed: could not contact the DNS server") !=
                    std::string::npos,
                error);
}

TEST_CASE("dns e2e: the resolve_now rate limit holds across a burst of backend losses") {
  backends b{{"127.0.0.2", "127.0.0.3"}};
  test::dnsmasq dns{svc({"127.0.0.2", "127.0.0.3"})};
  client c;
  dial_options o;
  o.block_until_ready = 5s;
  o.dns.min_resolve_interval = 1s;
  o.backoff.initial = 20ms;  // reconnect to the restarted backend quickly
  o.backoff.max = 50ms;
  auto t0 = steady::now();
  auto ch = c.dial(dns_target(dns, b, "svc.test"), o);
  REQUIRE(call_until_seen(ch, {"srv-2", "srv-3"}).size() == 2);
  CHECK(dns.queries("svc.test") == 1);
  // Each restart of srv-3 loses a READY connection, so the balancer asks for
  // re-resolution every time.
  const int losses = 6;
  for (int i = 0; i < losses; ++i) {
    b.stop("127.0.0.3");
    REQUIRE(b.start("127.0.0.3"));
    REQUIRE(call_until_seen(ch, {"srv-3"}).count("srv-3") == 1);
  }
  // A request merged into the end of a window may still be waiting: wait for it.
  auto until = steady::now() + 3s;
  while (dns.queries("svc.test") < 2 && steady::now() < until)
    std::this_thread::sleep_for(20ms);
  auto elapsed = std::chrono::duration<double>(steady::now() - t0).count();
  auto queries = dns.queries("svc.test");
  MESSAGE(losses << " losses in " << elapsed << " s: " << queries << " queries");
  CHECK(queries >= 2);  // the losses did trigger re-resolution
  // Queries start at least 1 s apart: the first at dial time.
  CHECK(queries <= 1 + static_cast<std::size_t>(elapsed));
  CHECK(queries < 1 + losses);
}

namespace {

/// The updates a resolver sends, handed from the sink actor to the test thread.
struct update_queue {
  std::mutex mx;
  std::condition_variable cv;
  std::deque<resolver_update> updates;
  void push(resolver_update u) {
    std::lock_guard lk{mx};
    updates.push_back(std::move(u));
    cv.notify_all();
  }
  std::optional<resolver_update> pop(std::chrono::milliseconds timeout) {
    std::unique_lock lk{mx};
    if (!cv.wait_for(lk, timeout, [&] { return !updates.empty(); }))
      return std::nullopt;
    auto u = std::move(updates.front());
    updates.pop_front();
    return u;
  }
};

resolver_sink spawn_queue_sink(caf::actor_system& sys, std::shared_ptr<update_queue> q) {
  // An argument, since CAF 0.17 spawning a function actor without one trips UBSan.
  return sys.spawn(
      [](resolver_sink::pointer, std::shared_ptr<update_queue> q) -> resolver_sink::behavior_type {
        return {[q](resolver_update& u) { q->push(std::move(u)); }};
      },
      std::move(q));
}

}  // namespace

TEST_CASE("dns e2e: the resolver sends the service config chosen from the TXT record") {
  const std::string canary = R"({"loadBalancingPolicy":"round_robin"})";
  const std::string stable = R"({"loadBalancingConfig":[{"pick_first":{}}]})";
  test::dnsmasq dns{
      svc({"127.0.0.2", "127.0.0.3"}),
      0,
      {{"_grpc_config.svc.test", "v=spf1 -all"},
       {"_grpc_config.svc.test", R"(grpc_config=[{"clientLanguage":["go"],"serviceConfig":{}},)"
                                 R"({"clientHostname":["canary-host"],"serviceConfig":)" +
                                     canary + "},{\"serviceConfig\":" + stable + "}]"}}};
  client c;
  for (auto [host, expected] : {std::pair{"canary-host", canary}, std::pair{"other", stable}}) {
    CAPTURE(host);
    auto q = std::make_shared<update_queue>();
    dns_resolver_config cfg;
    cfg.request = {"svc.test", 50051, dns.server(), 2000ms, {}};
    cfg.options.service_config = true;
    cfg.options.client_hostname = host;
    cfg.lookup = dns::ares_service::as_function(dns::ares_service::shared());
    auto resolver = spawn_dns_resolver(c.sys, cfg, spawn_queue_sink(c.sys, q));
    auto u = q->pop(5s);
    caf::anon_send(resolver, resolver_stop{});
    REQUIRE(u);
    REQUIRE_MESSAGE(u->error.ok(), u->error.message);
    std::sort(u->addresses.begin(), u->addresses.end());
    CHECK(u->addresses == std::vector<std::string>{"127.0.0.2:50051", "127.0.0.3:50051"});
    REQUIRE_MESSAGE(u->service_config_error.ok(), u->service_config_error.message);
    CHECK(u->service_config == expected);
  }
  CHECK(dns.queries("_grpc_config.svc.test", "TXT") == 2);
}

TEST_CASE("dns e2e: a malformed TXT config reaches the resolver update as its error") {
  test::dnsmasq dns{svc({"127.0.0.2"}), 0, {{"_grpc_config.svc.test", "grpc_config={oops"}}};
  client c;
  auto q = std::make_shared<update_queue>();
  dns_resolver_config cfg;
  cfg.request = {"svc.test", 50051, dns.server(), 2000ms, {}};
  cfg.options.service_config = true;
  cfg.lookup = dns::ares_service::as_function(dns::ares_service::shared());
  auto resolver = spawn_dns_resolver(c.sys, cfg, spawn_queue_sink(c.sys, q));
  auto u = q->pop(5s);
  caf::anon_send(resolver, resolver_stop{});
  REQUIRE(u);
  CHECK(u->error.ok());
  CHECK(u->addresses == std::vector<std::string>{"127.0.0.2:50051"});
  CHECK_FALSE(u->service_config);
  CHECK(u->service_config_error.code == status_code::invalid_argument);
  CHECK_MESSAGE(
      u->service_config_error.message.find(
          "service config in TXT '_grpc_config.svc.test': grpc_config: invalid JSON") == 0,
      u->service_config_error.message);
}
