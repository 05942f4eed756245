// Hostile clients against achan's h2_server, per connection: silence, age, pings,
// floods, protocol errors, and more connections than the process has descriptors for.
// Each case checks the answer the server gives (a GOAWAY with its code, a close), that
// its heap stays bounded where the attack costs memory, and that a legitimate call on a
// fresh connection still succeeds.
#include <sys/resource.h>

#include "tests/e2e/hostile_support.hpp"
#include "tests/support/process.hpp"

using namespace achan;
using namespace achan::test;

namespace {

/// How many GOAWAYs with `code` are among `frames`.
int goaways(const std::vector<frame>& frames, std::uint32_t code) {
  int n = 0;
  for (auto& f : frames)
    n += f.type == frame_type::goaway && parse_goaway(f).error_code == code;
  return n;
}

std::string repeat(const std::string& s, int n) {
  std::string out;
  out.reserve(s.size() * static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i)
    out += s;
  return out;
}

}  // namespace

TEST_CASE("hostile: connections that never finish the handshake are closed at its timeout") {
  transport::server_options o;
  o.handshake_timeout = 300ms;
  target_server s{o};
  auto before = heap_in_use();
  std::vector<std::unique_ptr<raw_h2_conn>> silent;
  for (int i = 0; i < 200; ++i)
    silent.push_back(std::make_unique<raw_h2_conn>(s.port));
  raw_h2_conn preface_only{s.port};
  preface_only.auto_settings_ack = false;  // an ack would be a first frame that is not SETTINGS
  REQUIRE(preface_only.send(client_preface));
  CHECK(legit_call(s.port));  // served while they wait
  int closed = 0;
  for (auto& c : silent)
    closed += c->wait_closed(3s);
  CHECK(closed == 200);
  CHECK(preface_only.wait_closed(3s));
  CHECK(goaways(preface_only.seen(), h2_error::settings_timeout) == 1);
  silent.clear();
  CHECK(connections_down_to(s.server, 0));
  CHECK(grown(before) < 1024 * 1024);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: an idle connection gets a graceful GOAWAY at max_connection_idle") {
  transport::server_options o;
  o.max_connection_idle = 300ms;
  target_server s{o};
  raw_h2_conn c{s.port};
  c.auto_ping_ack = true;  // acknowledges the shutdown notice's PING
  REQUIRE(c.handshake());
  CHECK(c.wait_closed(5s));
  CHECK(goaways(c.seen(), h2_error::no_error) == 2);  // the notice, then the final one
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a connection past max_connection_age is closed after the grace") {
  transport::server_options o;
  o.max_connection_age = 300ms;
  o.max_connection_age_grace = 300ms;
  target_server s{o};
  raw_h2_conn c{s.port};  // never acknowledges the notice, keeps a stream open
  REQUIRE(c.handshake());
  REQUIRE(c.send(headers(1, hpack::grpc_request_block("/t.S/Sink"), false)));
  CHECK(c.wait_closed(5s));
  auto g = first_goaway(c.seen());
  REQUIRE(g);
  CHECK(g->error_code == h2_error::no_error);
  CHECK(g->last_stream == 0x7fffffffu);  // the shutdown notice
  CHECK(s.server.active_calls() == 0);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: pinging more often than permitted gets GOAWAY too_many_pings") {
  target_server s;  // permits a ping per 5 min with calls, per 2 h without; 2 strikes
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  for (int i = 0; i < 4; ++i)
    REQUIRE(c.send(ping("pingpong")));
  CHECK(c.wait_closed(5s));
  auto g = first_goaway(c.seen());
  REQUIRE(g);
  CHECK(g->error_code == h2_error::enhance_your_calm);
  CHECK(g->debug == "too_many_pings");
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: three pings are still permitted (two strikes)") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  REQUIRE(c.send(ping("pingpong") + ping("pingpong") + ping("pingpong")));
  int acks = 0;
  while (acks < 3)
    if (auto f = c.wait_for([](const frame& f) { return f.type == frame_type::ping; }, 2s))
      ++acks;
    else
      break;
  CHECK(acks == 3);
  CHECK_FALSE(c.wait_closed(300ms));
}

TEST_CASE("hostile: PING and SETTINGS floods from a client that does not read end with GOAWAY") {
  target_server s;
  for (const auto& flood : {ping("flooding"), settings_frame({})}) {
    raw_h2_conn c{s.port, 4096};  // reads nothing while it sends
    REQUIRE(c.handshake());
    c.send(repeat(flood, 20000), 2s);  // the server may stop reading first
    CHECK(c.wait_closed(5s));
    auto g = first_goaway(c.seen());
    REQUIRE(g);
    CHECK(g->error_code == h2_error::enhance_your_calm);
    CHECK(legit_call(s.port));
  }
  CHECK(s.logged("ENHANCE_YOUR_CALM"));
}

TEST_CASE("hostile: a CONTINUATION flood ends with GOAWAY ENHANCE_YOUR_CALM") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  auto block = hpack::grpc_request_block("/t.S/Unary");
  std::string frames = headers(1, block, false, false);
  for (int i = 0; i < 20; ++i)
    frames += continuation(1, hpack::literal("x-c" + std::to_string(i), "v"), false);
  c.send(frames);
  CHECK(c.wait_closed(5s));
  auto g = first_goaway(c.seen());
  REQUIRE(g);
  CHECK(g->error_code == h2_error::enhance_your_calm);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: rapid reset ends the connection and leaves nothing behind") {
  target_server s;
  raw_h2_conn c{s.port};
  c.set_recording(false);
  REQUIRE(c.handshake());
  auto before = heap_in_use();
  std::string burst;
  for (std::uint32_t i = 0; i < 3000; ++i) {
    auto id = 1 + 2 * i;
    burst += headers(id, hpack::grpc_request_block("/t.S/Unary"), false) +
             data(id, grpc_message("x"), true) + rst_stream(id, h2_error::cancel);
  }
  c.send(burst, 5s);
  auto g = c.wait_for([](const frame& f) { return f.type == frame_type::goaway; }, 5s);
  REQUIRE(g);  // Debian's nghttp2 limits resets: 1000 at once, then 33 per second
  CHECK(c.wait_closed(5s));
  CHECK(s.server.active_calls() == 0);
  CHECK(grown(before) < 2 * 1024 * 1024);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: garbage instead of the preface gets GOAWAY PROTOCOL_ERROR") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.send("GET / HTTP/1.1\r\nHost: localhost\r\n\r\n"));
  CHECK(c.wait_closed(5s));
  auto g = first_goaway(c.seen());
  REQUIRE(g);
  CHECK(g->error_code == h2_error::protocol_error);
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a protocol error gets GOAWAY with its reason and is logged") {
  target_server s;
  raw_h2_conn c{s.port};
  REQUIRE(c.handshake());
  REQUIRE(c.send(data(0, "nope", false)));  // DATA on stream 0
  CHECK(c.wait_closed(5s));
  auto g = first_goaway(c.seen());
  REQUIRE(g);
  CHECK(g->error_code == h2_error::protocol_error);
  CHECK_FALSE(g->debug.empty());
  CHECK(s.logged("PROTOCOL_ERROR"));
  CHECK(legit_call(s.port));
}

TEST_CASE("hostile: a connection flood past the descriptor limit does not stop accepting") {
  // achan serve with 64 descriptors: the flood exhausts them (EMFILE); once it is gone the
  // server must accept again (it used to stop its accept loop for good).
  child_process server{
      "/bin/sh", {"-c", "ulimit -n 64 && exec \"$0\" serve --port 0 2>&1", test_binary("achan")}};
  auto line = server.wait_for_line("listening on ", 20s);
  REQUIRE(line);
  auto port = static_cast<std::uint16_t>(std::stoi(line->substr(line->rfind(':') + 1)));
  {
    std::vector<std::unique_ptr<raw_h2_conn>> flood;
    for (int i = 0; i < 100; ++i)
      flood.push_back(std::make_unique<raw_h2_conn>(port));  // the backlog takes the rest
    REQUIRE(server.wait_for_line("achan serve: accept failed", 10s));
  }
  // A unary Echo call with an empty request: the server answers again.
  bool served = false;
  for (int attempt = 0; attempt < 20 && !served; ++attempt) {
    raw_h2_conn c{port};
    if (!c.handshake({}, 2s))
      continue;
    c.send(headers(1, hpack::grpc_request_block("/achan.test.Echo/Unary"), false) +
           data(1, grpc_message(""), true));
    auto end = c.wait_for(ends_stream(1), 3s);
    served = end && end->type == frame_type::headers &&
             field(c.decode(*end), "grpc-status") == std::optional<std::string>{"0"};
  }
  CHECK(served);
  CHECK(server.wait_for_line("achan serve: accepting connections again", 5s));
  CHECK(server.stop() == 0);
}

TEST_CASE("hostile: an open idle connection costs the server under 96 KiB of heap") {
  target_server s;
  auto before = heap_in_use();
  std::vector<std::unique_ptr<raw_h2_conn>> idle;
  for (int i = 0; i < 200; ++i) {
    idle.push_back(std::make_unique<raw_h2_conn>(s.port));
    REQUIRE(idle.back()->handshake());
  }
  auto per = grown(before) / 200;
  MESSAGE("heap per idle connection (server and raw client): " << per << " bytes");
  CHECK(per < 96 * 1024);
}
