// The whole control plane over the simulated transport, in virtual time: actors as
// callers, what happens after SHUTDOWN, calls racing connection loss, bad metadata.
#include <doctest/doctest.h>

#include <caf/event_based_actor.hpp>
#include "tests/actors/channel/channel_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;
using achan::test::channel_fixture;
using cs = connectivity_state;
using mode = transport::sim_behavior::connect_mode;

namespace {
void requester(caf::event_based_actor* self, channel_actor chan,
               std::shared_ptr<std::vector<call_result>> out) {
  self->request(chan, caf::infinite, call_request{"/echo.Echo/Unary", "from an actor", {}})
      .then([out](const call_result& r) { out->push_back(r); });
}
}  // namespace

TEST_CASE("channel: an actor's request is answered with a call_result message") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.resolver->update({"10.0.0.1:1"});
  auto out = std::make_shared<std::vector<call_result>>();
  f.sys.spawn(requester, ch.actor(), out);
  f.run();
  REQUIRE(out->size() == 1);
  CHECK(out->at(0).status.ok());
  CHECK(out->at(0).payload == "from an actor");
  CHECK(out->at(0).peer == "10.0.0.1:1");
}

TEST_CASE("channel: an actor's request to a closed channel gets CANCELLED") {
  channel_fixture f;
  auto ch = f.dial_manual();
  f.sim->set_behavior("10.0.0.1:1", {.latency = 1s});
  f.resolver->update({"10.0.0.1:1"});
  auto out = std::make_shared<std::vector<call_result>>();
  f.sys.spawn(requester, ch.actor(), out);
  f.run();
  ch.close();
  f.advance(2s);
  REQUIRE(out->size() == 1);
  CHECK(out->at(0).status.code == status_code::unavailable);  // in flight when closed
}

TEST_CASE("channel: watchers and waiters arriving after SHUTDOWN are still answered") {
  channel_fixture f;
  auto ch = f.dial_manual();
  ch.close();
  f.run();
  REQUIRE(ch.state() == cs::shutdown);
  auto seen = std::make_shared<std::vector<state_change>>();
  ch.subscribe([seen](const state_change& c) { seen->push_back(c); });
  auto waits = std::make_shared<std::vector<bool>>();
  ch.wait_for_state_change(cs::ready, f.now() + 1h, [waits](bool b) { waits->push_back(b); });
  ch.wait_for_state_change(cs::shutdown, f.now() + 1h, [waits](bool b) { waits->push_back(b); });
  f.run();
  REQUIRE(seen->size() == 1);
  CHECK(seen->at(0).to == cs::shutdown);
  CHECK(*waits == std::vector{true, false});
}

TEST_CASE("channel: pick_first calls racing a connection loss reconnect and succeed") {
  channel_fixture f;
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  REQUIRE(ch.state() == cs::ready);
  f.advance(1s);  // an established connection (a younger one counts as a failed attempt)
  f.sim->drop("10.0.0.1:1");  // pick_first goes IDLE; the calls below were picked before
  for (int i = 0; i < 3; ++i)
    f.start(ch, {.timeout = 10s});
  f.run();
  REQUIRE(f.results.size() == 3);
  CHECK(f.per_peer() == std::map<std::string, int>{{"10.0.0.1:1", 3}});
  CHECK(f.sim->stats("10.0.0.1:1").connects == 2);
}

TEST_CASE("channel: a call bounced by a dying connection still ends at its deadline") {
  channel_fixture f;
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  REQUIRE(ch.state() == cs::ready);
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  f.sim->drop("10.0.0.1:1");
  f.start(ch, {.timeout = 2s, .wait_for_ready = true});  // picked before the loss is known
  f.advance(1999ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.results[0].status.message.find("waiting for a subchannel") != std::string::npos);
}

TEST_CASE("channel: the connection enforces the deadline of a call it carries") {
  channel_fixture f;
  f.sim->set_behavior("10.0.0.1:1", {.latency = 10s});
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  f.start(ch, {.timeout = 3s});
  f.advance(2999ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.results[0].peer == "10.0.0.1:1");  // ended by the connection, not the channel
  CHECK(f.sim->stats("10.0.0.1:1").cancels == 1);
}

TEST_CASE("channel: invalid request metadata fails the call with a clear INTERNAL status") {
  channel_fixture f;
  auto ch = f.connected("pick_first", {"10.0.0.1:1"});
  f.start(ch, {.md = {{"X-Upper", "v"}}});
  f.start(ch, {.md = {{"content-type", "text/plain"}}});
  f.start(ch, {.md = {{"x-text", std::string("\x01\xff", 2)}}});
  f.start(ch, {.md = {{"x-data-bin", std::string("\x01\xff", 2)}, {"x-ok", "fine"}}});
  f.run();
  REQUIRE(f.results.size() == 4);
  CHECK(f.results[0].status.code == status_code::internal);
  CHECK(f.results[0].status.message.find("X-Upper") != std::string::npos);
  CHECK(f.results[1].status.message.find("reserved") != std::string::npos);
  CHECK(f.results[2].status.message.find("-bin") != std::string::npos);
  CHECK(f.results[3].status.ok());
  CHECK(f.sim->stats("10.0.0.1:1").calls == 1);  // the bad ones never left the channel
}

TEST_CASE("channel: calls placed on the caller's thread while READY keep the channel from idling") {
  channel_fixture f;
  f.opts.idle_timeout = 10s;
  auto ch = f.dial_manual();
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch);  // through the channel actor: nothing is READY yet
  f.run();
  REQUIRE(ch.state() == cs::ready);
  f.advance(6s);
  f.start(ch);  // READY: picked from the published picker, straight to the connection
  f.run();
  CHECK(f.results.size() == 2);
  f.advance(4s);  // 10 s after the first call, 4 s after the last one
  CHECK(ch.state() == cs::ready);
  f.advance(6s);
  CHECK(ch.state() == cs::idle);
  f.start(ch);  // IDLE: the fast path is off; the actor reconnects
  f.run();
  CHECK(ch.state() == cs::ready);
  CHECK(f.results.size() == 3);
}
