// The raw HTTP/2 test client (tests/support/raw_frames.hpp) against achan's real
// h2_server and a scripted peer, so hostile-peer tests can trust what it sends and reads.
#include <doctest/doctest.h>

#include <atomic>

#include <unistd.h>

#include <cstring>
#include <memory>

#include <achan/server.hpp>
#include "tests/support/heap.hpp"
#include "tests/support/raw_frames.hpp"

using namespace achan;
using namespace achan::test;
using namespace std::chrono_literals;

namespace {

const std::string unary = "/achan.test.Echo/Unary";

/// Where the heap test's buffer escapes to, so the compiler cannot elide the allocation.
char* volatile heap_sink = nullptr;

/// h2_server on a free loopback port with one unary method: it echoes the request
/// message, and the request's x-* metadata as trailers.
struct echo_h2_server {
  transport::h2_server server;
  std::uint16_t port = 0;

  explicit echo_h2_server(transport::server_options opts = {}) : server(opts) {
    server.add_unary(unary, [](transport::server_call_info info, std::string request,
                               transport::responder respond) {
      metadata echoed;
      for (auto& [k, v] : info.request_metadata)
        if (k.rfind("x-", 0) == 0)
          echoed.emplace_back(k, v);
      respond.reply(std::move(request), std::move(echoed));
    });
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    port = (*l);
  }
};

/// Sends one unary call on `stream` with header block `block` and waits for its end.
std::optional<frame> unary_call(raw_h2_conn& c, std::uint32_t stream, const std::string& block,
                                std::string_view message) {
  REQUIRE(c.send(headers(stream, block, false) + data(stream, grpc_message(message), true)));
  return c.wait_for(ends_stream(stream), 5s);
}

std::uint16_t port_of(const raw_server& s) {
  auto a = s.address();
  return static_cast<std::uint16_t>(std::stoi(a.substr(a.rfind(':') + 1)));
}

}  // namespace

TEST_CASE("raw frames: hpack integers match the RFC 7541 C.1 examples") {
  CHECK(hpack::integer(0x00, 5, 10) == "\x0a");                      // C.1.1
  CHECK(hpack::integer(0x00, 5, 1337) == "\x1f\x9a\x0a");            // C.1.2
  CHECK(hpack::integer(0x00, 8, 42) == "\x2a");                      // C.1.3
  CHECK(hpack::integer(0xe0, 5, 10) == "\xea");                      // pattern bits kept
  CHECK(hpack::integer(0xff, 5, 31) == std::string("\xff\x00", 2));  // prefix bits cleared
  CHECK(hpack::indexed(62) == "\xbe");
  CHECK(hpack::table_size_update(0) == "\x20");
  CHECK(hpack::literal_with_indexing("a", "bc") == std::string{'\x40', 1, 'a', 2, 'b', 'c'});
  CHECK_THROWS_AS(hpack::integer(0, 9, 1), std::invalid_argument);
}

TEST_CASE("raw frames: the parsers read what the builders wrote") {
  auto as_frame = [](const std::string& wire) {
    REQUIRE(wire.size() >= 9);
    frame f;
    f.type = std::uint8_t(wire[3]);
    f.flags = std::uint8_t(wire[4]);
    f.stream = std::uint8_t(wire[8]);
    f.payload = wire.substr(9);
    return f;
  };
  auto g = parse_goaway(as_frame(goaway(7, h2_error::enhance_your_calm, "calm")));
  CHECK(g.last_stream == 7);
  CHECK(g.error_code == h2_error::enhance_your_calm);
  CHECK(g.debug == "calm");
  CHECK(rst_code(as_frame(rst_stream(3, h2_error::cancel))) == h2_error::cancel);
  CHECK(window_increment(as_frame(window_update(0, 65535))) == 65535);
  std::vector<std::pair<std::uint16_t, std::uint32_t>> s{{setting::initial_window_size, 1},
                                                         {setting::max_frame_size, 16384}};
  CHECK(settings_entries(as_frame(settings_frame(s))) == s);
  CHECK(client_preface.size() == 24);
  CHECK(grpc_message_payload(grpc_message("abc") + "tail") == "abc");
  CHECK_FALSE(grpc_message_payload(grpc_message("abc").substr(0, 7)));
  CHECK_THROWS_AS(rst_code(as_frame(ping("12345678"))), std::invalid_argument);
}

TEST_CASE("raw frames: a hand-made unary call to h2_server gets 200 - the echo and grpc-status 0") {
  echo_h2_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  auto end = unary_call(c, 1, hpack::grpc_request_block(unary), "hello");
  REQUIRE(end);
  auto on1 = frames_on(c.seen(), 1);
  REQUIRE(on1.size() >= 3);
  REQUIRE(on1.front().type == frame_type::headers);
  auto head = c.decode(on1.front());
  CHECK(field(head, ":status") == "200");
  CHECK(field(head, "content-type") == "application/grpc");
  CHECK(grpc_message_payload(data_on(c.seen(), 1)) == "hello");
  REQUIRE(end->type == frame_type::headers);
  CHECK(field(c.decode(*end), "grpc-status") == "0");
}

TEST_CASE("raw frames: a server SETTINGS read before the preface is acked only by handshake") {
  // An ack sent before the preface would be the first bytes h2_server sees: it would
  // close the connection (a bad client magic).
  echo_h2_server s;
  raw_h2_conn c{s.port};
  auto first = c.next_frame(5s);
  REQUIRE(first);
  CHECK(first->type == frame_type::settings);
  CHECK(c.bytes_sent() == 0);
  REQUIRE(c.handshake());
  CHECK(c.bytes_sent() == client_preface.size() + 9 + 9);  // preface, SETTINGS, the ack
  REQUIRE(unary_call(c, 1, hpack::grpc_request_block(unary), "late"));
  CHECK(grpc_message_payload(data_on(c.seen(), 1)) == "late");
}

TEST_CASE("raw frames: h2_server answers a PING with a PING ACK carrying the same opaque data") {
  echo_h2_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  const std::string opaque{"\x00\x01\x02\x03\xfc\xfd\xfe\xff", 8};
  REQUIRE(c.send(ping(opaque)));
  auto ack =
      c.wait_for([](const frame& f) { return f.type == frame_type::ping && f.has(flag::ack); }, 5s);
  REQUIRE(ack);
  CHECK(ack->stream == 0);
  CHECK(ack->payload == opaque);
}

TEST_CASE(
    "raw frames: a dynamic-table entry added by one request is referenced as 62 by the next") {
  echo_h2_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  auto first = unary_call(
      c, 1, hpack::grpc_request_block(unary) + hpack::literal_with_indexing("x-echo-a", "first"),
      "one");
  REQUIRE(first);
  CHECK(field(c.decode(*first), "x-echo-a") == "first");
  // grpc_request_block indexes nothing, so our entry is still the newest: 62.
  auto second = unary_call(c, 3, hpack::grpc_request_block(unary) + hpack::indexed(62), "two");
  REQUIRE(second);
  auto t = c.decode(*second);
  CHECK(field(t, "grpc-status") == "0");
  CHECK(field(t, "x-echo-a") == "first");
  CHECK(grpc_message_payload(data_on(c.seen(), 3)) == "two");
  // The server's encoder indexed those trailers the first time: the second block is
  // shorter, and decoding it needed the inflater's state from the first.
  CHECK(second->payload.size() < first->payload.size());
}

TEST_CASE("raw frames: a request split over CONTINUATION and trailers over 16 KiB decode whole") {
  transport::server_options big_headers;
  big_headers.max_header_list_size = 64 * 1024;  // the default 16 KiB refuses this request
  echo_h2_server s{big_headers};
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  const std::string big(40000, 'v');
  auto block = hpack::grpc_request_block(unary, {{"x-echo-big", big}});
  REQUIRE(block.size() > 2 * 16384);
  auto cut1 = block.substr(0, 16000), cut2 = block.substr(16000, 16000), cut3 = block.substr(32000);
  REQUIRE(c.send(headers(1, cut1, false, false) + continuation(1, cut2, false) +
                 continuation(1, cut3, true) + data(1, grpc_message("x"), true)));
  auto end = c.wait_for(ends_stream(1), 5s);
  REQUIRE(end);
  REQUIRE(end->type == frame_type::headers);
  CHECK(end->continuations >= 1);  // the server's frames are at most 16 KiB
  CHECK(end->has(flag::end_headers));
  CHECK(field(c.decode(*end), "x-echo-big") == big);
  CHECK(field(c.decode(*end), "grpc-status") == "0");
}

TEST_CASE("raw frames: padded and prioritised HEADERS from a scripted peer decode") {
  raw_server peer{[](raw_peer& p) {
    auto block = hpack::literal_with_indexing("k", "v1") + hpack::literal("x", "y");
    std::string padded_prio =
        std::string(1, '\3') + std::string("\x80\0\0\1\x0f", 5) + block + std::string(3, '\0');
    p.write(h2_settings());
    p.write(h2_frame(frame_type::headers, flag::end_headers | flag::padded | flag::priority, 1,
                     padded_prio));
    // The entry "k: v1" is now 62 in the client's table: the next block refers to it,
    // split as a padded HEADERS and a CONTINUATION.
    auto second = hpack::indexed(62) + hpack::literal("z", "w");
    p.write(h2_frame(frame_type::headers, flag::padded, 3,
                     std::string(1, '\2') + second.substr(0, 1) + std::string(2, '\0')));
    p.write(continuation(3, second.substr(1), true));
    p.write(headers(5, hpack::literal("a", "b"), false, false));  // never finished
    p.write(data(5, "oops", false));
    p.read_for(5s);  // until the client closes
  }};
  raw_h2_conn c{port_of(peer)};
  REQUIRE(c.handshake());
  auto is_headers = [](const frame& f) { return f.type == frame_type::headers; };
  auto h1 = c.wait_for(is_headers, 5s);
  REQUIRE(h1);
  CHECK_FALSE(h1->has(flag::padded));
  CHECK(c.decode(*h1) == header_list{{"k", "v1"}, {"x", "y"}});
  auto h3 = c.wait_for(is_headers, 5s);
  REQUIRE(h3);
  CHECK(h3->continuations == 1);
  CHECK(c.decode(*h3) == header_list{{"k", "v1"}, {"z", "w"}});
  auto h5 = c.wait_for(is_headers, 5s);
  REQUIRE(h5);
  CHECK_FALSE(h5->fields);
  CHECK_THROWS_AS(c.decode(*h5), std::runtime_error);
  auto d5 = c.next_frame(5s);  // the interrupting frame still comes through
  REQUIRE(d5);
  CHECK(d5->type == frame_type::data);
  CHECK_THROWS_AS(c.decode(*d5), std::invalid_argument);
}

TEST_CASE("raw frames: next_frame gives up within its bound on a silent peer") {
  raw_server peer{[](raw_peer& p) {
    p.write(h2_settings());
    p.read_for(5s);  // says nothing more until the client closes
  }};
  raw_h2_conn c{port_of(peer)};
  REQUIRE(c.handshake());
  auto ack = c.wait_for([](const frame& f) { return f.type == frame_type::settings; }, 200ms);
  CHECK_FALSE(ack);  // the script never acks our SETTINGS
  auto t0 = std::chrono::steady_clock::now();
  CHECK_FALSE(c.next_frame(300ms));
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(took >= 290ms);
  CHECK(took < 2s);
  CHECK_FALSE(c.closed());
  CHECK_FALSE(c.wait_closed(100ms));
}

TEST_CASE("raw frames: wait_closed returns once h2_server closes and seen() keeps its GOAWAY") {
  echo_h2_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  REQUIRE(c.send(data(0, "x", false)));  // DATA on stream 0: a connection error
  REQUIRE(c.wait_closed(5s));
  CHECK(c.closed());
  const frame* g = nullptr;
  for (auto& f : c.seen())
    if (f.type == frame_type::goaway)
      g = &f;
  REQUIRE(g);
  CHECK(parse_goaway(*g).error_code == h2_error::protocol_error);
}

TEST_CASE("raw frames: heap_in_use grows by an 8 MiB buffer while it is held and shrinks after") {
  constexpr std::size_t size = 8u << 20;
  auto before = heap_in_use();
  auto buf = std::make_unique<char[]>(size);
  std::memset(buf.get(), 1, size);  // touched, so it is resident too
  heap_sink = buf.get();
  auto held = heap_in_use();
  CHECK(held >= before + size);
  buf.reset();
  heap_sink = nullptr;
  auto after = heap_in_use();
  CHECK(after + size <= held + 64 * 1024);  // allow for other threads' small churn
  MESSAGE("heap: before ", before, " held ", held, " after ", after, " rss ", rss_bytes());
  CHECK(rss_bytes() > 0);
  CHECK(rss_bytes(::getpid()) > 0);
}

TEST_CASE("raw frames: a request -bin header that is not base64 is answered INTERNAL") {
  echo_h2_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  auto end = unary_call(c, 1, hpack::grpc_request_block(unary, {{"x-trace-bin", "!!not base64!!"}}),
                        "hello");
  REQUIRE(end);
  auto t = c.decode(*end);
  CHECK(field(t, "grpc-status") == "13");
  auto message = field(t, "grpc-message");
  REQUIRE(message);
  CHECK(message->find("malformed binary metadata") != std::string::npos);
  auto echoed = grpc_message_payload(data_on(c.seen(), 1));  // the handler never ran
  CHECK((!echoed || echoed->empty()));

  // The same for a streaming method, dispatched at its headers.
  transport::h2_server streaming;
  std::atomic<bool> ran{false};
  streaming.add_streaming("/t.S/Bidi", [&](transport::server_call_info, transport::server_writer) {
    ran = true;
    return transport::stream_reader{};
  });
  auto l = streaming.listen("127.0.0.1", 0);
  REQUIRE(l.ok());
  raw_h2_conn b{*l};
  REQUIRE(b.handshake());
  auto bidi_end = unary_call(
      b, 1, hpack::grpc_request_block("/t.S/Bidi", {{"x-trace-bin", "!!not base64!!"}}), "hi");
  REQUIRE(bidi_end);
  CHECK(field(b.decode(*bidi_end), "grpc-status") == "13");
  CHECK_FALSE(ran.load());
}
