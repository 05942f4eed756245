// Client-side health checking (gRFC A17) in the subchannel, in virtual time: the simulated
// peer holds grpc.health.v1.Health/Watch open and the test scripts what it says.
#include <doctest/doctest.h>

#include "actors/subchannel/subchannel.hpp"
#include "tests/support/actor_fixture.hpp"
#include "tests/support/recorders.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;

namespace {

const std::string addr = "10.0.0.1:50051";
const std::string watch = "/grpc.health.v1.Health/Watch";

/// A serialized HealthCheckResponse{status}.
std::string response(int status) {
  return std::string{"\x08"} + static_cast<char>(status);
}
const std::string serving = response(1);
const std::string not_serving = response(2);

struct health_fixture : test::actor_fixture {
  std::shared_ptr<test::balancer_log> log = std::make_shared<test::balancer_log>();
  subchannel_actor sc;

  explicit health_fixture(std::optional<std::string> service, transport::sim_behavior b = {}) {
    b.held_methods = {watch};
    sim->set_behavior(addr, std::move(b));
    backoff_params p;
    p.jitter = 0;
    sc = spawn_subchannel(
        sys, {7, addr, sim, p, 42, test::spawn_recording_balancer(sys, log), std::move(service)});
    run();
  }
  ~health_fixture() {
    caf::anon_send(sc, subchannel_shutdown{});
    run();
  }
  void connect() {
    caf::anon_send(sc, subchannel_connect{});
    run();
  }
  void say(const std::string& msg) {
    sim->push(addr, watch, msg);
    run();
  }
  void end_watch(status why) {
    sim->end_streams(addr, watch, std::move(why));
    run();
  }
  void set_service(std::optional<std::string> s) {
    caf::anon_send(sc, subchannel_health_check{std::move(s)});
    run();
  }
  std::vector<std::string> watches() const { return sim->held(addr, watch); }
  const subchannel_update& last() const { return log->updates.back(); }
};

}  // namespace

TEST_CASE("health: SERVING makes the subchannel READY with its connection") {
  health_fixture f{"svc"};
  f.connect();
  REQUIRE(f.log->states() == std::vector{cs::connecting});  // connected: awaiting health
  CHECK(f.watches() == std::vector<std::string>{"\x0A\x03svc"});
  f.say(serving);
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::ready});
  REQUIRE(f.last().conn);
  CHECK(f.last().conn->address() == addr);
  CHECK(f.last().last_error.ok());
  f.say(serving);  // a repeat changes nothing
  CHECK(f.log->updates.size() == 2);
}

TEST_CASE("health: the first response is awaited in CONNECTING without a connect timeout") {
  health_fixture f{""};
  f.connect();
  CHECK(f.watches() == std::vector<std::string>{""});  // "" is the empty request
  f.advance(1min);                                     // well past the 20 s connect timeout
  CHECK(f.log->states() == std::vector{cs::connecting});
  CHECK(f.sim->stats(addr).connects == 1);
  CHECK(f.sim->stats(addr).open == 1);
  f.say(serving);
  CHECK(f.last().state == cs::ready);
}

TEST_CASE("health: NOT_SERVING makes a READY subchannel TRANSIENT_FAILURE and SERVING undoes it") {
  health_fixture f{"svc"};
  f.connect();
  f.say(serving);
  f.say(not_serving);
  REQUIRE(f.last().state == cs::transient_failure);
  CHECK(f.last().last_error.code == status_code::unavailable);
  CHECK(f.last().last_error.message ==
        "health check of service 'svc' on 10.0.0.1:50051: NOT_SERVING");
  CHECK(!f.last().conn);
  f.advance(10s);  // no backoff, no reconnect: the connection stays up
  CHECK(f.last().state == cs::transient_failure);
  CHECK(f.sim->stats(addr).connects == 1);
  f.say(response(3));  // another reason: reported
  CHECK(f.last().last_error.message.ends_with(": SERVICE_UNKNOWN"));
  f.say(serving);
  CHECK(f.log->states() == std::vector{cs::connecting, cs::ready, cs::transient_failure,
                                       cs::transient_failure, cs::ready});
  CHECK(f.last().conn);
  CHECK(f.watches().size() == 1);  // one Watch all along
}

TEST_CASE("health: UNKNOWN and malformed responses are not serving") {
  health_fixture f{"svc"};
  f.connect();
  f.say("");  // status absent: UNKNOWN
  REQUIRE(f.last().state == cs::transient_failure);
  CHECK(f.last().last_error.message.ends_with(": UNKNOWN"));
  f.say("\x08");  // truncated varint
  REQUIRE(f.last().state == cs::transient_failure);
  CHECK(f.last().last_error.message.find("malformed HealthCheckResponse") != std::string::npos);
  f.say(serving);
  CHECK(f.last().state == cs::ready);
}

TEST_CASE("health: UNIMPLEMENTED means no health service - READY with the reason once") {
  health_fixture f{"svc"};
  f.connect();
  f.end_watch({status_code::unimplemented, "unknown service grpc.health.v1.Health"});
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::ready});
  CHECK(f.last().conn);
  CHECK(f.last().last_error.code == status_code::unimplemented);
  CHECK(f.last().last_error.message ==
        "health checking disabled: 10.0.0.1:50051 does not implement grpc.health.v1.Health "
        "(UNIMPLEMENTED)");
  f.advance(5min);  // no new Watch on this connection
  CHECK(f.watches().empty());
  CHECK(f.sim->stats(addr).calls == 1);
  CHECK(f.log->updates.size() == 2);
}

TEST_CASE("health: a Watch ending with an error is TRANSIENT_FAILURE and reopens after backoff") {
  health_fixture f{"svc"};
  f.connect();
  f.say(serving);
  f.end_watch({status_code::internal, "boom"});
  REQUIRE(f.last().state == cs::transient_failure);
  CHECK(f.last().last_error.message ==
        "health check of service 'svc' on 10.0.0.1:50051: Watch ended with INTERNAL: boom");
  CHECK(f.watches().empty());
  f.advance(999ms);
  CHECK(f.watches().empty());
  f.advance(1ms);  // the initial backoff: 1 s
  CHECK(f.watches().size() == 1);
  CHECK(f.last().state == cs::transient_failure);  // until the new Watch answers
  // No response this time: the next wait grows to 1.6 s.
  f.end_watch({status_code::internal, "boom again"});
  CHECK(f.last().last_error.message.ends_with("boom again"));
  f.advance(1599ms);
  CHECK(f.watches().empty());
  f.advance(1ms);
  REQUIRE(f.watches().size() == 1);
  f.say(serving);
  CHECK(f.last().state == cs::ready);
  // A response resets the backoff: 1 s again.
  f.end_watch({status_code::resource_exhausted, "too big"});
  f.advance(1s);
  CHECK(f.watches().size() == 1);
  CHECK(f.sim->stats(addr).connects == 1);  // the connection stayed up throughout
  CHECK(f.sim->stats(addr).calls == 4);
}

TEST_CASE("health: a Watch ended with UNAVAILABLE on a live connection fails at the retry") {
  // UNAVAILABLE is also how a lost connection ends its calls: nothing is reported at once
  // (on_closed would follow); the connection still being up when the backoff is over
  // makes it a failed health check.
  health_fixture f{"svc"};
  f.connect();
  f.say(serving);
  f.end_watch({status_code::unavailable, "health service restarting"});
  CHECK(f.last().state == cs::ready);
  f.advance(1s);
  REQUIRE(f.last().state == cs::transient_failure);
  CHECK(f.last().last_error.message.ends_with(
      "Watch ended with UNAVAILABLE: health service restarting"));
  CHECK(f.watches().size() == 1);
  f.say(serving);
  CHECK(f.log->states() ==
        std::vector{cs::connecting, cs::ready, cs::transient_failure, cs::ready});
}

TEST_CASE("health: losing the connection during a Watch is reported once as a loss") {
  health_fixture f{"svc"};
  f.connect();
  f.say(serving);
  f.advance(1s);  // established
  f.sim->drop(addr);
  f.run();
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::ready, cs::idle});
  CHECK(f.last().last_error.message.find("reset") != std::string::npos);
  f.advance(1min);  // no Watch retry for the lost connection
  CHECK(f.log->updates.size() == 3);
  CHECK(f.sim->stats(addr).calls == 1);
  // The next connection watches again, CONNECTING until it answers.
  f.connect();
  CHECK(f.last().state == cs::connecting);
  CHECK(f.watches().size() == 1);
  f.say(not_serving);
  CHECK(f.last().state == cs::transient_failure);
}

TEST_CASE("health: a connection lost while awaiting the first response is a failed attempt") {
  health_fixture f{"svc"};
  f.connect();
  f.advance(100ms);
  f.sim->drop(addr);
  f.run();
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::transient_failure});
  CHECK(f.last().last_error.message.find("after READY: counted as a failed connection attempt") !=
        std::string::npos);
  f.advance(900ms);
  CHECK(f.log->states() == std::vector{cs::connecting, cs::transient_failure, cs::idle});
}

TEST_CASE("health: turning health checking off at run time reports READY at once") {
  health_fixture f{"svc"};
  f.connect();
  f.set_service(std::nullopt);  // while awaiting the first response
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::ready});
  CHECK(f.last().conn);
  CHECK(f.watches().empty());
  CHECK(f.sim->stats(addr).cancels == 1);
  f.set_service("svc");  // on again: CONNECTING until the new Watch answers
  CHECK(f.last().state == cs::connecting);
  f.say(not_serving);
  REQUIRE(f.last().state == cs::transient_failure);
  f.set_service(std::nullopt);  // from TRANSIENT_FAILURE
  CHECK(f.last().state == cs::ready);
  CHECK(f.last().last_error.ok());
  CHECK(f.sim->stats(addr).connects == 1);
}

TEST_CASE("health: turned on at run time or renamed the Watch restarts on the new service") {
  health_fixture f{std::nullopt};
  f.connect();
  REQUIRE(f.log->states() == std::vector{cs::connecting, cs::ready});  // no health check
  CHECK(f.sim->stats(addr).calls == 0);
  f.set_service("a");
  CHECK(f.last().state == cs::connecting);
  CHECK(f.watches() == std::vector<std::string>{"\x0A\x01"
                                                "a"});
  f.say(serving);
  CHECK(f.last().state == cs::ready);
  f.set_service("a");  // unchanged: nothing happens
  CHECK(f.log->updates.size() == 4);
  f.set_service("b");
  CHECK(f.last().state == cs::connecting);
  CHECK(f.watches() == std::vector<std::string>{"\x0A\x01"
                                                "b"});
  f.say(serving);
  CHECK(f.last().state == cs::ready);
}

TEST_CASE("health: a service set while not connected is watched by the next connection") {
  transport::sim_behavior slow;
  slow.connect_delay = 100ms;
  health_fixture f{std::nullopt, slow};
  f.set_service("later");
  f.connect();
  f.advance(100ms);
  CHECK(f.log->states() == std::vector{cs::connecting});
  CHECK(f.watches() == std::vector<std::string>{"\x0A\x05later"});
}

TEST_CASE("health: stale Watch responses and retry timers are ignored") {
  health_fixture f{"a"};
  f.connect();
  // SERVING for "a" is on its way when the service becomes "b": the subchannel handles
  // the change first, so that response belongs to a cancelled Watch.
  f.sim->push(addr, watch, serving);
  caf::anon_send(f.sc, subchannel_health_check{"b"});
  f.run();
  CHECK(f.log->states() == std::vector{cs::connecting});
  REQUIRE(f.watches().size() == 1);
  // A Watch that failed arms a retry; a rename before it fires makes it stale.
  f.end_watch({status_code::internal, "boom"});
  REQUIRE(f.last().state == cs::transient_failure);
  f.set_service("c");
  CHECK(f.last().state == cs::connecting);
  auto calls = f.sim->stats(addr).calls;
  f.advance(5s);
  CHECK(f.watches().size() == 1);
  CHECK(f.sim->stats(addr).calls == calls);  // the old retry opened nothing
  f.say(serving);
  CHECK(f.last().state == cs::ready);
}

TEST_CASE("health: shutdown cancels the Watch and reports nothing more") {
  health_fixture f{"svc"};
  f.connect();
  f.say(serving);
  auto n = f.log->updates.size();
  caf::anon_send(f.sc, subchannel_shutdown{});
  f.run();
  CHECK(f.sim->stats(addr).cancels == 1);
  CHECK(f.sim->stats(addr).open == 0);
  CHECK(f.log->updates.size() == n);
}
