// achan's own HTTP/2 server: the three streaming kinds from achan's channel and the
// grpc++ client peer, cancellation, a server killed mid-stream, shutdown under load.
#include <doctest/doctest.h>

#include "tests/e2e/achan_server_support.hpp"

using namespace achan;
using namespace achan::test::server_e2e;
using namespace std::chrono_literals;

TEST_CASE("achan server: all three streaming kinds from achan's channel") {
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  achan::test::EchoRequest req;
  req.set_payload("p");
  req.set_reply_count(5);
  std::vector<std::uint32_t> indexes;
  std::promise<call_result> ss_done;
  ch.server_stream(
      "/achan.test.Echo/ServerStream", req.SerializeAsString(), {.timeout = 5s},
      [&](std::string&& m) {
        indexes.push_back(test::echo_reply({{}, m, {}, {}}).index());
      },
      [&](call_result&& r) { ss_done.set_value(std::move(r)); });
  auto ss = ss_done.get_future().get();
  CHECK_MESSAGE(ss.status.ok(), ss.status.to_string());
  CHECK(indexes == std::vector<std::uint32_t>{0, 1, 2, 3, 4});

  std::promise<call_result> cs_done;
  auto cs = ch.client_stream("/achan.test.Echo/ClientStream", {.timeout = 5s},
                             [&](call_result&& r) { cs_done.set_value(std::move(r)); });
  for (int i = 0; i < 7; ++i)
    cs.write(test::echo_request("m" + std::to_string(i)));
  cs.writes_done();
  auto cr = cs_done.get_future().get();
  REQUIRE_MESSAGE(cr.status.ok(), cr.status.to_string());
  CHECK(test::echo_reply(cr).received() == 7);
  CHECK(test::echo_reply(cr).payload() == "m6");

  std::vector<std::string> echoes;
  std::promise<call_result> bidi_done;
  std::promise<void> first;
  auto bidi = ch.bidi_stream(
      "/achan.test.Echo/Bidi", {.timeout = 5s},
      [&](std::string&& m) {
        echoes.push_back(test::echo_reply({{}, m, {}, {}}).payload());
        if (echoes.size() == 1)
          first.set_value();
      },
      [&](call_result&& r) { bidi_done.set_value(std::move(r)); });
  bidi.write(test::echo_request("one"));
  REQUIRE(first.get_future().wait_for(5s) == std::future_status::ready);
  bidi.write(test::echo_request("two"));
  bidi.writes_done();
  auto br = bidi_done.get_future().get();
  CHECK_MESSAGE(br.status.ok(), br.status.to_string());
  CHECK(echoes == std::vector<std::string>{"one", "two"});
}

TEST_CASE("achan server: a grpc++ client cancelling a stream releases the server's call") {
  echo_server s;
  auto r = grpcpp_call(
      s.address, {"--method", "server_stream", "--delay-ms", "3000", "--cancel-after-ms", "200"});
  CHECK_MESSAGE(r.find("\"code\":1") != std::string::npos, r);  // CANCELLED
  // The RST_STREAM reached achan's server: the call no longer counts as active (the
  // delayed handler's later writes are refused).
  auto until = std::chrono::steady_clock::now() + 2s;  // bounded poll of a counter
  while (s.server.active_calls() > 0 && std::chrono::steady_clock::now() < until)
    std::this_thread::yield();
  CHECK(s.server.active_calls() == 0);
}

TEST_CASE("achan server: a grpc++ client calling an unregistered service gets UNIMPLEMENTED") {
  echo_server s;
  auto r = grpcpp_call(s.address, {"--method", "health"});
  CHECK_MESSAGE(r.find("\"code\":12") != std::string::npos, r);
}

TEST_CASE("achan server: killed mid-stream - the grpc++ client gets UNAVAILABLE without a hang") {
  test::child_process server{test::test_binary("achan"), {"serve", "--port", "0", "--log-calls"}};
  auto listening = server.wait_for_line("listening on ", 20s);
  REQUIRE(listening);
  auto address = listening->substr(std::string_view{"listening on "}.size());
  test::child_process client{test::test_binary("grpcpp_echo_client"),
                             {"--target", address, "--method", "server_stream", "--delay-ms",
                              "10000", "--deadline-ms", "30000"}};
  REQUIRE(server.wait_for_line("call /achan.test.Echo/ServerStream", 20s));  // stream is open
  server.signal(SIGKILL);
  auto line = client.wait_for_line("{", 20s);
  REQUIRE_MESSAGE(line, "grpcpp_echo_client printed nothing");
  CHECK_MESSAGE(line->find("\"code\":14") != std::string::npos, *line);
}

TEST_CASE("achan server: shutdown under load - no wait-for-ready call on the channel fails") {
  // Regression: a server that closed right after a single GOAWAY raced with streams
  // already on the wire; their writes failed (EPIPE) and the calls ended UNAVAILABLE.
  // The two-step GOAWAY (notice + PING, then the real last stream id) makes every
  // stream either served or refused-and-repicked.
  auto stays = std::make_unique<echo_server>();
  client c;
  for (int round = 0; round < 3; ++round) {
    auto leaves = std::make_unique<echo_server>();
    dial_options o;
    o.lb_policy = "round_robin";
    o.block_until_ready = 10s;
    auto ch = achan::dial(c.sys, "ipv4:" + stays->address + "," + leaves->address, o);
    REQUIRE(ch);
    std::atomic<int> failed{0}, calls{0}, chains_ended{0};
    std::atomic<bool> stop{false};
    std::mutex m;
    std::string first_error;
    std::function<void()> one = [&] {
      ch->call(unary, test::echo_request("x"), {.timeout = 10s, .wait_for_ready = true},
               [&](call_result&& r) {
                 if (!r.status.ok()) {
                   std::lock_guard lk{m};
                   if (failed++ == 0)
                     first_error = r.status.to_string();
                 }
                 ++calls;
                 if (!stop.load())
                   one();
                 else
                   ++chains_ended;
               });
    };
    for (int i = 0; i < 32; ++i)
      one();
    std::this_thread::sleep_for(100ms);
    leaves->server.shutdown(2000ms);  // while 32 calls are in flight
    std::this_thread::sleep_for(100ms);
    stop = true;
    for (int i = 0; i < 1000 && chains_ended.load() < 32; ++i)
      std::this_thread::sleep_for(10ms);
    REQUIRE(chains_ended.load() == 32);  // nothing of ours runs after this scope
    CHECK(calls.load() > 64);
    CHECK_MESSAGE(failed.load() == 0, first_error);
  }
}

TEST_CASE(
    "achan server: calls beyond MAX_CONCURRENT_STREAMS wait in the connection and all finish") {
  transport::server_options so;
  so.max_concurrent_streams = 4;
  transport::h2_server server{so};
  auto service = testkit::add_echo_service(server, "narrow");
  auto l = server.listen("127.0.0.1", 0);
  REQUIRE(l.ok());
  client c;
  auto ch = c.dial("127.0.0.1:" + std::to_string((*l)));
  std::vector<std::future<call_result>> calls;
  for (int i = 0; i < 40; ++i)
    calls.push_back(ch.call(unary, test::echo_request("w", 20), {.timeout = 10s}));
  // One more with a deadline shorter than its wait: it expires while waiting for a stream.
  auto late = ch.call(unary, test::echo_request("late", 20), {.timeout = 30ms});
  int ok = 0;
  for (auto& f : calls)
    ok += f.get().status.ok();
  CHECK(ok == 40);
  auto r = late.get();
  CHECK(r.status.code == status_code::deadline_exceeded);
  CHECK(r.status.message.find("waiting for a stream") != std::string::npos);
}

TEST_CASE("achan server: a client stream paced on `sent` delivers every message in order") {
  // One write at a time, the next from the previous one's `sent` (grpc++'s one outstanding
  // Write): 64 messages of 256 KiB, far past every flow-control window.
  echo_server s;
  client c;
  auto ch = c.dial(s.address);
  std::promise<call_result> done;
  auto cs = ch.client_stream("/achan.test.Echo/ClientStream", {.timeout = 30s},
                             [&](call_result&& r) { done.set_value(std::move(r)); });
  constexpr int total = 64;
  std::atomic<int> written{0};
  std::atomic<std::size_t> most_buffered{0};
  std::function<void(bool)> next = [&](bool ok) {
    if (!ok)
      return;  // the call ended: the result says why
    int i = written.fetch_add(1);
    if (i == total) {
      cs.writes_done();
      return;
    }
    cs.write(test::echo_request(std::string(256 * 1024, static_cast<char>('a' + i % 26)) +
                                std::to_string(i)),
             next);
    auto b = cs.buffered();
    if (b > most_buffered.load())
      most_buffered.store(b);
  };
  next(true);
  auto r = done.get_future().get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(test::echo_reply(r).received() == total);
  CHECK(test::echo_reply(r).payload().substr(256 * 1024) == std::to_string(total - 1));
  CHECK(most_buffered.load() <= 256 * 1024 + 64);  // never more than the one message
  CHECK(cs.buffered() == 0);
}
