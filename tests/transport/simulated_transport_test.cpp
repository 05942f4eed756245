// The simulated transport's scripted behaviours, on the virtual clock.
#include <doctest/doctest.h>

#include <vector>

#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;
using mode = transport::sim_behavior::connect_mode;

namespace {

struct event_log final : transport::connection_events {
  std::vector<std::string> events;
  void on_ready() override { events.push_back("ready"); }
  void on_connect_failed(status why) override { events.push_back("failed: " + why.message); }
  void on_closed(status why) override { events.push_back("closed: " + why.message); }
};

struct sim_fixture : test::actor_fixture {
  std::shared_ptr<event_log> log = std::make_shared<event_log>();
  std::vector<call_result> results;
  ~sim_fixture() { run(); }

  call_ptr make(std::uint64_t id, std::string payload = "req") {
    return std::make_shared<call>(id, "/m", std::move(payload), metadata{}, time_point::max(),
                                  false, [this](call_result&& r) { results.push_back(r); });
  }
};

}  // namespace

TEST_CASE("sim: accepts after the scripted delay and echoes calls after their latency") {
  sim_fixture f;
  f.sim->set_behavior("a:1", {.connect_delay = 30ms, .latency = 5ms});
  auto conn = f.sim->connect("a:1", f.log);
  f.advance(29ms);
  CHECK(f.log->events.empty());
  f.advance(1ms);
  REQUIRE(f.log->events == std::vector<std::string>{"ready"});
  conn->start_call(f.make(1, "hello"));
  f.advance(4ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].payload == "hello");
  CHECK(f.results[0].peer == "a:1");
  CHECK(f.sim->stats("a:1").calls == 1);
}

TEST_CASE("sim: refuse reports connect failure and hang reports nothing") {
  sim_fixture f;
  f.sim->set_behavior("r:1", {mode::refuse});
  f.sim->set_behavior("h:1", {mode::hang});
  f.sim->connect("r:1", f.log);
  auto hung = f.sim->connect("h:1", f.log);
  f.advance(1h);
  CHECK(f.log->events == std::vector<std::string>{"failed: connection refused (r:1)"});
  hung->close();
  f.run();
}

TEST_CASE("sim: drop fails in-flight calls with UNAVAILABLE and reports closed") {
  sim_fixture f;
  f.sim->set_behavior("a:1", {.answer_calls = false});
  auto conn = f.sim->connect("a:1", f.log);
  f.run();
  conn->start_call(f.make(1));
  conn->start_call(f.make(2));
  f.run();
  f.sim->drop("a:1");
  f.run();
  REQUIRE(f.results.size() == 2);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.log->events.back().find("closed:") == 0);
  CHECK(f.sim->stats("a:1").open == 0);
}

TEST_CASE("sim: close fails calls and delivers no event") {
  sim_fixture f;
  f.sim->set_behavior("a:1", {.connect_delay = 10ms, .answer_calls = false});
  auto conn = f.sim->connect("a:1", f.log);
  conn->close();
  f.advance(1s);
  CHECK(f.log->events.empty());  // the accept after close is not reported
  auto conn2 = f.sim->connect("a:1", f.log);
  f.advance(10ms);
  conn2->start_call(f.make(1));
  f.run();
  conn2->close();
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.message == "connection closed");
  CHECK(f.log->events == std::vector<std::string>{"ready"});
}

TEST_CASE("sim: scripted status and responder shape the reply") {
  sim_fixture f;
  f.sim->set_behavior("a:1", {.reply = {status_code::resource_exhausted, "too big"}});
  f.sim->set_behavior("b:1", {.responder = [](const call& c) {
                        return call_result{{}, "resp-to-" + c.payload(), {}, {}};
                      }});
  auto a = f.sim->connect("a:1", f.log);
  auto b = f.sim->connect("b:1", f.log);
  f.run();
  a->start_call(f.make(1));
  b->start_call(f.make(2, "x"));
  f.run();
  REQUIRE(f.results.size() == 2);
  CHECK(f.results[0].status.code == status_code::resource_exhausted);
  CHECK(f.results[0].payload.empty());
  CHECK(f.results[1].payload == "resp-to-x");
  CHECK(f.results[1].peer == "b:1");
}

TEST_CASE("sim: cancel_call releases the call without a reply") {
  sim_fixture f;
  f.sim->set_behavior("a:1", {.latency = 1s});
  auto conn = f.sim->connect("a:1", f.log);
  f.run();
  auto c = f.make(1);
  conn->start_call(c);
  f.run();
  c->fail(status_code::cancelled, "by test");
  conn->cancel_call(c);
  f.advance(2s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
}

TEST_CASE("sim: drop_after closes every connection that long after READY") {
  sim_fixture f;
  f.sim->set_behavior("a:1", {.connect_delay = 5ms, .drop_after = 20ms});
  auto first = f.sim->connect("a:1", f.log);
  f.advance(24ms);
  CHECK(f.log->events == std::vector<std::string>{"ready"});
  f.advance(1ms);
  REQUIRE(f.log->events.size() == 2);
  CHECK(f.log->events[1] == "closed: connection closed by simulated peer right after READY");
  CHECK(f.sim->stats("a:1").open == 0);
  auto closed_early = f.sim->connect("a:1", f.log);  // closed by its owner: no event
  f.advance(5ms);
  closed_early->close();
  f.advance(1s);
  CHECK(f.log->events.size() == 3);  // its "ready" only
}
