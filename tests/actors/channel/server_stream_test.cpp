// Server-streaming calls through the channel over the simulated transport, in virtual time.
#include <doctest/doctest.h>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

struct stream_fixture : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  std::vector<std::string> events;  // "msg:<payload>" and "done:<CODE>", in order
  std::optional<channel> ch;

  explicit stream_fixture(transport::sim_behavior b) {
    sim->set_behavior("10.0.0.1:1", std::move(b));
    dial_options o;
    o.transport = sim;
    o.resolvers.push_back(resolver);
    auto d = achan::dial(sys, "manual:///x", o);
    REQUIRE(d);
    ch = *d;
    resolver->update({"10.0.0.1:1"});
    ch->connect();
    run();
  }
  ~stream_fixture() { run(); }

  call_handle start(call_options o = {}) {
    return ch->server_stream(
        "/achan.test.Echo/ServerStream", "tick", std::move(o),
        [this](std::string&& m) { events.push_back("msg:" + m); },
        [this](call_result&& r) {
          events.push_back("done:" + std::string{to_string(r.status.code)});
        });
  }
};

}  // namespace

TEST_CASE("server_stream: messages arrive in order and then exactly one status") {
  stream_fixture f{{.latency = 100ms, .stream_replies = 3}};
  f.start();
  f.advance(100ms);
  CHECK(f.events == std::vector<std::string>{"msg:tick"});
  f.advance(300ms);
  CHECK(f.events == std::vector<std::string>{"msg:tick", "msg:tick", "msg:tick", "done:OK"});
}

TEST_CASE("server_stream: cancel mid-stream ends it with CANCELLED and no later message") {
  stream_fixture f{{.latency = 100ms, .stream_replies = 5}};
  auto h = f.start();
  f.advance(150ms);
  h.cancel();
  f.advance(1s);
  CHECK(f.events == std::vector<std::string>{"msg:tick", "done:CANCELLED"});
}

TEST_CASE("server_stream: the deadline ends a long stream with DEADLINE_EXCEEDED") {
  stream_fixture f{{.latency = 100ms, .stream_replies = 50}};
  f.start({.timeout = 250ms});
  f.advance(5s);
  CHECK(f.events == std::vector<std::string>{"msg:tick", "msg:tick", "done:DEADLINE_EXCEEDED"});
}

TEST_CASE("server_stream: a server error after some messages is the final status") {
  stream_fixture f{
      {.latency = 10ms, .reply = {status_code::aborted, "stream broke"}, .stream_replies = 2}};
  f.start();
  f.advance(1s);
  CHECK(f.events == std::vector<std::string>{"msg:tick", "msg:tick", "done:ABORTED"});
}

TEST_CASE("client_stream: every written message reaches the server before the reply") {
  stream_fixture f{{.latency = 10ms}};
  std::vector<call_result> done;
  auto s = f.ch->client_stream("/achan.test.Echo/ClientStream", {},
                               [&](call_result&& r) { done.push_back(std::move(r)); });
  f.run();  // the call is on its connection before anything was written
  CHECK(s.write("a"));
  CHECK(s.write("b"));
  f.advance(50ms);
  CHECK(done.empty());  // no half-close yet
  CHECK(s.write("c"));
  s.writes_done();
  CHECK(!s.write("too late"));
  f.advance(50ms);
  REQUIRE(done.size() == 1);
  CHECK(done[0].status.ok());
  CHECK(done[0].payload == "abc");
}

TEST_CASE("bidi_stream: responses interleave with requests and end after the half-close") {
  stream_fixture f{{.latency = 10ms}};
  auto s = f.ch->bidi_stream(
      "/achan.test.Echo/Bidi", {}, [&](std::string&& m) { f.events.push_back("msg:" + m); },
      [&](call_result&& r) {
        f.events.push_back("done:" + std::string{to_string(r.status.code)});
      });
  s.write("1");  // written while the call may still be on its way: queued
  f.advance(20ms);
  CHECK(f.events == std::vector<std::string>{"msg:1"});
  s.write("2");
  f.advance(20ms);
  s.writes_done();
  f.advance(20ms);
  CHECK(f.events == std::vector<std::string>{"msg:1", "msg:2", "done:OK"});
}

TEST_CASE("bidi_stream: cancel ends it and later writes are refused") {
  stream_fixture f{{.latency = 10ms}};
  auto s = f.ch->bidi_stream(
      "/achan.test.Echo/Bidi", {}, [&](std::string&& m) { f.events.push_back("msg:" + m); },
      [&](call_result&& r) {
        f.events.push_back("done:" + std::string{to_string(r.status.code)});
      });
  s.write("1");
  f.advance(20ms);
  s.cancel();
  CHECK(!s.write("2"));
  f.advance(1s);
  CHECK(f.events == std::vector<std::string>{"msg:1", "done:CANCELLED"});
  CHECK(s.done());
}
