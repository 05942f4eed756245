// achan's own HTTP/2 server: unary calls from achan's channel and the grpc++ client peer
// (tests/interop/grpcpp_echo_client), on loopback. Streaming and shutdown under load:
// achan_server_stream_test.cpp.
#include <doctest/doctest.h>

#include "tests/e2e/achan_server_support.hpp"

using namespace achan;
using namespace achan::test::server_e2e;
using namespace std::chrono_literals;

TEST_CASE("achan server: unary echo and metadata from achan's channel") {
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  std::string bin{"\x00\xff\x10", 3};
  auto r = ch.call(unary, test::echo_request("hello"),
                   {.timeout = 5s, .md = {{"x-echo-a", "b"}, {"x-echo-k-bin", bin}}})
               .get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(test::echo_reply(r).payload() == "hello");
  CHECK(test::echo_reply(r).server() == "achan-srv");
  int found = 0;
  for (auto& [k, v] : r.trailers)
    found += (k == "x-echo-a" && v == "b") + (k == "x-echo-k-bin" && v == bin);
  CHECK(found == 2);
}

TEST_CASE("achan server: a protobuf message request is serialized once and echoed") {
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  achan::test::EchoRequest req;
  req.set_payload(std::string(100000, 'p'));  // several DATA frames
  std::promise<call_result> done;
  ch.call(unary, req, {.timeout = 5s}, [&](call_result&& r) { done.set_value(std::move(r)); });
  auto r = done.get_future().get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  achan::test::EchoReply reply;
  REQUIRE(reply.ParseFromString(r.payload));
  CHECK(reply.payload() == req.payload());
}

TEST_CASE("achan server: statuses - chosen code and message - unknown method - bad request") {
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  auto f =
      ch.call(unary, test::echo_request("x", 0, 7, "no entry: 100% sure"), {.timeout = 5s}).get();
  CHECK(f.status.code == status_code::permission_denied);
  CHECK(f.status.message == "no entry: 100% sure");
  auto u = ch.call("/achan.test.Echo/Nope", test::echo_request("x"), {.timeout = 5s}).get();
  CHECK(u.status.code == status_code::unimplemented);
  auto bad = ch.call(unary, std::string("\xff\xff\xff", 3), {.timeout = 5s}).get();
  CHECK(bad.status.code == status_code::invalid_argument);
}

TEST_CASE("achan server: the client's deadline reaches the server as grpc-timeout") {
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ch.call(unary, test::echo_request("slow", 5000), {.timeout = 300ms}).get();
  CHECK(r.status.code == status_code::deadline_exceeded);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
}

TEST_CASE(
    "achan server: it ends each call at its own grpc-timeout - with a client that never cancels") {
  // A raw HTTP/2 client enforces nothing: whatever ends these calls is the server. One
  // connection, three streams; the later ones have earlier deadlines.
  transport::h2_server server;
  std::mutex m;
  std::vector<transport::responder> held;  // never answered in time
  server.add_unary(unary, [&](transport::server_call_info, std::string, transport::responder r) {
    std::lock_guard lock{m};
    held.push_back(std::move(r));
  });
  auto l = server.listen("127.0.0.1", 0);
  REQUIRE(l.ok());
  auto request = [](const std::string& timeout) {
    return test::raw_h2_request{{{":method", "POST"},
                                 {":scheme", "http"},
                                 {":path", unary},
                                 {":authority", "achan.test"},
                                 {"content-type", "application/grpc"},
                                 {"te", "trailers"},
                                 {"grpc-timeout", timeout}},
                                std::string("\0\0\0\0\1x", 6)};
  };
  auto r = test::raw_h2_exchange((*l), {request("2500m"), request("600m"), request("1200m")}, 5s);
  REQUIRE(r.size() == 3);
  for (auto& one : r) {
    CHECK(one.closed);
    CHECK(one.field("grpc-status") == "4");  // DEADLINE_EXCEEDED
  }
  CHECK(r[1].elapsed >= 550ms);
  CHECK(r[1].elapsed < 1100ms);
  CHECK(r[2].elapsed >= 1150ms);
  CHECK(r[2].elapsed < 2000ms);
  CHECK(r[0].elapsed >= 2450ms);
  CHECK(r[0].elapsed < 3500ms);
  {
    std::lock_guard lock{m};
    CHECK(held.size() == 3);
    for (auto& h : held) {
      CHECK(h.done());
      h.reply("too late");  // a harmless no-op
    }
  }
  CHECK(server.active_calls() == 0);
  server.shutdown(1s);
}

TEST_CASE("achan server: the handler sees the client's deadline from grpc-timeout") {
  transport::h2_server server;
  std::promise<std::optional<time_point>> seen;
  server.add_unary(
      unary, [&](transport::server_call_info info, std::string, transport::responder respond) {
        seen.set_value(info.deadline);
        respond.reply("ok");
      });
  auto l = server.listen("127.0.0.1", 0);
  REQUIRE(l.ok());
  client c;
  auto ch = c.dial("127.0.0.1:" + std::to_string((*l)));
  auto sent_at = std::chrono::steady_clock::now();
  CHECK(ch.call(unary, "x", {.timeout = 7s}).get().status.ok());
  auto deadline = seen.get_future().get();
  REQUIRE(deadline);
  // grpc-timeout carries the time left (rounded up), so the server's deadline is within
  // a little of the client's.
  CHECK(*deadline > sent_at + 6s);
  CHECK(*deadline <= std::chrono::steady_clock::now() + 7s);
  server.shutdown(1s);
}

TEST_CASE("achan server: 1 MiB works and an over-limit request is RESOURCE_EXHAUSTED") {
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  auto big = ch.call(unary, test::echo_request(std::string(1 << 20, 'b')), {.timeout = 10s}).get();
  REQUIRE_MESSAGE(big.status.ok(), big.status.to_string());
  CHECK(test::echo_reply(big).payload().size() == (1u << 20));
  auto over = ch.call(unary, test::echo_request(std::string(5 << 20, 'o')), {.timeout = 10s}).get();
  CHECK(over.status.code == status_code::resource_exhausted);
  CHECK(ch.call(unary, test::echo_request("after"), {.timeout = 5s}).get().status.ok());
}

TEST_CASE("achan server: graceful shutdown lets the in-flight call finish") {
  transport::h2_server server;
  std::promise<transport::responder> arrived;
  server.add_unary(unary, [&](transport::server_call_info, std::string req,
                              transport::responder respond) { arrived.set_value(respond); });
  auto l = server.listen("127.0.0.1", 0);
  REQUIRE(l.ok());
  client c;
  auto ch = c.dial("127.0.0.1:" + std::to_string((*l)));
  auto pending = ch.call(unary, test::echo_request("x"), {.timeout = 10s});
  auto in_handler = arrived.get_future();
  REQUIRE(in_handler.wait_for(10s) == std::future_status::ready);
  auto respond = in_handler.get();
  std::thread stopper{[&] { server.shutdown(10s); }};  // sends GOAWAY, waits for the call
  respond.reply("done");
  stopper.join();
  auto r = pending.get();
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(r.payload == "done");
  auto after = ch.call(unary, test::echo_request("x"), {.timeout = 1s}).get();
  CHECK(after.status.code == status_code::unavailable);
}

TEST_CASE("achan server: grpc++ client calls achan's server") {
  echo_server s;
  auto ok = grpcpp_call(s.address, {"--method", "unary", "--payload-size", "100"});
  CHECK(ok.find("\"code\":0") != std::string::npos);
  CHECK(ok.find("\"server\":\"achan-srv\"") != std::string::npos);
  auto md = grpcpp_call(s.address, {"--method", "unary", "--metadata", "x-echo-z=1"});
  CHECK(md.find("x-echo-z") != std::string::npos);
  auto failed = grpcpp_call(
      s.address, {"--method", "unary", "--fail-code", "9", "--fail-message", "precondition"});
  CHECK(failed.find("\"code\":9") != std::string::npos);
  CHECK(failed.find("precondition") != std::string::npos);
  auto late =
      grpcpp_call(s.address, {"--method", "unary", "--delay-ms", "3000", "--deadline-ms", "200"});
  CHECK(late.find("\"code\":4") != std::string::npos);
  auto mib = grpcpp_call(s.address, {"--method", "unary", "--payload-size", "1048576"});
  CHECK_MESSAGE(mib.find("\"code\":0") != std::string::npos, mib);
  CHECK_MESSAGE(mib.find("\"bytes\":1048576") != std::string::npos, mib);
  auto big = grpcpp_call(s.address, {"--method", "unary", "--payload-size", "5000000"});
  CHECK_MESSAGE(big.find("\"code\":8") != std::string::npos, big);
  auto ss = grpcpp_call(s.address, {"--method", "server_stream", "--count", "5"});
  CHECK_MESSAGE(ss.find("\"code\":0") != std::string::npos, ss);
  CHECK_MESSAGE(ss.find("\"replies\":5") != std::string::npos, ss);
  auto cs = grpcpp_call(s.address, {"--method", "client_stream", "--count", "7"});
  CHECK_MESSAGE(cs.find("\"code\":0") != std::string::npos, cs);
  CHECK_MESSAGE(cs.find("\"replies\":1") != std::string::npos, cs);
  auto bidi = grpcpp_call(s.address, {"--method", "bidi", "--count", "4"});
  CHECK_MESSAGE(bidi.find("\"code\":0") != std::string::npos, bidi);
  CHECK_MESSAGE(bidi.find("\"replies\":4") != std::string::npos, bidi);
  auto ss_fail = grpcpp_call(s.address, {"--method", "server_stream", "--fail-code", "10",
                                         "--fail-message", "aborted on purpose"});
  CHECK_MESSAGE(ss_fail.find("\"code\":10") != std::string::npos, ss_fail);
}

TEST_CASE("achan server: :authority is the target's host or the dial option") {
  transport::h2_server server;
  std::vector<std::string> seen;
  std::mutex mx;  // the handler runs on the server's I/O thread
  server.add_unary(
      unary, [&](transport::server_call_info info, std::string, transport::responder respond) {
        std::lock_guard lk{mx};
        seen.push_back(info.authority);
        respond.reply("ok");
      });
  auto l = server.listen("127.0.0.1", 0);
  REQUIRE(l.ok());
  auto addr = "127.0.0.1:" + std::to_string((*l));
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto call_via = [&](const std::string& target, std::optional<std::string> authority) {
    dial_options o;
    o.block_until_ready = 10s;
    o.authority = std::move(authority);
    auto ch = achan::dial(sys, target, o);
    REQUIRE(ch);
    CHECK(ch->call(unary, "x", {.timeout = 5s}).get().status.ok());
  };
  call_via("dns:///localhost:" + std::to_string((*l)), std::nullopt);  // the target's host
  call_via("ipv4:" + addr, std::nullopt);        // no host in the target: the address
  call_via("ipv4:" + addr, "api.example.test");  // the dial option wins
  server.shutdown(1s);
  std::lock_guard lk{mx};
  CHECK(seen ==
        std::vector<std::string>{"localhost:" + std::to_string((*l)), addr, "api.example.test"});
}
