// achan's channel through the fault proxy (testkit/fault_proxy): toxics show up as what
// a client of a sick network sees — slow calls, a silent peer that only keepalive
// notices, connections reset under load.
#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/fault_proxy.hpp>
#include <achan/h2_transport.hpp>
#include <achan/server.hpp>
#include "testkit/echo_service.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

const std::string unary = "/achan.test.Echo/Unary";

/// An achan echo server named `name` behind its own fault proxy.
struct proxied_backend {
  transport::h2_server server;
  std::shared_ptr<void> service;
  std::unique_ptr<fault::fault_proxy> proxy;

  explicit proxied_backend(const std::string& name) : server(options()) {
    service = testkit::add_echo_service(server, name);
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    proxy = std::make_unique<fault::fault_proxy>("127.0.0.1:" + std::to_string(*l));
  }
  static transport::server_options options() {
    transport::server_options o;
    o.max_ping_strikes = 0;  // the client pings every 100 ms
    return o;
  }
};

struct client {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  channel dial(const std::vector<proxied_backend*>& backends, dial_options o) {
    std::string target = "ipv4:";
    for (auto* b : backends)
      target += (target.size() > 5 ? "," : "") + b->proxy->address();
    o.block_until_ready = 10s;
    auto ch = achan::dial(sys, target, std::move(o));
    REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
    return *ch;
  }
};

std::string server_of(channel& ch, std::uint32_t delay_ms = 0) {
  auto r = ch.call(unary, test::echo_request("x", delay_ms), {.timeout = 10s}).get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  return test::echo_reply(r).server();
}

/// Calls until both backends ("a" and "b") have answered (round_robin: both READY).
void require_both_answer(channel& ch) {
  std::set<std::string> seen;
  for (int i = 0; i < 50 && seen.size() < 2; ++i)
    seen.insert(server_of(ch));
  REQUIRE(seen.size() == 2);
}

const std::string retry_unavailable =
    R"({"methodConfig": [{"name": [{"service": "achan.test.Echo"}],
    "retryPolicy": {"maxAttempts": 5, "initialBackoff": "0.02s", "maxBackoff": "0.2s",
    "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})";

}  // namespace

TEST_CASE("fault proxy e2e: a latency toxic shows in call latency") {
  proxied_backend b{"slow"};
  client c;
  auto ch = c.dial({&b}, {});
  server_of(ch);
  b.proxy->add(fault::latency(100));
  auto t0 = std::chrono::steady_clock::now();
  server_of(ch);
  auto took = std::chrono::steady_clock::now() - t0;
  MESSAGE("a unary call with 100 ms downstream latency took "
          << std::chrono::duration<double, std::milli>(took).count() << " ms");
  CHECK(took >= 95ms);
  CHECK(took < 400ms);
}

TEST_CASE("fault proxy e2e: keepalive detects a partitioned backend and calls move to the other") {
  proxied_backend a{"a"}, b{"b"};
  client c;
  transport::h2_options h2;
  h2.keepalive_time = 100ms;
  h2.keepalive_timeout = 200ms;
  h2.keepalive_without_calls = true;
  dial_options o;
  o.transport = transport::make_h2_transport(h2);
  o.lb_policy = "round_robin";
  o.wait_for_ready = true;
  o.service_config = retry_unavailable;
  auto ch = c.dial({&a, &b}, o);
  require_both_answer(ch);
  auto t0 = std::chrono::steady_clock::now();
  a.proxy->add(fault::partition());  // a's connection stays open but goes silent
  std::vector<std::string> answered;
  for (int i = 0; i < 40; ++i)
    answered.push_back(server_of(ch));
  auto took = std::chrono::steady_clock::now() - t0;
  MESSAGE("40 calls after the partition took "
          << std::chrono::duration<double, std::milli>(took).count() << " ms");
  int from_b_at_end = 0;
  for (auto it = answered.rbegin(); it != answered.rend() && *it == "b"; ++it)
    ++from_b_at_end;
  CHECK(from_b_at_end >= 30);         // once the ping went unanswered, only b is picked
  CHECK(took < 5s);                   // 200 ms keepalive timeout, not a call deadline
  CHECK(a.proxy->stats().open <= 1);  // a's channel connection was given up
}

TEST_CASE("fault proxy e2e: reset_peer under load loses no wait-for-ready call with retries") {
  proxied_backend a{"a"}, b{"b"};
  client c;
  dial_options o;
  o.lb_policy = "round_robin";
  o.wait_for_ready = true;
  o.service_config = retry_unavailable;
  auto ch = c.dial({&a, &b}, o);
  require_both_answer(ch);
  std::vector<std::future<call_result>> calls;
  for (int i = 0; i < 200; ++i)
    calls.push_back(ch.call(unary, test::echo_request("x", 20), {.timeout = 20s}));
  auto reset = fault::reset_peer(0);
  reset.scope = fault::scope::established;  // the reconnection is let through
  a.proxy->add(reset);
  for (int i = 0; i < 200; ++i)
    calls.push_back(ch.call(unary, test::echo_request("y", 5), {.timeout = 20s}));
  int failed = 0;
  std::string first_error;
  for (auto& f : calls) {
    auto r = f.get();
    if (!r.status.ok() && failed++ == 0)
      first_error = r.status.to_string();
  }
  CHECK_MESSAGE(failed == 0, first_error);
  auto st = ch.stats();
  MESSAGE("retries " << st.retries << ", transparent retries " << st.transparent_retries);
  CHECK(st.retries + st.transparent_retries > 0);  // the reset did hit calls in flight
  // The toxic spares connections made after it: a comes back.
  bool a_again = false;
  auto t0 = std::chrono::steady_clock::now();
  for (int i = 0; i < 500 && !a_again; ++i)  // up to ~5 s: the reconnect waits out a backoff
    a_again = server_of(ch, 10) == "a";
  MESSAGE(
      "a answered again after "
      << std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count()
      << " ms");
  CHECK(a_again);
  CHECK(a.proxy->stats().accepted >= 2);
}
