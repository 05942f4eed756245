// Retries of client- and bidi-streaming calls (gRFC A6: retried while uncommitted, the
// request messages replayed) over the simulated transport, in virtual time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <achan/channel.hpp>
#include "tests/support/manual_channel.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;

namespace {

const std::string retry_unavailable =
    R"({"methodConfig": [{"name": [{"service": "echo.Echo"}], "retryPolicy": {
        "maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "0.1s",
        "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]}}]})";

struct stream_fixture : test::manual_channel_fixture {
  std::vector<bool> sent;  // every `sent` callback, in order
  std::vector<std::string> echoed;

  stream_fixture() : manual_channel_fixture(11) { opts.service_config = retry_unavailable; }

  void reply(status st) {
    transport::sim_behavior b;
    b.reply = std::move(st);
    sim->set_behavior("10.0.0.1:1", b);
  }

  channel connected() { return manual_channel_fixture::connected({"10.0.0.1:1"}); }

  stream_call client_stream(channel& ch) {
    return ch.client_stream("/echo.Echo/Collect", {}, record());
  }
  void write(stream_call& s, std::string m) {
    CHECK(s.write(std::move(m), [this](bool ok) { sent.push_back(ok); }));
  }
};

}  // namespace

TEST_CASE("stream retry: a failed client stream is sent again with every message") {
  stream_fixture f;
  f.reply({status_code::unavailable, "try again"});
  auto ch = f.connected();
  auto s = f.client_stream(ch);
  f.write(s, "a");
  f.write(s, "b");
  s.writes_done();
  f.run();  // the first attempt fails; the retry waits for its backoff
  CHECK(f.results.empty());
  f.reply({});
  f.advance(1s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  CHECK(f.results[0].payload == "ab");
  CHECK(f.sim->stats("10.0.0.1:1").calls == 2);
  CHECK(f.sent == std::vector<bool>{true, true});  // once each, though sent twice
  CHECK(ch.stats().retries == 1);
}

TEST_CASE("stream retry: messages written after a lost attempt reach the next one") {
  stream_fixture f;
  f.opts.wait_for_ready = true;  // the next attempt waits for the reconnect
  auto ch = f.connected();
  auto s = f.client_stream(ch);
  f.write(s, "a");
  f.run();
  f.sim->drop("10.0.0.1:1");  // the attempt ends UNAVAILABLE, nothing committed
  f.advance(50ms);
  f.write(s, "b");
  s.writes_done();
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK_MESSAGE(f.results[0].status.ok(), f.results[0].status.to_string());
  CHECK(f.results[0].payload == "ab");
  CHECK(f.sent == std::vector<bool>{true, true});
}

TEST_CASE("stream retry: a stream larger than the per-call retry buffer is not retried") {
  stream_fixture f;
  f.opts.per_call_retry_buffer = 3;
  f.reply({status_code::unavailable, "try again"});
  auto ch = f.connected();
  auto s = f.client_stream(ch);
  f.write(s, "ab");
  f.write(s, "cd");  // 4 bytes: the copies are given up, the call commits
  s.writes_done();
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 1);
}

TEST_CASE("stream retry: a bidi stream commits on its first response message") {
  stream_fixture f;
  f.reply({status_code::unavailable, "after the echo"});
  auto ch = f.connected();
  auto s = ch.bidi_stream(
      "/echo.Echo/Chat", {}, [&f](std::string&& m) { f.echoed.push_back(std::move(m)); },
      [&f](call_result&& r) { f.results.push_back(std::move(r)); });
  f.write(s, "x");
  f.run();
  s.writes_done();
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.echoed == std::vector<std::string>{"x"});
  CHECK(f.sim->stats("10.0.0.1:1").calls == 1);
}

TEST_CASE("stream retry: cancelling a stream waiting to retry ends it with its writes") {
  stream_fixture f;
  f.reply({status_code::unavailable, "try again"});
  auto ch = f.connected();
  auto s = f.client_stream(ch);
  f.write(s, "a");
  s.writes_done();
  f.run();
  s.cancel();
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
  CHECK(f.sim->stats("10.0.0.1:1").calls == 1);
  CHECK(f.sent == std::vector<bool>{true});
}
