// Hostile clients against achan's h2_server, per stream: header lists, stream counts,
// buffered bytes, deadlines. Each case checks that the attack gets the documented answer,
// that the server's heap stays under a stated bound, and that a legitimate call on a
// fresh connection still succeeds.
#include "tests/e2e/hostile_support.hpp"

using namespace achan;
using namespace achan::test;

namespace {

/// `payload` as DATA frames of at most 16 KiB on `stream` (the default max frame size).
std::string data_frames(std::uint32_t stream, const std::string& payload, bool end_stream) {
  std::string out;
  for (std::size_t off = 0; off < payload.size(); off += 16384) {
    auto part = payload.substr(off, 16384);
    out += data(stream, part, end_stream && off + 16384 >= payload.size());
  }
  return out;
}

/// HEADERS with `block`, cut into a HEADERS and CONTINUATIONs of at most 16 KiB.
std::string header_frames(std::uint32_t stream, const std::string& block, bool end_stream) {
  if (block.size() <= 16384)
    return headers(stream, block, end_stream);
  std::string out = headers(stream, block.substr(0, 16384), end_stream, false);
  for (std::size_t off = 16384; off < block.size(); off += 16384)
    out += continuation(stream, block.substr(off, 16384), off + 16384 >= block.size());
  return out;
}

/// A gRPC message prefix announcing `length` bytes (for messages sent in parts).
std::string message_prefix(std::uint32_t length) {
  return std::string{'\0', static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                     static_cast<char>(length >> 8), static_cast<char>(length)};
}

int count_rst(const std::vector<frame>& frames, std::uint32_t code) {
  int n = 0;
  for (auto& f : frames)
    n += f.type == frame_type::rst_stream && rst_code(f) == code;
  return n;
}

}  // namespace

TEST_CASE("hostile: an HPACK bomb gets GOAWAY ENHANCE_YOUR_CALM and costs no memory") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  // One 4 KB dynamic-table entry, then a 16 KB block referencing it 16000 times: 64 MB
  // once decoded, which a server that stores headers as they come would allocate.
  REQUIRE(c.send(headers(1,
                         hpack::grpc_request_block("/t.S/Unary") +
                             hpack::literal_with_indexing("x-bomb", std::string(4000, 'b')),
                         false) +
                 data(1, grpc_message("one"), true)));
  REQUIRE(c.wait_for(ends_stream(1), 5s));
  auto before = heap_in_use();
  std::string bomb = hpack::grpc_request_block("/t.S/Unary");
  for (int i = 0; i < 16000; ++i)
    bomb += hpack::indexed(62);
  REQUIRE(c.send(headers(3, bomb, true)));
  CHECK(c.wait_closed(5s));
  auto g = first_goaway(c.seen());
  REQUIRE(g);
  CHECK(g->error_code == h2_error::enhance_your_calm);
  CHECK_MESSAGE(g->debug.find("header list") != std::string::npos, g->debug);
  CHECK(grown(before) < 2 * 1024 * 1024);
  CHECK(s.logged("ENHANCE_YOUR_CALM"));
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a header list over the limit is refused on its stream only") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  auto settings = c.seen().front();
  bool advertised = false;
  for (auto& [id, v] : settings_entries(settings))
    advertised = advertised || (id == setting::max_header_list_size && v == 16 * 1024);
  CHECK(advertised);
  // 20 KB of metadata: over 16 KiB, under 4x it: RESOURCE_EXHAUSTED, connection kept.
  REQUIRE(c.send(
      header_frames(
          1, hpack::grpc_request_block("/t.S/Unary", {{"x-big", std::string(20000, 'v')}}), false) +
      data(1, grpc_message("one"), true)));
  auto end = c.wait_for(ends_stream(1), 5s);
  REQUIRE(end);
  REQUIRE(end->type == frame_type::headers);
  auto fields = c.decode(*end);
  CHECK(field(fields, "grpc-status") == std::optional<std::string>{"8"});
  CHECK(field(fields, "grpc-message").value_or("").find("header list") != std::string::npos);
  // Just under the limit is served, on the same connection.
  REQUIRE(c.send(
      headers(3, hpack::grpc_request_block("/t.S/Unary", {{"x-fits", std::string(15000, 'v')}}),
              false) +
      data(3, grpc_message("two"), true)));
  end = c.wait_for(ends_stream(3), 5s);
  REQUIRE(end);
  CHECK(field(c.decode(*end), "grpc-status") == std::optional<std::string>{"0"});
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: streams beyond max_concurrent_streams are not served") {
  target_server s;  // default: 100
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  auto before = heap_in_use();
  std::string open;
  for (std::uint32_t i = 0; i < 150; ++i)
    open += headers(1 + 2 * i, hpack::grpc_request_block("/t.S/Sink"), false);
  REQUIRE(c.send(open));
  // nghttp2 refuses the 101st stream; once our SETTINGS are acknowledged that is a
  // connection error (GOAWAY PROTOCOL_ERROR), as RFC 9113 allows.
  auto end = c.wait_for(
      [](const frame& f) {
        return f.type == frame_type::goaway ||
               (f.type == frame_type::rst_stream && rst_code(f) == h2_error::refused_stream);
      },
      5s);
  REQUIRE(end);
  if (end->type == frame_type::goaway)
    CHECK(parse_goaway(*end).last_stream <= 199);
  CHECK(grown(before) < 2 * 1024 * 1024);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a client with a zero window cannot make the server buffer without bound") {
  transport::server_options o;
  o.max_stream_send_buffer = 1 << 20;
  o.max_connection_send_buffer = 4 << 20;
  target_server s{o};
  raw_h2_conn c{s.port};
  c.set_recording(false);
  REQUIRE(c.handshake({{setting::initial_window_size, 0}}));
  auto before = heap_in_use();
  // Twenty streams whose handlers each write 64 MB at once into a window of 0.
  std::string calls;
  for (std::uint32_t i = 0; i < 20; ++i)
    calls += headers(1 + 2 * i, hpack::grpc_request_block("/t.S/Flood"), false) +
             data(1 + 2 * i, grpc_message("1000 65536"), true);
  REQUIRE(c.send(calls));
  int reset = 0;
  while (reset < 20) {
    auto f = c.wait_for([](const frame& f) { return f.type == frame_type::rst_stream; }, 5s);
    if (!f)
      break;
    CHECK(rst_code(*f) == h2_error::enhance_your_calm);
    ++reset;
  }
  CHECK(reset == 20);
  // What the server held for them is freed although the connection stays open.
  CHECK(grown(before) < 2 * 1024 * 1024);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a response stuck behind a zero window is reset at its deadline") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake({{setting::initial_window_size, 0}}));
  auto before = heap_in_use();
  REQUIRE(c.send(
      headers(1, hpack::grpc_request_block("/t.S/Flood", {{"grpc-timeout", "300m"}}), false) +
      data(1, grpc_message("100 10000"), true)));
  auto f = c.wait_for([](const frame& f) { return f.type == frame_type::rst_stream; }, 5s);
  REQUIRE(f);
  CHECK(rst_code(*f) == h2_error::cancel);
  CHECK(s.server.active_calls() == 0);
  CHECK(grown(before) < 512 * 1024);
}

TEST_CASE("hostile: requests that never complete end at their grpc-timeout") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  // 50 unary requests announcing 1000-byte messages and sending 10 bytes of each.
  std::string calls;
  for (std::uint32_t i = 0; i < 50; ++i)
    calls += headers(1 + 2 * i, hpack::grpc_request_block("/t.S/Unary", {{"grpc-timeout", "200m"}}),
                     false) +
             data(1 + 2 * i, message_prefix(1000) + std::string(10, 'x'), false);
  REQUIRE(c.send(calls));
  int expired = 0;
  for (std::uint32_t i = 0; i < 50; ++i) {
    auto end = c.wait_for(ends_stream(1 + 2 * i), 5s);
    if (end && end->type == frame_type::headers &&
        field(c.decode(*end), "grpc-status") == std::optional<std::string>{"4"})
      ++expired;
  }
  CHECK(expired == 50);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: unfinished big messages are bounded by the connection's receive buffer") {
  transport::server_options o;
  o.max_connection_receive_buffer = 4 << 20;
  target_server s{o};
  raw_h2_conn c{s.port};
  c.set_recording(false);
  REQUIRE(c.handshake());
  auto before = heap_in_use();
  // Twelve streams, each 1 MB into a 3.9 MB message (within the flow-control windows).
  const std::string part = message_prefix(3900000) + std::string(1000000, 'm');
  int refused = 0;
  for (std::uint32_t i = 0; i < 12; ++i)
    REQUIRE(c.send(headers(1 + 2 * i, hpack::grpc_request_block("/t.S/Unary"), false) +
                   data_frames(1 + 2 * i, part, false)));
  // (Frames skipped by wait_for are not recorded here: take every stream end as it comes.)
  for (;;) {
    auto end = c.wait_for(
        [](const frame& f) { return f.type == frame_type::headers && f.has(flag::end_stream); },
        1s);
    if (!end)
      break;
    refused += field(c.decode(*end), "grpc-status") == std::optional<std::string>{"8"};
  }
  CHECK(refused >= 8);  // 4 MiB hold four of them at most
  CHECK(grown(before) < 8 * 1024 * 1024);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a 1-byte window gets one byte at a time and the stream its deadline") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake({{setting::initial_window_size, 1}}));
  REQUIRE(c.send(
      headers(1, hpack::grpc_request_block("/t.S/Unary", {{"grpc-timeout", "500m"}}), false) +
      data(1, grpc_message(std::string(1000, 'e')), true)));
  // Three 1-byte WINDOW_UPDATEs: three more 1-byte DATA frames, no more.
  auto first = c.wait_for([](const frame& f) { return f.type == frame_type::data; }, 3s);
  REQUIRE(first);
  CHECK(first->payload.size() == 1);
  for (int i = 0; i < 3; ++i) {
    REQUIRE(c.send(window_update(1, 1)));
    auto more = c.wait_for([](const frame& f) { return f.type == frame_type::data; }, 3s);
    REQUIRE(more);
    CHECK(more->payload.size() == 1);
  }
  auto end = c.wait_for(ends_stream(1), 3s);
  REQUIRE(end);
  CHECK(end->type == frame_type::rst_stream);
  CHECK(rst_code(*end) == h2_error::cancel);
  CHECK(s.server.active_calls() == 0);
  CHECK(legit_call(s.port));
}
