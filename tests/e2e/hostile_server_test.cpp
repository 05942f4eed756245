// Hostile servers against achan's client: oversized and "bomb" header lists, huge
// trailers, protocol errors and floods, too_many_pings. Every call must end with a clear
// status within a bound, without the client allocating what the server asks for.
#include <doctest/doctest.h>

#include <future>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/h2_transport.hpp>
#include "tests/support/heap.hpp"
#include "tests/support/raw_frames.hpp"
#include "transport/h2/client_connection.hpp"
#include "transport/h2/io_pool.hpp"

using namespace achan;
using namespace achan::test;
using namespace std::chrono_literals;

namespace {

/// ":status 200" and "content-type: application/grpc".
std::string response_block() {
  return hpack::indexed(8) + hpack::literal_indexed_name(31, "application/grpc");
}

/// `block` as HEADERS + CONTINUATIONs of at most 16 KiB on stream 1.
std::string header_frames(const std::string& block, bool end_stream) {
  if (block.size() <= 16384)
    return headers(1, block, end_stream);
  std::string out = headers(1, block.substr(0, 16384), end_stream, false);
  for (std::size_t off = 16384; off < block.size(); off += 16384)
    out += continuation(1, block.substr(off, 16384), off + 16384 >= block.size());
  return out;
}

/// Frame types in `bytes` a client sent, from `pos` (24: after its preface; 0: bytes
/// read after earlier whole frames).
std::vector<std::uint8_t> frame_types(const std::string& bytes, std::size_t pos) {
  std::vector<std::uint8_t> types;
  while (pos + 9 <= bytes.size()) {
    auto len = std::size_t{std::uint8_t(bytes[pos])} << 16 |
               std::size_t{std::uint8_t(bytes[pos + 1])} << 8 | std::uint8_t(bytes[pos + 2]);
    types.push_back(std::uint8_t(bytes[pos + 3]));
    pos += 9 + len;
  }
  return types;
}

bool has_type(const std::string& bytes, std::uint8_t type, std::size_t from = 0) {
  for (auto t : frame_types(bytes, from))
    if (t == type)
      return true;
  return false;
}

struct client {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::optional<channel> ch;
  explicit client(raw_server& peer) {
    dial_options d;
    d.backoff.initial = 200ms;
    d.backoff.min_connect_timeout = 1s;
    auto c = achan::dial(sys, "ipv4:" + peer.address(), d);
    REQUIRE(c);
    ch = *c;
  }
  ~client() { ch->close(); }
  call_result call(metadata md = {}) {
    return ch->call("/t.S/Unary", "x", {.timeout = 5s, .md = std::move(md)}).get();
  }
};

}  // namespace

TEST_CASE(
    "hostile server: response headers over the client's limit end the call RESOURCE_EXHAUSTED") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(
        header_frames(response_block() + hpack::literal("x-big", std::string(20000, 'v')), false));
    p.read_for(1s);
  }};
  client c{peer};
  auto r = c.call();
  CHECK(r.status.code == status_code::resource_exhausted);
  CHECK_MESSAGE(r.status.message.find("header list") != std::string::npos, r.status.message);
}

TEST_CASE("hostile server: an HPACK bomb in the response costs the client nothing") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    if (!p.wait_for_request())
      return;
    std::string bomb =
        response_block() + hpack::literal_with_indexing("x-bomb", std::string(4000, 'b'));
    for (int i = 0; i < 16000; ++i)
      bomb += hpack::indexed(62);
    p.write(header_frames(bomb, false));
    p.read_for(1s);
  }};
  client c{peer};
  auto before = heap_in_use();
  auto r = c.call();
  auto after = heap_in_use();
  CHECK(r.status.code == status_code::resource_exhausted);
  CHECK(after < before + 2 * 1024 * 1024);
}

TEST_CASE("hostile server: trailers with a 70 KiB value end the call at once") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(headers(1, response_block(), false) + data(1, grpc_message("ok"), false) +
            header_frames(hpack::literal("x-huge", std::string(70 * 1024, 't')), true));
    p.read_for(2s);
  }};
  client c{peer};
  auto t0 = std::chrono::steady_clock::now();
  auto r = c.call();
  // nghttp2 refuses a field over 64 KiB as a compression error: the connection ends.
  CHECK(r.status.code == status_code::unavailable);
  CHECK_MESSAGE(r.status.message.find("COMPRESSION_ERROR") != std::string::npos, r.status.message);
  CHECK(std::chrono::steady_clock::now() - t0 < 4s);  // not the call's 5 s deadline
}

TEST_CASE("hostile server: request metadata over the server's limit fails before it is sent") {
  std::promise<bool> saw_headers;
  raw_server peer{[&](raw_peer& p) {
    p.write(settings_frame({{setting::max_header_list_size, 16384}}));
    saw_headers.set_value(p.wait_for_request(1500ms));
  }};
  client c{peer};
  auto r = c.call({{"x-big", std::string(70000, 'm')}});
  CHECK(r.status.code == status_code::resource_exhausted);
  CHECK_MESSAGE(r.status.message.find("16384") != std::string::npos, r.status.message);
  CHECK_FALSE(saw_headers.get_future().get());
}

TEST_CASE("hostile server: request metadata over 64 KiB fails with the reason") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());  // no header-list limit of its own
    p.read_for(1500ms);
  }};
  client c{peer};
  auto r = c.call({{"x-big", std::string(70000, 'm')}});
  CHECK(r.status.code == status_code::resource_exhausted);
  CHECK_MESSAGE(r.status.message.find("65536") != std::string::npos, r.status.message);
}

TEST_CASE("hostile server: a protocol error from the server gets the client's GOAWAY") {
  std::promise<std::string> read;
  raw_server peer{[&](raw_peer& p) {
    p.write(h2_settings());
    if (!p.wait_for_request()) {
      read.set_value("");
      return;
    }
    // A CONTINUATION flood: nghttp2 gives up (fatal), the client says why.
    std::string frames = headers(1, response_block(), false, false);
    for (int i = 0; i < 20; ++i)
      frames += continuation(1, hpack::literal("x-c", "v"), false);
    p.write(frames);
    read.set_value(p.read_for(2s));
  }};
  client c{peer};
  auto r = c.call();
  CHECK(r.status.code == status_code::unavailable);
  CHECK_MESSAGE(r.status.message.find("protocol error") != std::string::npos, r.status.message);
  auto bytes = read.get_future().get();
  CHECK(has_type(bytes, frame_type::goaway));
}

namespace {
struct recorded_events final : transport::connection_events {
  std::promise<void> closed;
  bool done = false;
  void on_ready() override {}
  void on_connect_failed(status) override { end(); }
  void on_closed(status) override { end(); }
  void end() {
    if (!std::exchange(done, true))
      closed.set_value();
  }
};
}  // namespace

TEST_CASE("hostile server: GOAWAY too_many_pings doubles the keepalive time of later connections") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    std::string seen;
    for (int i = 0; i < 40 && !has_type(seen, frame_type::ping, 24); ++i)
      seen += p.read_for(100ms);
    p.write(goaway(0, h2_error::enhance_your_calm, "too_many_pings"));
    p.read_for(500ms);
  }};
  transport::h2_options o;
  o.keepalive_time = 100ms;
  o.keepalive_without_calls = true;
  auto ctx = std::make_shared<transport::h2_client_context>(transport::io_pool::make(1), o);
  auto events = std::make_shared<recorded_events>();
  auto conn = std::make_shared<transport::h2_client_connection>(ctx, peer.address(), events);
  conn->start();
  REQUIRE(events->closed.get_future().wait_for(5s) == std::future_status::ready);
  CHECK(ctx->keepalive_ms.load() == 200);
  conn->close();
}

TEST_CASE(
    "h2 transport: destroying the transport closes its connections without touching a dead "
    "io_context") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    p.read_for(1s);
  }};
  struct ready_events final : transport::connection_events {
    std::promise<void> ready;
    void on_ready() override { ready.set_value(); }
    void on_connect_failed(status) override {}
    void on_closed(status) override {}
  };
  auto events = std::make_shared<ready_events>();
  auto t = transport::make_h2_transport();
  auto conn = t->connect(peer.address(), events);
  REQUIRE(events->ready.get_future().wait_for(5s) == std::future_status::ready);
  t.reset();  // the transport goes first: it closes the connection, whose threads stay
  std::promise<call_result> done;
  auto d = std::make_shared<call>(2, "/t.S/Unary", "x", metadata{},
                                  std::chrono::steady_clock::now() + 200ms, false,
                                  [&](call_result&& r) { done.set_value(std::move(r)); });
  conn->start_call(d);
  auto r = done.get_future();
  REQUIRE(r.wait_for(5s) == std::future_status::ready);
  CHECK(r.get().status.code == status_code::unavailable);  // closed, never a dead context
  conn->close();
  conn.reset();  // the last owner of the I/O threads: they stop now
}

TEST_CASE("hostile server: unfinished responses are bounded by the client's receive buffer") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    p.read_for(500ms);  // twelve requests arrive on one connection: streams 1, 3, ... 23
    const std::string prefix{'\0', '\x00', '\x3b', '\x82', '\x60'};  // a 3 900 000-byte message
    const std::string part(1000000, 'm');
    for (std::uint32_t i = 0; i < 12; ++i) {
      std::string frames = headers(1 + 2 * i, response_block(), false);
      std::string body = prefix + part;
      for (std::size_t off = 0; off < body.size(); off += 16384)
        frames += data(1 + 2 * i, body.substr(off, 16384), false);
      if (!p.write(frames))
        return;
    }
    p.read_for(4s);
  }};
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  dial_options d;
  transport::h2_options h2;
  h2.max_connection_receive_buffer = 4 << 20;
  d.transport = transport::make_h2_transport(h2);
  d.block_until_ready = 5s;
  auto ch = achan::dial(sys, "ipv4:" + peer.address(), d);
  REQUIRE(ch);
  auto before = heap_in_use();
  struct tally {  // shared: completions may still run after the test's scope
    std::mutex mx;
    int refused = 0;
    std::promise<void> refused8;
  };
  auto t = std::make_shared<tally>();
  for (int i = 0; i < 12; ++i)
    ch->call("/t.S/Unary", "x", {.timeout = 3s}, [t](call_result&& r) {
      std::lock_guard lk{t->mx};
      if (r.status.code == status_code::resource_exhausted && ++t->refused == 8)
        t->refused8.set_value();
    });
  REQUIRE(t->refused8.get_future().wait_for(5s) == std::future_status::ready);
  CHECK(heap_in_use() < before + 8 * 1024 * 1024);  // 4 MiB held, not 12 MB
  ch->close();
}

TEST_CASE("hostile server: a -bin response header that is not base64 fails the call INTERNAL") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    if (!p.wait_for_request())
      return;
    p.write(headers(1, response_block() + hpack::literal("x-trace-bin", "!!not base64!!"), false) +
            data(1, grpc_message("ok"), false) +
            headers(1, hpack::literal("grpc-status", "0"), true));
    p.read_for(1s);
  }};
  client c{peer};
  auto r = c.call();
  CHECK(r.status.code == status_code::internal);
  CHECK_MESSAGE(
      r.status.message.find("malformed binary metadata 'x-trace-bin'") != std::string::npos,
      r.status.message);
}
