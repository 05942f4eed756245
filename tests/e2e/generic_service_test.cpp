// h2_server::set_fallback: a generic service that serves every method not registered,
// unary and streaming calls alike, as one bidi stream each (what a proxy is built on).
#include <doctest/doctest.h>

#include <condition_variable>
#include <future>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/server.hpp>

using namespace achan;
using namespace std::chrono_literals;

namespace {

/// Echoes each request message as "METHOD:message", then OK with the request's
/// x-tag metadata as a trailer; one registered method answers "registered".
struct generic_server {
  transport::h2_server server;
  std::string address;
  generic_server() {
    server.add_unary("/known.Svc/Call", [](transport::server_call_info, std::string,
                                           transport::responder r) { r.reply("registered"); });
    server.set_fallback([](transport::server_call_info info, transport::server_writer out) {
      auto method = info.method;
      metadata trailers;
      for (auto& [k, v] : info.request_metadata)
        if (k == "x-tag")
          trailers.emplace_back("x-tag", v);
      return transport::stream_reader{
          [out, method](std::string&& m) { out.write(method + ":" + m); },
          [out, trailers] { out.finish({}, trailers); }};
    });
    auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port.ok());
    address = "127.0.0.1:" + std::to_string(*port);
  }
};

std::string trailer(const call_result& r, const std::string& key) {
  for (auto& [k, v] : r.trailers)
    if (k == key)
      return v;
  return {};
}

}  // namespace

TEST_CASE("generic service: unknown methods reach the fallback - registered ones their handler") {
  generic_server s;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ch = dial(sys, "ipv4:" + s.address);
  REQUIRE(ch);

  auto unary = ch->call("/any.Svc/Unary", "hello", {.timeout = 5s, .md = {{"x-tag", "t1"}}}).get();
  REQUIRE_MESSAGE(unary.status.ok(), unary.status.message);
  CHECK(unary.payload == "/any.Svc/Unary:hello");
  CHECK(trailer(unary, "x-tag") == "t1");

  auto known = ch->call("/known.Svc/Call", "x", {.timeout = 5s}).get();
  REQUIRE(known.status.ok());
  CHECK(known.payload == "registered");

  std::mutex mx;
  std::vector<std::string> got;
  std::promise<call_result> ended;
  auto st = ch->bidi_stream(
      "/other.Svc/Chat", {.timeout = 5s},
      [&](std::string&& m) {
        std::lock_guard lk{mx};
        got.push_back(std::move(m));
      },
      [&](call_result&& r) { ended.set_value(std::move(r)); });
  for (const char* m : {"a", "b", "c"})
    CHECK(st.write(m));
  st.writes_done();
  auto r = ended.get_future().get();
  CHECK(r.status.ok());
  std::lock_guard lk{mx};
  CHECK(got ==
        std::vector<std::string>{"/other.Svc/Chat:a", "/other.Svc/Chat:b", "/other.Svc/Chat:c"});
  ch->close();
}

TEST_CASE("generic service: on_cancel tells a streaming handler its call ended without it") {
  transport::h2_server server;
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::string> cancelled;  // methods whose handler heard on_cancel
  server.set_fallback([&](transport::server_call_info info, transport::server_writer out) {
    auto method = info.method;
    transport::stream_reader r;
    r.on_message = [out](std::string&& m) { out.write(std::move(m)); };
    r.on_end = [out, method] {
      if (method == "/t.S/Finishes")
        out.finish();  // the handler ends it: no on_cancel
    };
    r.on_cancel = [&, out, method] {
      CHECK(out.done());
      std::lock_guard lk{mx};
      cancelled.push_back(method);
      cv.notify_all();
    };
    return r;
  });
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ch = dial(sys, "ipv4:127.0.0.1:" + std::to_string(*port));
  REQUIRE(ch);
  auto wait_cancelled = [&](std::size_t n) {
    std::unique_lock lk{mx};
    return cv.wait_for(lk, 5s, [&] { return cancelled.size() >= n; });
  };
  std::promise<void> echoed;  // the cancelled call's handler has its request
  auto open = [&](const std::string& method, call_options o) {
    auto ended = std::make_shared<std::promise<call_result>>();
    auto st = ch->bidi_stream(
        method, std::move(o),
        [&echoed, method](std::string&&) {
          if (method == "/t.S/Cancelled")
            echoed.set_value();
        },
        [ended](call_result&& r) { ended->set_value(std::move(r)); });
    return std::pair{st, ended->get_future()};
  };

  auto [finishing, finished] = open("/t.S/Finishes", {.timeout = 5s});
  finishing.write("x");
  finishing.writes_done();
  CHECK(finished.get().status.ok());

  auto [cancelling, cancel_end] = open("/t.S/Cancelled", {.timeout = 5s});
  cancelling.write("x");
  REQUIRE(echoed.get_future().wait_for(5s) == std::future_status::ready);
  cancelling.cancel();
  CHECK(cancel_end.get().status.code == status_code::cancelled);
  REQUIRE(wait_cancelled(1));

  auto [expiring, expired] = open("/t.S/Expires", {.timeout = 300ms});
  expiring.write("x");
  CHECK(expired.get().status.code == status_code::deadline_exceeded);
  REQUIRE(wait_cancelled(2));

  ch->close();
  server.shutdown(2s);
  std::lock_guard lk{mx};
  CHECK(cancelled == std::vector<std::string>{"/t.S/Cancelled", "/t.S/Expires"});
}

TEST_CASE("generic service: send_headers sends metadata before the messages - within the limit") {
  transport::h2_server server;
  server.set_fallback([](transport::server_call_info info, transport::server_writer out) {
    if (info.method == "/t.S/Big")
      out.send_headers({{"x-big", std::string(100 * 1024, 'h')}});  // over 64 KiB
    else
      out.send_headers({{"x-h", "1"}, {"content-type", "text/plain"}, {"x-h-bin", {"\0", 1}}});
    out.write("m");
    out.finish({}, {{"x-t", "2"}});
    return transport::stream_reader{};
  });
  auto port = server.listen("127.0.0.1", 0);
  REQUIRE(port.ok());
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto ch = dial(sys, "ipv4:127.0.0.1:" + std::to_string(*port));
  REQUIRE(ch);
  auto r = ch->call("/t.S/Small", "x", {.timeout = 5s}).get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.message);
  REQUIRE(r.header_count == 2);  // the reserved content-type was dropped
  CHECK(r.trailers[0] == std::pair<std::string, std::string>{"x-h", "1"});
  CHECK(r.trailers[1] == std::pair<std::string, std::string>{"x-h-bin", {"\0", 1}});
  CHECK(trailer(r, "x-t") == "2");
  auto big = ch->call("/t.S/Big", "x", {.timeout = 5s}).get();
  CHECK(big.status.code == status_code::internal);
  CHECK(big.status.message.find("exceeds the client's limit") != std::string::npos);
  ch->close();
}
