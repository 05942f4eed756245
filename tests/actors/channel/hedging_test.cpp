// Hedging (gRFC A6) through the whole control plane over the simulated transport, in
// virtual time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <achan/channel.hpp>
#include "tests/support/manual_channel.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;

namespace {

std::string hedging_config(const std::string& policy) {
  return R"({"methodConfig": [{"name": [{"service": "echo.Echo"}], "hedgingPolicy": )" + policy +
         "}]}";
}

struct hedge_fixture : test::manual_channel_fixture {
  hedge_fixture() : manual_channel_fixture(3) { opts.lb_policy = "round_robin"; }

  /// `address` answers `reply` after `latency`.
  void backend(const std::string& address, clock_duration latency, status reply = {}) {
    transport::sim_behavior b;
    b.latency = latency;
    b.responder = [this, reply](const call& c) {
      call_result r;
      r.status = reply;
      if (reply.ok())
        r.payload = c.payload();
      return r;
    };
    sim->set_behavior(address, b);
  }

  channel connected(const std::string& config, std::vector<std::string> addresses) {
    opts.service_config = config;
    return manual_channel_fixture::connected(std::move(addresses));
  }

  void start(channel& ch) { ch.call("/echo.Echo/Unary", "hi", {}, record()); }
};

}  // namespace

TEST_CASE("hedging: a slow first attempt loses to the hedge sent after hedgingDelay") {
  hedge_fixture f;
  f.backend("10.0.0.1:1", 1s);
  f.backend("10.0.0.2:1", 50ms);
  auto ch = f.connected(hedging_config(R"({"maxAttempts": 2, "hedgingDelay": "0.1s"})"),
                        {"10.0.0.1:1", "10.0.0.2:1"});
  // round_robin alternates: probe (an unhedged method) until the fast backend answered,
  // so the hedged call's first attempt takes the slow one.
  for (int i = 0; i < 2; ++i) {
    ch.call("/other.Svc/Probe", "p", {}, f.record());
    f.advance(2s);
    REQUIRE(f.results.size() == 1);
    auto last = f.results.back().peer;
    f.results.clear();
    if (last == "10.0.0.2:1")
      break;
  }
  auto t0 = f.now();
  f.start(ch);
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  CHECK(f.results[0].peer == "10.0.0.2:1");  // the hedge at 100 ms, answered at 150 ms
  CHECK(ch.stats().hedges == 1);
  CHECK(f.sim->stats("10.0.0.1:1").cancels == 1);  // the slow first attempt
  CHECK(ch.stats().attempts_by_code[static_cast<int>(status_code::cancelled)] == 1);
  (void)t0;
}

TEST_CASE("hedging: all attempts go out hedgingDelay apart until one answers") {
  hedge_fixture f;
  f.backend("10.0.0.1:1", 250ms);
  auto ch =
      f.connected(hedging_config(R"({"maxAttempts": 4, "hedgingDelay": "0.1s"})"), {"10.0.0.1:1"});
  f.start(ch);
  f.advance(99ms);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 1);
  f.advance(1ms);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 2);
  f.advance(100ms);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 3);
  f.advance(50ms);  // 250 ms: the first attempt answers; the fourth is never sent
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  f.advance(1s);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 3);
  CHECK(f.sim->stats("10.0.0.1:1").cancels == 2);
}

TEST_CASE("hedging: a fatal status ends the call and cancels the other attempts") {
  hedge_fixture f;
  f.backend("10.0.0.1:1", 150ms, {status_code::internal, "boom"});
  auto ch = f.connected(
      hedging_config(
          R"({"maxAttempts": 3, "hedgingDelay": "0.1s", "nonFatalStatusCodes": ["UNAVAILABLE"]})"),
      {"10.0.0.1:1"});
  f.start(ch);
  f.advance(150ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::internal);
  f.advance(1s);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 2);
  CHECK(f.sim->stats("10.0.0.1:1").cancels == 1);
}

TEST_CASE("hedging: when every attempt fails non-fatally the last status is returned") {
  hedge_fixture f;
  f.backend("10.0.0.1:1", 10ms, {status_code::unavailable, "down"});
  auto ch = f.connected(
      hedging_config(
          R"({"maxAttempts": 3, "hedgingDelay": "0.1s", "nonFatalStatusCodes": ["UNAVAILABLE"]})"),
      {"10.0.0.1:1"});
  f.start(ch);
  f.advance(150ms);
  CHECK(f.results.empty());
  f.advance(100ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 3);
  CHECK(ch.stats().attempts_by_code[static_cast<int>(status_code::unavailable)] == 3);
}

TEST_CASE("hedging: hedgingDelay 0 sends every attempt at once") {
  hedge_fixture f;
  f.backend("10.0.0.1:1", 100ms);
  auto ch = f.connected(hedging_config(R"({"maxAttempts": 3})"), {"10.0.0.1:1"});
  f.start(ch);
  f.run();
  CHECK(f.sim->stats("10.0.0.1:1").calls == 3);
  f.advance(100ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
}
