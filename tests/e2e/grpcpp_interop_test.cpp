// achan's channel and HTTP/2 transport against real grpc++ 1.51 servers (a peer no one
// here wrote), started by the test on free loopback ports.
#include <doctest/doctest.h>

#include <csignal>
#include <map>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include "tests/support/echo_messages.hpp"
#include "tests/support/process.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

const std::string unary = "/achan.test.Echo/Unary";

/// A grpcpp_echo_server child process.
struct grpcpp_server {
  test::child_process proc;
  std::string address;

  explicit grpcpp_server(const std::string& name, bool log_calls = false)
      : proc(test::test_binary("grpcpp_echo_server"),
             {"--port", "0", "--host", "127.0.0.1", "--name", name, "--log-calls",
              log_calls ? "1" : "0"}) {
    auto line = proc.wait_for_line("listening on ", 20s);
    REQUIRE_MESSAGE(line, "grpcpp_echo_server did not start");
    address = line->substr(std::string_view{"listening on "}.size());
  }
};

struct client {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};

  channel dial(const std::string& target, dial_options o = {}) {
    if (!o.block_until_ready)
      o.block_until_ready = 10s;
    auto ch = achan::dial(sys, target, std::move(o));
    REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
    return *ch;
  }
};

}  // namespace

TEST_CASE("interop: unary echo round trip through a grpc++ server") {
  grpcpp_server server{"alpha"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  std::string bytes{"\x00\x01\xfe\xff binary", 12};
  auto r = ch.call(unary, test::echo_request(bytes), {.timeout = 5s}).get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(test::echo_reply(r).payload() == bytes);
  CHECK(test::echo_reply(r).server() == "alpha");
  CHECK(r.peer == server.address);
}

TEST_CASE("interop: request metadata comes back as headers and trailers (text and -bin)") {
  grpcpp_server server{"md"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  std::string bin{"\x00\x7f\x80\xff", 4};
  auto r =
      ch.call(unary, test::echo_request("x"),
              {.timeout = 5s, .md = {{"x-echo-text", "hello world"}, {"x-echo-data-bin", bin}}})
          .get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  int text = 0, binary = 0;
  for (auto& [k, v] : r.trailers) {
    text += k == "x-echo-text" && v == "hello world";
    binary += k == "x-echo-data-bin" && v == bin;
  }
  CHECK(text == 2);  // once in the headers, once in the trailers
  CHECK(binary == 2);
}

TEST_CASE("interop: a slow server gives DEADLINE_EXCEEDED at the client's deadline") {
  grpcpp_server server{"slow"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  auto t0 = std::chrono::steady_clock::now();
  auto r = ch.call(unary, test::echo_request("x", 3000), {.timeout = 300ms}).get();
  auto took = std::chrono::steady_clock::now() - t0;
  CHECK(r.status.code == status_code::deadline_exceeded);
  CHECK(took < 2s);
}

TEST_CASE("interop: unknown method is UNIMPLEMENTED and a chosen status comes through") {
  grpcpp_server server{"codes"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  auto r = ch.call("/achan.test.Echo/NoSuchMethod", test::echo_request("x"), {.timeout = 5s}).get();
  CHECK(r.status.code == status_code::unimplemented);
  std::string msg = "quota 100% used — try later";
  auto f = ch.call(unary, test::echo_request("x", 0, 8, msg), {.timeout = 5s}).get();
  CHECK(f.status.code == status_code::resource_exhausted);
  CHECK(f.status.message == msg);  // percent-encoded on the wire, decoded here
}

TEST_CASE("interop: 1 MiB each way works and over 4 MiB is RESOURCE_EXHAUSTED") {
  grpcpp_server server{"big"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  std::string mib(1 << 20, 'm');
  auto ok = ch.call(unary, test::echo_request(mib), {.timeout = 10s}).get();
  REQUIRE_MESSAGE(ok.status.ok(), ok.status.to_string());
  CHECK(test::echo_reply(ok).payload().size() == mib.size());
  auto too_big_reply =
      ch.call(unary, test::echo_request("x", 0, 0, {}, 5 << 20), {.timeout = 10s}).get();
  CHECK(too_big_reply.status.code == status_code::resource_exhausted);
  auto too_big_request =
      ch.call(unary, test::echo_request(std::string(5 << 20, 'r')), {.timeout = 10s}).get();
  CHECK(too_big_request.status.code == status_code::resource_exhausted);
  auto after = ch.call(unary, test::echo_request("still fine"), {.timeout = 5s}).get();
  CHECK(after.status.ok());
}

TEST_CASE("interop: a server killed mid-call gives UNAVAILABLE without a hang") {
  auto server = std::make_unique<grpcpp_server>("doomed");
  client c;
  auto ch = c.dial("ipv4:" + server->address);
  auto pending = ch.call(unary, test::echo_request("x", 10000), {.timeout = 20s});
  CHECK(ch.call(unary, test::echo_request("warm"), {.timeout = 5s}).get().status.ok());
  server->proc.signal(SIGKILL);
  auto t0 = std::chrono::steady_clock::now();
  REQUIRE(pending.wait_for(10s) == std::future_status::ready);
  auto r = pending.get();
  CHECK(r.status.code == status_code::unavailable);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
}

TEST_CASE("interop: round_robin spreads calls evenly over three grpc++ servers") {
  grpcpp_server a{"a"}, b{"b"}, s3{"c"};
  client c;
  dial_options o;
  o.lb_policy = "round_robin";
  auto ch = c.dial("ipv4:" + a.address + "," + b.address + "," + s3.address, o);
  // Wait (bounded) until every backend has answered once: all three are READY.
  std::map<std::string, int> seen;
  for (int i = 0; i < 200 && seen.size() < 3; ++i)
    ++seen[test::echo_reply(ch.call(unary, test::echo_request("w"), {.timeout = 5s}).get())
               .server()];
  REQUIRE(seen.size() == 3);
  std::map<std::string, int> counts;
  for (int i = 0; i < 30; ++i) {
    auto r = ch.call(unary, test::echo_request("x"), {.timeout = 5s}).get();
    REQUIRE(r.status.ok());
    ++counts[test::echo_reply(r).server()];
  }
  CHECK(counts == std::map<std::string, int>{{"a", 10}, {"b", 10}, {"c", 10}});
}

TEST_CASE("interop: 1000 concurrent calls on one connection all succeed") {
  grpcpp_server server{"many"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  std::vector<std::future<call_result>> calls;
  for (int i = 0; i < 1000; ++i)
    calls.push_back(ch.call(unary, test::echo_request(std::to_string(i)), {.timeout = 30s}));
  int ok = 0;
  for (auto& f : calls)
    ok += f.get().status.ok();
  CHECK(ok == 1000);
}

TEST_CASE("interop: graceful server shutdown (GOAWAY) lets the in-flight call finish") {
  auto first = std::make_unique<grpcpp_server>("first", true);
  grpcpp_server second{"second"};
  client c;
  dial_options o;
  o.lb_policy = "round_robin";
  auto ch = c.dial("ipv4:" + first->address + "," + second.address, o);
  std::map<std::string, int> seen;
  for (int i = 0; i < 200 && seen.size() < 2; ++i)
    ++seen[test::echo_reply(ch.call(unary, test::echo_request("w"), {.timeout = 5s}).get())
               .server()];
  REQUIRE(seen.size() == 2);
  // Put a slow call on each backend; once the first server is handling its one, stop
  // it gracefully (GOAWAY; grpc++ lets handled calls finish).
  auto a = ch.call(unary, test::echo_request("slow", 500), {.timeout = 10s});
  auto b = ch.call(unary, test::echo_request("slow", 500), {.timeout = 10s});
  REQUIRE(first->proc.wait_for_line("call Unary slow", 10s));
  first->proc.signal(SIGTERM);
  auto ra = a.get(), rb = b.get();
  CHECK_MESSAGE(ra.status.ok(), ra.status.to_string() << " from " << ra.peer);
  CHECK_MESSAGE(rb.status.ok(), rb.status.to_string() << " from " << rb.peer);
  CHECK(first->proc.wait_exit(5s).value_or(-1) == 0);
  for (int i = 0; i < 6; ++i) {
    auto r =
        ch.call(unary, test::echo_request("after"), {.timeout = 5s, .wait_for_ready = true}).get();
    REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
    CHECK(test::echo_reply(r).server() == "second");
  }
}

TEST_CASE("interop: server streaming from grpc++ delivers every reply in order") {
  grpcpp_server server{"streamer"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  achan::test::EchoRequest req;
  req.set_payload("s");
  req.set_reply_count(5);
  std::vector<std::uint32_t> indexes;
  std::promise<call_result> done;
  ch.server_stream(
      "/achan.test.Echo/ServerStream", req.SerializeAsString(), {.timeout = 5s},
      [&](std::string&& m) {
        achan::test::EchoReply r;
        REQUIRE(r.ParseFromString(m));
        indexes.push_back(r.index());  // on_message calls are serialised per call
      },
      [&](call_result&& r) { done.set_value(std::move(r)); });
  auto r = done.get_future().get();
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(indexes == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
  req.set_fail_code(9);
  req.set_fail_message("no stream today");
  std::promise<call_result> failed;
  int messages = 0;
  ch.server_stream(
      "/achan.test.Echo/ServerStream", req.SerializeAsString(), {.timeout = 5s},
      [&](std::string&&) { ++messages; }, [&](call_result&& r) { failed.set_value(std::move(r)); });
  auto f = failed.get_future().get();
  CHECK(f.status.code == status_code::failed_precondition);
  CHECK(f.status.message == "no stream today");
  CHECK(messages == 0);
}

TEST_CASE("interop: client streaming and bidi streaming with a grpc++ server") {
  grpcpp_server server{"streams"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  std::promise<call_result> cs_done;
  auto cs = ch.client_stream("/achan.test.Echo/ClientStream", {.timeout = 5s},
                             [&](call_result&& r) { cs_done.set_value(std::move(r)); });
  for (int i = 0; i < 7; ++i)
    CHECK(cs.write(test::echo_request("m" + std::to_string(i))));
  cs.writes_done();
  auto r = cs_done.get_future().get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(test::echo_reply(r).received() == 7);
  CHECK(test::echo_reply(r).payload() == "m6");  // the reply echoes the last request

  std::vector<std::string> payloads;
  std::promise<call_result> bidi_done;
  std::promise<void> first_reply;
  auto bidi = ch.bidi_stream(
      "/achan.test.Echo/Bidi", {.timeout = 5s},
      [&](std::string&& m) {
        achan::test::EchoReply rep;
        REQUIRE(rep.ParseFromString(m));
        payloads.push_back(rep.payload());
        if (payloads.size() == 1)
          first_reply.set_value();
      },
      [&](call_result&& r) { bidi_done.set_value(std::move(r)); });
  bidi.write(test::echo_request("ping"));
  // A real round trip: the first reply arrives before the second request is written.
  REQUIRE(first_reply.get_future().wait_for(5s) == std::future_status::ready);
  for (auto p : {"a", "b", "c"})
    bidi.write(test::echo_request(p));
  bidi.writes_done();
  auto b = bidi_done.get_future().get();
  CHECK_MESSAGE(b.status.ok(), b.status.to_string());
  CHECK(payloads == std::vector<std::string>{"ping", "a", "b", "c"});
}

TEST_CASE("interop: cancelling a grpc++ server stream ends it at once and the channel goes on") {
  grpcpp_server server{"cancel"};
  client c;
  auto ch = c.dial("ipv4:" + server.address);
  achan::test::EchoRequest req;
  req.set_delay_ms(5000);
  req.set_reply_count(3);
  std::promise<call_result> done;
  auto t0 = std::chrono::steady_clock::now();
  auto h = ch.server_stream(
      "/achan.test.Echo/ServerStream", req.SerializeAsString(), {.timeout = 20s},
      [](std::string&&) {}, [&](call_result&& r) { done.set_value(std::move(r)); });
  h.cancel();
  auto r = done.get_future().get();
  CHECK(r.status.code == status_code::cancelled);
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(ch.call(unary, test::echo_request("after"), {.timeout = 5s}).get().status.ok());
}

TEST_CASE("interop: a grpc++ server killed mid-stream gives UNAVAILABLE without a hang") {
  auto server = std::make_unique<grpcpp_server>("doomed-stream");
  client c;
  auto ch = c.dial("ipv4:" + server->address);
  std::promise<call_result> done;
  std::promise<void> first;
  int replies = 0;
  auto bidi = ch.bidi_stream(
      "/achan.test.Echo/Bidi", {.timeout = 20s},
      [&](std::string&&) {
        if (++replies == 1)
          first.set_value();
      },
      [&](call_result&& r) { done.set_value(std::move(r)); });
  bidi.write(test::echo_request("one"));
  REQUIRE(first.get_future().wait_for(5s) == std::future_status::ready);
  server->proc.signal(SIGKILL);
  auto f = done.get_future();
  REQUIRE(f.wait_for(10s) == std::future_status::ready);
  CHECK(f.get().status.code == status_code::unavailable);
  CHECK(!bidi.write(test::echo_request("too late")));
}
