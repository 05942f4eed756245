// The HTTP/2 transport against peers that misbehave: every call must end with a clear
// status within its deadline, the connection must be dropped and the process must
// keep running (the suite runs under ASan+UBSan).
#include <doctest/doctest.h>

#include <condition_variable>
#include <future>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/h2_transport.hpp>
#include "tests/support/raw_server.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

std::string u8(std::initializer_list<int> bytes) {
  std::string s;
  for (int b : bytes)
    s.push_back(static_cast<char>(b));
  return s;
}

// HPACK: ":status: 200" (static index 8) and "content-type: application/grpc"
// (literal without indexing, static name index 31).
const std::string ok_headers = u8({0x88, 0x0f, 0x10, 0x10}) + "application/grpc";
// HPACK: "grpc-status: 0" as a literal with a new name.
const std::string ok_trailers = u8({0x00, 0x0b}) + "grpc-status" + u8({0x01}) + "0";

constexpr std::uint8_t HEADERS = 0x1, DATA = 0x0;
constexpr std::uint8_t END_STREAM = 0x1, END_HEADERS = 0x4;

struct outcome {
  call_result result;
  std::chrono::milliseconds took;
};

/// A channel to `peer` over the HTTP/2 transport, with the actor system it runs on.
struct peer_channel {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  channel ch;

  explicit peer_channel(test::raw_server& peer, dial_options d = {}) : ch(dial(peer, d)) {}
  ~peer_channel() { ch.close(); }

  channel dial(test::raw_server& peer, dial_options& d) {
    d.transport = transport::make_h2_transport();
    auto c = achan::dial(sys, "ipv4:" + peer.address(), d);
    REQUIRE(c);
    return *c;
  }
};

/// A peer that sends its SETTINGS, then reads for `d` and never answers.
test::raw_server::script silent_after_settings(std::chrono::milliseconds d) {
  return [d](test::raw_peer& p) {
    p.write(test::h2_settings());
    p.read_for(d);
  };
}

/// Dials `peer` with short connect timeouts and makes one call with `opts`.
outcome call_peer(test::raw_server& peer, call_options opts) {
  dial_options d;
  d.backoff.initial = 200ms;
  d.backoff.min_connect_timeout = 1s;
  peer_channel pc{peer, d};
  auto t0 = std::chrono::steady_clock::now();
  auto r = pc.ch.call("/achan.test.Echo/Unary", "payload", std::move(opts)).get();
  auto took =
      std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() - t0);
  return {std::move(r), took};
}

}  // namespace

TEST_CASE("bad peer: garbage instead of HTTP/2 fails the call with UNAVAILABLE") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.read_for(100ms, 24);
    p.write("this is not an HTTP/2 server\r\n\r\nreally not\r\n");
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK(o.result.status.code == status_code::unavailable);
  CHECK_MESSAGE(o.result.status.message.find("HTTP/2") != std::string::npos,
                o.result.status.message);
  CHECK(o.took < 3s);
}

TEST_CASE("bad peer: an HTTP/1.1 response fails the call with UNAVAILABLE") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.read_for(100ms, 24);
    p.write("HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\nConnection: close\r\n\r\n");
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK(o.result.status.code == status_code::unavailable);
  CHECK(o.took < 3s);
}

TEST_CASE("bad peer: a server that accepts and never answers ends in DEADLINE_EXCEEDED") {
  test::raw_server peer{[](test::raw_peer& p) { p.read_for(2500ms); }};
  auto o = call_peer(peer, {.timeout = 1500ms, .wait_for_ready = true});
  CHECK(o.result.status.code == status_code::deadline_exceeded);
  CHECK(o.took < 2500ms);
}

TEST_CASE("bad peer: silent after SETTINGS - the call's deadline still ends it") {
  test::raw_server peer{silent_after_settings(2500ms)};
  auto o = call_peer(peer, {.timeout = 1s});
  CHECK(o.result.status.code == status_code::deadline_exceeded);
  CHECK(o.took < 2s);
}

TEST_CASE("bad peer: silent - calls on one connection each end at their own deadline") {
  // The connection keeps one timer for all its streams: a later call with an earlier
  // deadline must still end on time, and the earlier call at its own.
  test::raw_server peer{silent_after_settings(4000ms)};
  peer_channel pc{peer};
  auto t0 = std::chrono::steady_clock::now();
  auto since = [&] {
    return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                                 t0);
  };
  auto slow =
      pc.ch.call("/achan.test.Echo/Unary", "a", {.timeout = 2500ms, .wait_for_ready = true});
  auto fast = pc.ch.call("/achan.test.Echo/Unary", "b", {.timeout = 600ms, .wait_for_ready = true});
  auto middle =
      pc.ch.call("/achan.test.Echo/Unary", "c", {.timeout = 1200ms, .wait_for_ready = true});
  CHECK(fast.get().status.code == status_code::deadline_exceeded);
  auto fast_took = since();
  CHECK(middle.get().status.code == status_code::deadline_exceeded);
  auto middle_took = since();
  CHECK(slow.get().status.code == status_code::deadline_exceeded);
  auto slow_took = since();
  CHECK(fast_took >= 550ms);
  CHECK(fast_took < 1100ms);
  CHECK(middle_took >= 1150ms);
  CHECK(middle_took < 2000ms);
  CHECK(slow_took >= 2450ms);
  CHECK(slow_took < 3500ms);
}

TEST_CASE("bad peer: no WINDOW_UPDATE - writes past the window stay buffered and end dropped") {
  // The peer grants HTTP/2's default 65 535-byte windows and never more: three 16 KiB
  // messages fit, the fourth does not. Each write's `sent` says which went out.
  test::raw_server peer{silent_after_settings(4000ms)};
  peer_channel pc{peer};
  std::promise<call_result> done;
  auto s = pc.ch.client_stream("/achan.test.Echo/ClientStream",
                               {.timeout = 1500ms, .wait_for_ready = true},
                               [&](call_result&& r) { done.set_value(std::move(r)); });
  std::mutex m;
  std::condition_variable cv;
  std::vector<int> sent(10, -1);  // -1 not yet, 1 sent, 0 dropped
  int settled = 0;
  const std::string message(16384, 'x');
  for (int i = 0; i < 10; ++i)
    REQUIRE(s.write(message, [&, i](bool ok) {
      std::lock_guard lock{m};
      sent[static_cast<std::size_t>(i)] = ok;
      ++settled;
      cv.notify_all();
    }));
  {
    std::unique_lock lock{m};
    CHECK(cv.wait_for(lock, 3s, [&] { return settled >= 3; }));
    CHECK(sent == std::vector<int>{1, 1, 1, -1, -1, -1, -1, -1, -1, -1});
  }
  CHECK(s.buffered() == 7 * message.size());  // the fourth is only partly out
  CHECK(done.get_future().get().status.code == status_code::deadline_exceeded);
  {
    std::unique_lock lock{m};
    CHECK(cv.wait_for(lock, 3s, [&] { return settled == 10; }));
    CHECK(sent == std::vector<int>{1, 1, 1, 0, 0, 0, 0, 0, 0, 0});
  }
  CHECK(s.buffered() == 0);
  CHECK_FALSE(s.write("after the end", [](bool) { FAIL("callback of a refused write"); }));
}

TEST_CASE("bad peer: a truncated frame then close gives UNAVAILABLE") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.write(test::h2_settings());
    if (!p.wait_for_request())
      return;
    auto f = test::h2_frame(HEADERS, END_HEADERS, 1, ok_headers);
    p.write(f.substr(0, f.size() / 2));  // cut mid-frame, then hang up
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK(o.result.status.code == status_code::unavailable);
  CHECK(o.took < 3s);
}

TEST_CASE("bad peer: a bad HPACK block fails the call with a clear status") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.write(test::h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(test::h2_frame(HEADERS, END_HEADERS, 1, u8({0xff, 0xff, 0xff, 0xff, 0x7f})));
    p.read_for(500ms);
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK((o.result.status.code == status_code::unavailable ||
         o.result.status.code == status_code::internal));
  CHECK(!o.result.status.message.empty());
  CHECK(o.took < 3s);
}

TEST_CASE("bad peer: a message length prefix over the limit gives RESOURCE_EXHAUSTED") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.write(test::h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(test::h2_frame(HEADERS, END_HEADERS, 1, ok_headers));
    p.write(test::h2_frame(DATA, 0, 1, u8({0x00, 0x7f, 0xff, 0xff, 0xff})));
    p.read_for(500ms);
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK(o.result.status.code == status_code::resource_exhausted);
  CHECK(o.took < 3s);
}

TEST_CASE("bad peer: a length prefix longer than the data gives INTERNAL") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.write(test::h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(test::h2_frame(HEADERS, END_HEADERS, 1, ok_headers));
    p.write(test::h2_frame(DATA, 0, 1, u8({0x00, 0x00, 0x00, 0x00, 0x64}) + "only ten.."));
    p.write(test::h2_frame(HEADERS, END_HEADERS | END_STREAM, 1, ok_trailers));
    p.read_for(500ms);
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK(o.result.status.code == status_code::internal);
  CHECK(o.result.status.message.find("incomplete") != std::string::npos);
}

TEST_CASE("bad peer: a well-formed minimal gRPC answer is accepted (the fake is right)") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.write(test::h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(test::h2_frame(HEADERS, END_HEADERS, 1, ok_headers));
    p.write(test::h2_frame(DATA, 0, 1, u8({0x00, 0x00, 0x00, 0x00, 0x02}) + "ok"));
    p.write(test::h2_frame(HEADERS, END_HEADERS | END_STREAM, 1, ok_trailers));
    p.read_for(500ms);
  }};
  auto o = call_peer(peer, {.timeout = 3s});
  CHECK(o.result.status.ok());
  CHECK(o.result.payload == "ok");
}

TEST_CASE("bad peer: keepalive pings detect a peer that went silent") {
  test::raw_server peer{[](test::raw_peer& p) {
    p.write(test::h2_settings());
    p.read_for(3s);  // reads (and never answers) everything, PINGs included
  }};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  dial_options d;
  transport::h2_options h2;
  h2.keepalive_time = 200ms;
  h2.keepalive_timeout = 300ms;
  d.transport = transport::make_h2_transport(h2);
  auto ch = achan::dial(sys, "ipv4:" + peer.address(), d);
  REQUIRE(ch);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ch->call("/achan.test.Echo/Unary", "payload", {.timeout = 10s}).get();
  CHECK(r.status.code == status_code::unavailable);
  CHECK_MESSAGE(r.status.message.find("keepalive") != std::string::npos, r.status.message);
  CHECK(std::chrono::steady_clock::now() - t0 < 3s);
  ch->close();
}

TEST_CASE("bad peer: cancelling a call sends RST_STREAM CANCEL for its stream") {
  std::promise<void> got_request;
  std::promise<bool> got_rst;
  test::raw_server peer{[&](test::raw_peer& p) {
    p.write(test::h2_settings());
    if (!p.wait_for_request())
      return;
    got_request.set_value();
    // RST_STREAM (type 3) on stream 1 with error code CANCEL (8).
    const auto rst = test::h2_frame(0x3, 0, 1, u8({0, 0, 0, 8}));
    std::string seen;
    for (int i = 0; i < 40 && seen.find(rst) == std::string::npos; ++i)
      seen += p.read_for(50ms);
    got_rst.set_value(seen.find(rst) != std::string::npos);
  }};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ch = achan::dial(sys, "ipv4:" + peer.address(), dial_options{});
  REQUIRE(ch);
  std::promise<call_result> done;
  auto h = ch->call("/achan.test.Echo/Unary", "payload", {.timeout = 10s},
                    [&](call_result&& r) { done.set_value(std::move(r)); });
  REQUIRE(got_request.get_future().wait_for(5s) == std::future_status::ready);
  h.cancel();
  auto r = done.get_future().get();
  CHECK(r.status.code == status_code::cancelled);
  auto rst = got_rst.get_future();
  REQUIRE(rst.wait_for(5s) == std::future_status::ready);
  CHECK(rst.get());
  ch->close();
}
