// Subchannel state machine and backoff timing, in virtual time.
#include <doctest/doctest.h>

#include "actors/subchannel/subchannel.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/recorders.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;
using mode = transport::sim_behavior::connect_mode;

namespace {

struct subchannel_fixture : test::actor_fixture {
  std::shared_ptr<test::balancer_log> log = std::make_shared<test::balancer_log>();
  subchannel_actor sc;

  explicit subchannel_fixture(transport::sim_behavior b, double jitter = 0.0) {
    sim->set_behavior("10.0.0.1:1", std::move(b));
    backoff_params p;
    p.jitter = jitter;
    sc = spawn_subchannel(sys,
                          {7, "10.0.0.1:1", sim, p, 42, test::spawn_recording_balancer(sys, log)});
    run();
  }
  ~subchannel_fixture() {
    caf::anon_send(sc, subchannel_shutdown{});
    run();
  }
  void connect() {
    caf::anon_send(sc, subchannel_connect{});
    run();
  }
  cs last() const { return log->updates.back().state; }
};

transport::sim_behavior refuse() {
  return {mode::refuse};
}

}  // namespace

TEST_CASE("subchannel: starts IDLE and does nothing until asked to connect") {
  subchannel_fixture f{{}};
  CHECK(f.log->updates.empty());
  CHECK(f.sim->stats("10.0.0.1:1").connects == 0);
}

TEST_CASE("subchannel: refused connect goes TRANSIENT_FAILURE - then IDLE after exactly 1 s") {
  subchannel_fixture f{refuse()};
  f.connect();
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::transient_failure});
  CHECK(f.log->updates.back().last_error.code == status_code::unavailable);
  CHECK(f.log->updates.back().last_error.message.find("refused") != std::string::npos);
  f.advance(999ms);
  CHECK(f.last() == cs::transient_failure);
  f.advance(1ms);
  CHECK(f.last() == cs::idle);
}

TEST_CASE("subchannel: backoff grows 1 s / 1.6 s / 2.56 s between attempts (jitter 0)") {
  subchannel_fixture f{refuse()};
  for (auto wait : {1000ms, 1600ms, 2560ms, 4096ms}) {
    f.connect();
    REQUIRE(f.last() == cs::transient_failure);
    f.advance(wait - 1ms);
    CHECK(f.last() == cs::transient_failure);
    f.advance(1ms);
    CHECK(f.last() == cs::idle);
  }
  CHECK(f.sim->stats("10.0.0.1:1").connects == 4);
}

TEST_CASE("subchannel: connect ignored unless IDLE (no second attempt while backing off)") {
  subchannel_fixture f{refuse()};
  f.connect();
  f.connect();
  CHECK(f.sim->stats("10.0.0.1:1").connects == 1);
  CHECK(f.log->states() == std::vector{cs::connecting, cs::transient_failure});
}

TEST_CASE("subchannel: a hanging connect times out after the 20 s minimum connect timeout") {
  subchannel_fixture f{{mode::hang}};
  f.connect();
  f.advance(19999ms);
  CHECK(f.last() == cs::connecting);
  f.advance(1ms);
  // The 1 s backoff has long passed: TRANSIENT_FAILURE, then IDLE at once.
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::transient_failure, cs::idle});
  CHECK(f.log->updates[1].last_error.message.find("timed out after 20s") != std::string::npos);
}

TEST_CASE("subchannel: slow failure waits only the rest of the backoff") {
  transport::sim_behavior b{mode::refuse, 400ms};
  subchannel_fixture f{b};
  f.connect();
  f.advance(400ms);
  REQUIRE(f.last() == cs::transient_failure);
  f.advance(599ms);
  CHECK(f.last() == cs::transient_failure);
  f.advance(1ms);
  CHECK(f.last() == cs::idle);
}

TEST_CASE("subchannel: READY carries the connection and loss reports IDLE with the reason") {
  subchannel_fixture f{{mode::accept, 100ms}};
  f.connect();
  CHECK(f.last() == cs::connecting);
  f.advance(100ms);
  REQUIRE(f.last() == cs::ready);
  REQUIRE(f.log->updates.back().conn);
  CHECK(f.log->updates.back().conn->address() == "10.0.0.1:1");
  f.advance(1s);  // READY for the initial backoff: an established connection
  f.sim->drop("10.0.0.1:1");
  f.run();
  CHECK(f.last() == cs::idle);
  CHECK(f.log->updates.back().last_error.message.find("reset") != std::string::npos);
  CHECK(!f.log->updates.back().conn);
}

TEST_CASE("subchannel: a connection READY for 1 s resets the backoff to 1 s") {
  subchannel_fixture f{refuse()};
  f.connect();
  f.advance(1s);
  f.connect();  // second failure: next wait 1.6 s
  f.advance(1600ms);
  REQUIRE(f.last() == cs::idle);
  f.sim->set_behavior("10.0.0.1:1", {});
  f.connect();
  REQUIRE(f.last() == cs::ready);
  f.advance(1s);
  f.sim->set_behavior("10.0.0.1:1", refuse());
  f.sim->drop("10.0.0.1:1");
  f.run();
  REQUIRE(f.last() == cs::idle);
  f.connect();
  REQUIRE(f.last() == cs::transient_failure);
  f.advance(999ms);
  CHECK(f.last() == cs::transient_failure);
  f.advance(1ms);
  CHECK(f.last() == cs::idle);
}

TEST_CASE("subchannel: shutdown closes the connection and reports nothing more") {
  subchannel_fixture f{{}};
  f.connect();
  REQUIRE(f.last() == cs::ready);
  CHECK(f.sim->stats("10.0.0.1:1").open == 1);
  auto n = f.log->updates.size();
  caf::anon_send(f.sc, subchannel_shutdown{});
  f.run();
  CHECK(f.sim->stats("10.0.0.1:1").open == 0);
  f.sim->drop("10.0.0.1:1");
  f.run();
  CHECK(f.log->updates.size() == n);
}

TEST_CASE("subchannel: a connection lost within 1 s of READY counts as a failed attempt") {
  // A server that sends SETTINGS and closes at once: READY, then lost 10 ms later. That
  // used to report IDLE with the backoff reset, and the policy reconnected at once,
  // every 10 ms. Now it is TRANSIENT_FAILURE until the attempt's backoff delay is over,
  // and the backoff keeps growing.
  subchannel_fixture f{{.drop_after = 10ms}};
  for (auto wait : {1000ms, 1600ms, 2560ms}) {
    f.connect();
    REQUIRE(f.last() == cs::ready);
    f.advance(10ms);
    REQUIRE(f.last() == cs::transient_failure);
    CHECK(f.log->updates.back().last_error.message.find("right after READY") != std::string::npos);
    CHECK(f.log->updates.back().last_error.message.find("10ms after READY") != std::string::npos);
    f.advance(wait - 10ms - 1ms);
    CHECK(f.last() == cs::transient_failure);
    f.advance(1ms);
    CHECK(f.last() == cs::idle);
  }
  CHECK(f.sim->stats("10.0.0.1:1").connects == 3);
}

TEST_CASE("subchannel: a connection READY for the initial backoff counts as established") {
  subchannel_fixture f{{.drop_after = 1s}};
  f.connect();
  f.advance(999ms);
  REQUIRE(f.last() == cs::ready);
  f.advance(1ms);
  CHECK(f.last() == cs::idle);  // lost after 1 s of READY: reconnect at once
  f.connect();
  CHECK(f.last() == cs::ready);
  CHECK(f.sim->stats("10.0.0.1:1").connects == 2);
}
