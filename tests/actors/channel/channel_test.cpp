// The whole control plane (channel, resolver, balancer, subchannels, state manager)
// over the simulated transport, in virtual time: calls, states, policies, deadlines.
// Actors as callers, SHUTDOWN and connection races: channel_edge_test.cpp.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include "tests/actors/channel/channel_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;
using achan::test::channel_fixture;
using cs = connectivity_state;
using mode = transport::sim_behavior::connect_mode;

TEST_CASE("channel: starts IDLE - first call goes CONNECTING then READY and is answered") {
  channel_fixture f;
  auto ch = f.dial_manual();
  CHECK(ch.state() == cs::idle);
  auto log = std::make_shared<std::vector<state_change>>();
  auto& seen = *log;
  ch.subscribe([log](const state_change& c) { log->push_back(c); });
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, 50ms});
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch);
  f.run();
  CHECK(ch.state() == cs::connecting);
  CHECK(f.results.empty());
  f.advance(50ms);
  CHECK(ch.state() == cs::ready);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  CHECK(f.results[0].payload == "hi");
  CHECK(f.results[0].peer == "10.0.0.1:1");
  REQUIRE(seen.size() == 3);
  CHECK(seen[1].from == cs::idle);
  CHECK(seen[1].to == cs::connecting);
  CHECK(seen[2].to == cs::ready);
}

TEST_CASE("channel: round_robin spreads calls exactly evenly over READY subchannels") {
  channel_fixture f;
  auto ch = f.connected("round_robin", {"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"});
  REQUIRE(ch.state() == cs::ready);
  for (int i = 0; i < 300; ++i)
    f.start(ch);
  f.run();
  CHECK(f.per_peer() ==
        std::map<std::string, int>{{"10.0.0.1:1", 100}, {"10.0.0.2:1", 100}, {"10.0.0.3:1", 100}});
}

TEST_CASE("channel: round_robin skips a backend that drops and moves calls to the rest") {
  channel_fixture f;
  auto ch = f.connected("round_robin", {"10.0.0.1:1", "10.0.0.2:1"});
  f.sim->set_behavior("10.0.0.2:1", {mode::refuse});
  f.sim->drop("10.0.0.2:1");
  f.run();
  for (int i = 0; i < 10; ++i)
    f.start(ch);
  f.run();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.1:1", 10}});
  CHECK(f.resolver->resolve_now_count() >= 1);  // the loss asked for re-resolution
}

TEST_CASE("channel: fail-fast call fails with UNAVAILABLE in TRANSIENT_FAILURE") {
  channel_fixture f;
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  REQUIRE(ch.state() == cs::transient_failure);
  f.start(ch);
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.results[0].status.message.find("connection refused") != std::string::npos);
}

TEST_CASE("channel: wait_for_ready call waits through TRANSIENT_FAILURE and is served on READY") {
  channel_fixture f;
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  REQUIRE(ch.state() == cs::transient_failure);
  f.start(ch, {.wait_for_ready = true});
  f.run();
  CHECK(f.results.empty());
  f.sim->set_behavior("10.0.0.1:1", {});
  f.advance(1s);  // backoff over: IDLE, pick_first reconnects, READY
  CHECK(ch.state() == cs::ready);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
}

TEST_CASE("channel: deadline expiry in virtual time gives DEADLINE_EXCEEDED exactly once") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {mode::hang});
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch, {.timeout = 3s});
  f.advance(2999ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.results[0].status.message.find("CONNECTING") != std::string::npos);
  f.advance(60s);
  CHECK(f.results.size() == 1);
}

TEST_CASE("channel: deadline of an in-flight call cancels its stream") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {.answer_calls = false});
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch, {.timeout = 1s});
  f.advance(1s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 1);
  CHECK(f.sim->stats("10.0.0.1:1").cancels == 1);  // the stream was released
}

TEST_CASE("channel: cancel ends the call with CANCELLED once") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {.latency = 1s});
  f.resolver->update({"10.0.0.1:1"});
  auto h = f.start(ch);
  f.run();
  h.cancel();
  h.cancel();
  f.advance(2s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
  CHECK(h.done());
  CHECK(f.sim->stats("10.0.0.1:1").cancels == 1);
}

TEST_CASE("channel: close() ends every pending call exactly once and reaches SHUTDOWN") {
  channel_fixture f;
  auto ch = f.dial_manual("round_robin");
  f.sim->set_behavior("10.0.0.1:1", {.answer_calls = false});
  f.sim->set_behavior("10.0.0.2:1", {mode::hang});
  f.resolver->update({"10.0.0.1:1", "10.0.0.2:1"});
  ch.connect();
  f.run();
  for (int i = 0; i < 4; ++i)
    f.start(ch);  // in flight on 10.0.0.1:1
  f.run();
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  f.sim->drop("10.0.0.1:1");
  f.run();
  CHECK(f.results.size() == 4);  // lost with the connection: UNAVAILABLE
  f.results.clear();
  f.sim->set_behavior("10.0.0.1:1", {.connect_delay = 0ms, .answer_calls = false});
  f.advance(1s);  // reconnected
  for (int i = 0; i < 3; ++i)
    f.start(ch);                          // in flight
  f.start(ch, {.wait_for_ready = true});  // in flight too (READY)
  f.run();
  ch.close();
  f.start(ch);  // after close
  f.advance(1min);
  REQUIRE(f.results.size() == 5);
  int unavailable = 0, cancelled = 0;
  for (auto& r : f.results) {
    unavailable += r.status.code == status_code::unavailable;
    cancelled += r.status.code == status_code::cancelled;
  }
  CHECK(unavailable == 4);
  CHECK(cancelled == 1);
  CHECK(ch.state() == cs::shutdown);
}

TEST_CASE("channel: close() cancels calls still waiting for a subchannel") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {mode::hang});
  f.resolver->update({"10.0.0.1:1"});
  for (int i = 0; i < 3; ++i)
    f.start(ch, {.wait_for_ready = true});
  f.run();
  ch.close();
  f.run();
  REQUIRE(f.results.size() == 3);
  for (auto& r : f.results)
    CHECK(r.status.code == status_code::cancelled);
}

TEST_CASE("channel: pick_first fails over in address order and stays on the working address") {
  channel_fixture f;
  auto ch = f.dial_manual("pick_first");
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  f.resolver->update({"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"});
  for (int i = 0; i < 5; ++i)
    f.start(ch);
  f.run();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.2:1", 5}});
  CHECK(f.sim->stats("10.0.0.3:1").connects == 0);
  f.sim->set_behavior("10.0.0.1:1", {});
  f.resolver->update({"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"});
  f.advance(10s);
  f.start(ch);
  f.run();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.2:1", 6}});
}

TEST_CASE("channel: address update keeps subchannels of addresses that stay") {
  channel_fixture f;
  auto ch = f.connected("round_robin", {"10.0.0.1:1", "10.0.0.2:1"});
  f.resolver->update({"10.0.0.2:1", "10.0.0.3:1"});
  f.run();
  CHECK(f.sim->stats("10.0.0.1:1").open == 0);      // removed: shut down
  CHECK(f.sim->stats("10.0.0.2:1").connects == 1);  // kept: not reconnected
  CHECK(f.sim->stats("10.0.0.3:1").open == 1);      // added
  for (int i = 0; i < 4; ++i)
    f.start(ch);
  f.run();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.2:1", 2}, {"10.0.0.3:1", 2}});
}

TEST_CASE("channel: resolver error before the first update reports TRANSIENT_FAILURE") {
  channel_fixture f;
  auto ch = f.dial_manual("round_robin");
  f.resolver->fail({status_code::unavailable, "no such service"});
  f.start(ch);
  f.run();
  CHECK(ch.state() == cs::transient_failure);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.results[0].status.message.find("no such service") != std::string::npos);
}

TEST_CASE("channel: policy switch keeps serving with the old policy until the new one is READY") {
  channel_fixture f;
  auto ch = f.connected("pick_first", {"10.0.0.1:1", "10.0.0.2:1"});
  REQUIRE(ch.state() == cs::ready);
  // The new policy's connections take 100 ms; calls meanwhile still succeed via pick_first.
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, 100ms});
  f.sim->set_behavior("10.0.0.2:1", {mode::accept, 100ms});
  f.resolver->update({"10.0.0.1:1", "10.0.0.2:1"}, lb_config{"round_robin"});
  f.run();
  for (int i = 0; i < 4; ++i)
    f.start(ch);
  f.run();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.1:1", 4}});
  f.advance(100ms);
  f.results.clear();
  for (int i = 0; i < 4; ++i)
    f.start(ch);
  f.run();
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.1:1", 2}, {"10.0.0.2:1", 2}});
  CHECK(ch.state() == cs::ready);
}

TEST_CASE("channel: unknown policy in a service config before any good update is an error") {
  channel_fixture f;
  auto ch = f.dial_manual("round_robin");
  f.resolver->update({"10.0.0.1:1"}, lb_config{"no_such_policy"});
  f.start(ch);
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.message.find("no_such_policy") != std::string::npos);
}

TEST_CASE("channel: idle timeout releases connections and the next call reconnects") {
  channel_fixture f;
  f.opts.idle_timeout = 10s;
  auto ch = f.dial_manual();
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch);
  f.run();
  REQUIRE(ch.state() == cs::ready);
  f.advance(9s);
  CHECK(ch.state() == cs::ready);
  f.advance(1s);
  CHECK(ch.state() == cs::idle);
  CHECK(f.sim->stats("10.0.0.1:1").open == 0);
  f.start(ch);
  f.run();
  CHECK(ch.state() == cs::ready);
  CHECK(f.results.size() == 2);
  CHECK(f.sim->stats("10.0.0.1:1").connects == 2);
}

TEST_CASE("channel: wait_for_state_change reports a change - or false at its deadline") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, 5s});
  f.resolver->update({"10.0.0.1:1"});
  auto log = std::make_shared<std::vector<bool>>();
  auto& outcomes = *log;
  ch.wait_for_state_change(cs::idle, f.now() + 1s, [log](bool b) { log->push_back(b); });
  f.run();
  CHECK(outcomes.empty());
  ch.connect();
  f.run();
  REQUIRE(outcomes == std::vector{true});
  ch.wait_for_state_change(cs::connecting, f.now() + 2s, [log](bool b) { log->push_back(b); });
  f.advance(2s);
  CHECK(outcomes == std::vector{true, false});
  ch.wait_for_state_change(cs::idle, f.now() + 1s, [log](bool b) { log->push_back(b); });
  f.run();  // already CONNECTING: answered at once
  CHECK(outcomes == std::vector{true, false, true});
}

TEST_CASE("channel: nothing is reported after SHUTDOWN") {
  channel_fixture f;
  auto ch = f.dial_manual();
  auto log = std::make_shared<std::vector<state_change>>();
  auto& seen = *log;
  ch.subscribe([log](const state_change& c) { log->push_back(c); });
  f.resolver->update({"10.0.0.1:1"});
  ch.connect();
  f.run();
  ch.close();
  f.run();
  auto n = seen.size();
  REQUIRE(seen.back().to == cs::shutdown);
  ch.connect();
  f.resolver->update({"10.0.0.2:1"});
  f.run();
  CHECK(seen.size() == n);
  CHECK(ch.state() == cs::shutdown);
}

TEST_CASE("channel: calls picked onto a connection that just died are re-picked - not failed") {
  channel_fixture f;
  auto ch = f.connected("round_robin", {"10.0.0.1:1", "10.0.0.2:1"});
  REQUIRE(ch.state() == cs::ready);
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  f.sim->drop("10.0.0.1:1");
  for (int i = 0; i < 6; ++i)
    f.start(ch);  // the channel still holds a picker with 10.0.0.1:1 in it
  f.run();
  REQUIRE(f.results.size() == 6);
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.2:1", 6}});
}

TEST_CASE("channel: dial option wait_for_ready is the default for calls") {
  channel_fixture f;
  f.opts.wait_for_ready = true;
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  REQUIRE(ch.state() == cs::transient_failure);
  f.start(ch);                             // waits
  f.start(ch, {.wait_for_ready = false});  // fails fast
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  ch.close();
  f.run();
  CHECK(f.results.size() == 2);
}

TEST_CASE("channel: idle timeout does not fire while a call is in flight") {
  channel_fixture f;
  f.opts.idle_timeout = 10s;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {.latency = 25s});
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch);
  f.advance(20s);
  CHECK(ch.state() == cs::ready);
  f.advance(5s);  // the call ends at 25 s
  REQUIRE(f.results.size() == 1);
  CHECK(ch.state() == cs::ready);
  f.advance(10s);
  CHECK(ch.state() == cs::idle);
}
