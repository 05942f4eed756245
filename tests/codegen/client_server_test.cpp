// Generated unary clients against generated services on loopback: typed requests and
// responses, deadlines, metadata, statuses, messages that do not parse either way.
#include "echo_fixture.hpp"

using namespace cgtest_support;
using Echo = cgtest::echo::Echo::Client;
namespace echo_ns = cgtest::echo::Echo;

TEST_CASE("codegen unary: typed request and response with nested imported messages") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_text("hello");
  auto* h = req.mutable_envelope()->mutable_header();
  h->set_id("h1");
  h->set_kind(cgtest::types::Envelope::KIND_TEXT);
  h->add_tags()->set_name("t");
  auto fut = client.Unary(req, {.timeout = 5s});
  auto r = get(fut);
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(r.response.text() == "hello");
  CHECK(r.response.had_deadline());
  CHECK(r.response.envelope().header().id() == "h1");
  CHECK(r.response.envelope().header().kind() == cgtest::types::Envelope::KIND_TEXT);
  CHECK(r.response.envelope().header().tags(0).name() == "t");
  CHECK(r.peer.find("127.0.0.1") != std::string::npos);
}

TEST_CASE("codegen unary: the callback form runs once with the typed result") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_text("cb");
  std::promise<achan::typed_result<Reply>> p;
  auto fut = p.get_future();
  client.Unary(req, {.wait_for_ready = true},
               [&p](achan::typed_result<Reply>&& r) { p.set_value(std::move(r)); });
  auto r = get(fut);
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(r.response.text() == "cb");
  CHECK_FALSE(r.response.had_deadline());
}

TEST_CASE("codegen unary: request metadata reaches the service and trailers come back") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_echo_md(true);
  auto fut = client.Unary(req, {.timeout = 5s, .md = {{"x-trace", "abc"}, {"x-n", "1"}}});
  auto r = get(fut);
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(find_md(r.trailers, "echo-x-trace") == "abc");
  CHECK(find_md(r.trailers, "echo-x-n") == "1");
}

TEST_CASE("codegen unary: a deadline ends a call the service never answers") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_park(true);
  auto t0 = std::chrono::steady_clock::now();
  auto fut = client.Unary(req, {.timeout = 200ms});
  auto r = get(fut);
  CHECK(r.status.code == achan::status_code::deadline_exceeded);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  CHECK(r.response.text().empty());
}

TEST_CASE("codegen unary: a status from the service arrives with its message") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_code(static_cast<int>(achan::status_code::not_found));
  auto fut = client.Unary(req, {.timeout = 5s});
  auto r = get(fut);
  CHECK(r.status.code == achan::status_code::not_found);
  CHECK(r.status.message == "asked for it");
}

TEST_CASE("codegen unary: well-known types as request and response") {
  fixture f;
  Echo client{f.dial()};
  auto fut = client.Now(google::protobuf::Empty{}, {.timeout = 5s});
  auto r = get(fut);
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(r.response.seconds() == 42);
  CHECK(r.response.nanos() == 7);
}

TEST_CASE("codegen unary: a nested message type from another package as the request") {
  fixture f;
  Echo client{f.dial()};
  cgtest::types::Envelope_Header h;
  h.set_id("x");
  h.add_tags()->set_name("a");
  h.add_tags()->set_name("b");
  auto fut = client.Inspect(h, {.timeout = 5s});
  auto r = get(fut);
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(r.response.text() == "inspected x");
  REQUIRE(r.response.has_number());
  CHECK(r.response.number() == 2);
  CHECK(r.response.header().tags(1).name() == "b");
}

TEST_CASE("codegen unary: a method the service does not override answers UNIMPLEMENTED") {
  fixture f;
  Echo client{f.dial()};
  auto fut = client.NotServed(Request{}, {.timeout = 5s});
  auto r = get(fut);
  CHECK(r.status.code == achan::status_code::unimplemented);
  CHECK(r.status.message == "method /cgtest.echo.Echo/NotServed is not implemented");
}

TEST_CASE("codegen unary: a request that does not parse is answered INVALID_ARGUMENT") {
  fixture f;
  auto ch = f.dial();
  auto r = ch.call(echo_ns::Methods::Unary, std::string("\xff\xff\xff"), {.timeout = 5s}).get();
  CHECK(r.status.code == achan::status_code::invalid_argument);
  CHECK(r.status.message == "cannot parse the request message as cgtest.echo.Request");
  // proto2: an empty payload lacks Ping's required token
  auto p = ch.call(Pinger::Methods::Ping, std::string(), {.timeout = 5s}).get();
  CHECK(p.status.code == achan::status_code::invalid_argument);
  CHECK(p.status.message.find("Ping") != std::string::npos);
  ch.close();
}

TEST_CASE("codegen unary: a response that does not parse ends the call INTERNAL") {
  fixture f{[](achan::transport::h2_server& s) {
    s.add_unary("/cgtest.echo.Echo/NotServed",
                [](auto, std::string, achan::transport::responder r) { r.reply("\xff"); });
  }};
  Echo client{f.dial()};
  auto fut = client.NotServed(Request{}, {.timeout = 5s});
  auto r = get(fut);
  CHECK(r.status.code == achan::status_code::internal);
  CHECK(r.status.message == "cannot parse the response message as cgtest.echo.Reply");
  CHECK(r.response.text().empty());
}

TEST_CASE("codegen unary: a request missing proto2 required fields fails at once INTERNAL") {
  fixture f;
  Pinger::Client client{f.dial()};
  ::Ping bad;  // token unset
  auto fut = client.Ping(bad, {.timeout = 5s});
  REQUIRE(fut.wait_for(0s) == std::future_status::ready);
  auto r = fut.get();
  CHECK(r.status.code == achan::status_code::internal);
  CHECK(r.status.message.find("cannot serialize the request message Ping") != std::string::npos);
  ::Ping good;
  good.set_token("tok");
  auto ok = client.Ping(good, {.timeout = 5s});
  auto g = get(ok);
  REQUIRE_MESSAGE(g.ok(), g.status.to_string());
  CHECK(g.response.token() == "tok");
}

TEST_CASE("codegen unary: cancel through the handle ends the call CANCELLED") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_park(true);
  std::promise<achan::typed_result<Reply>> p;
  auto fut = p.get_future();
  auto h = client.Unary(req, {.timeout = 10s},
                        [&p](achan::typed_result<Reply>&& r) { p.set_value(std::move(r)); });
  h.cancel();
  auto r = get(fut);
  CHECK(r.status.code == achan::status_code::cancelled);
}

TEST_CASE("codegen service: add_to with a shared_ptr makes the server keep the service") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::weak_ptr<pinger_impl> weak;
  {
    achan::transport::h2_server server;
    {
      auto impl = std::make_shared<pinger_impl>();
      weak = impl;
      Pinger::Service::add_to(server, impl);
      Pinger::Service::add_to(server, nullptr);  // ignored: the registration stays
    }
    REQUIRE_FALSE(weak.expired());  // the caller's reference is gone; the server's is not
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    achan::dial_options o;
    o.block_until_ready = 10s;
    auto ch = achan::dial(sys, "ipv4:127.0.0.1:" + std::to_string(*l), o);
    REQUIRE(ch);
    Pinger::Client client{*ch};
    ::Ping ping;
    ping.set_token("shared");
    auto fut = client.Ping(ping, {.timeout = 5s});
    auto r = get(fut);
    REQUIRE_MESSAGE(r.ok(), r.status.to_string());
    CHECK(r.response.token() == "shared");
    ch->close();
    server.shutdown(1s);
  }
  CHECK(weak.expired());  // released with the server
}
