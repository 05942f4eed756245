// Generated streaming clients (server, client and bidi streaming) against generated
// services on loopback: typed messages, pacing, statuses, cancel, unparseable messages.
#include "echo_fixture.hpp"

using namespace cgtest_support;
using Echo = cgtest::echo::Echo::Client;

TEST_CASE("codegen server stream: typed messages in order then the final status") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_text("s");
  req.set_count(5);
  req.set_echo_md(true);
  stream_sink<Reply> sink;
  client.ServerStream(req, {.timeout = 5s, .md = {{"x-k", "v"}}}, sink.on_message(), sink.done());
  auto end = sink.wait();
  REQUIRE_MESSAGE(end.ok(), end.status.to_string());
  CHECK(find_md(end.trailers, "echo-x-k") == "v");
  std::lock_guard lk{sink.mx};
  REQUIRE(sink.messages.size() == 5);
  for (int i = 0; i < 5; ++i) {
    CHECK(sink.messages[i].index() == i);
    CHECK(sink.messages[i].text() == "s");
  }
}

TEST_CASE("codegen server stream: an error status after some messages") {
  fixture f;
  Echo client{f.dial()};
  Request req;
  req.set_count(2);
  req.set_code(static_cast<int>(achan::status_code::aborted));
  stream_sink<Reply> sink;
  client.ServerStream(req, {.timeout = 5s}, sink.on_message(), sink.done());
  auto end = sink.wait();
  CHECK(end.status.code == achan::status_code::aborted);
  CHECK(end.status.message == "stream asked for it");
  std::lock_guard lk{sink.mx};
  CHECK(sink.messages.size() == 2);
}

TEST_CASE("codegen server stream: a message that does not parse cancels the call INTERNAL") {
  // The server sends one good message, one bad one and never finishes: only the
  // client's cancel ends the call before its deadline.
  fixture f{[](achan::transport::h2_server& s) {
    s.add_server_stream("/cgtest.echo.Echo/ServerStream",
                        [](auto, std::string, achan::transport::server_writer out) {
                          Reply good;
                          good.set_text("good");
                          out.write(good.SerializeAsString());
                          out.write("\xff");
                          out.write(good.SerializeAsString());
                        });
  }};
  Echo client{f.dial()};
  stream_sink<Reply> sink;
  auto t0 = std::chrono::steady_clock::now();
  client.ServerStream(Request{}, {.timeout = 8s}, sink.on_message(), sink.done());
  auto end = sink.wait();
  CHECK(end.status.code == achan::status_code::internal);
  CHECK(end.status.message == "cannot parse a response message as cgtest.echo.Reply");
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  std::lock_guard lk{sink.mx};
  REQUIRE(sink.messages.size() == 1);
  CHECK(sink.messages[0].text() == "good");
}

TEST_CASE("codegen client stream: typed writes then one typed response") {
  fixture f;
  Echo client{f.dial()};
  std::promise<achan::typed_result<Reply>> p;
  auto fut = p.get_future();
  auto w = client.ClientStream({.timeout = 5s},
                               [&p](achan::typed_result<Reply>&& r) { p.set_value(std::move(r)); });
  std::promise<bool> sent;
  auto sent_f = sent.get_future();
  for (const char* t : {"a", "b", "c"}) {
    Request req;
    req.set_text(t);
    if (std::string(t) == "c")
      CHECK(w.write(req, [&sent](bool ok) { sent.set_value(ok); }));
    else
      CHECK(w.write(req));
  }
  CHECK(get(sent_f));
  w.writes_done();
  CHECK_FALSE(w.write(Request{}));  // after writes_done
  auto r = get(fut);
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(r.response.text() == "a+b+c");
  CHECK(r.response.index() == 3);
  CHECK(w.done());
  CHECK(w.buffered() == 0);
}

TEST_CASE("codegen client stream: a request that does not parse is answered INVALID_ARGUMENT") {
  fixture f;
  auto ch = f.dial();
  std::promise<achan::call_result> p;
  auto fut = p.get_future();
  auto s = ch.client_stream(cgtest::echo::Echo::Methods::ClientStream, {.timeout = 5s},
                            [&p](achan::call_result&& r) { p.set_value(std::move(r)); });
  s.write("\xff");
  s.writes_done();
  auto r = get(fut);
  CHECK(r.status.code == achan::status_code::invalid_argument);
  CHECK(r.status.message == "cannot parse the request message as cgtest.echo.Request");
  ch.close();
}

TEST_CASE("codegen bidi: typed requests and responses interleave") {
  fixture f;
  Echo client{f.dial()};
  stream_sink<Reply> sink;
  std::promise<void> first;
  auto first_f = first.get_future();
  std::once_flag once;
  auto on_message = [&](Reply&& r) {
    sink.on_message()(std::move(r));
    std::call_once(once, [&] { first.set_value(); });
  };
  auto w = client.Bidi({.timeout = 5s}, on_message, sink.done());
  Request req;
  req.set_text("one");
  REQUIRE(w.write(req));
  // The answer to the first request arrives while the request stream is still open.
  REQUIRE(first_f.wait_for(10s) == std::future_status::ready);
  req.set_text("two");
  REQUIRE(w.write(req));
  w.writes_done();
  auto end = sink.wait();
  REQUIRE_MESSAGE(end.ok(), end.status.to_string());
  std::lock_guard lk{sink.mx};
  REQUIRE(sink.messages.size() == 2);
  CHECK(sink.messages[0].text() == "echo: one");
  CHECK(sink.messages[1].text() == "echo: two");
  CHECK(sink.messages[1].index() == 1);
}

TEST_CASE("codegen bidi: cancel ends the call CANCELLED and later writes fail") {
  fixture f;
  Echo client{f.dial()};
  stream_sink<Reply> sink;
  auto w = client.Bidi({.timeout = 10s}, sink.on_message(), sink.done());
  Request req;
  req.set_text("x");
  CHECK(w.write(req));
  w.cancel();
  auto end = sink.wait();
  CHECK(end.status.code == achan::status_code::cancelled);
  CHECK_FALSE(w.write(req));
}

TEST_CASE("codegen bidi: a status chosen by the service ends the stream") {
  fixture f;
  Echo client{f.dial()};
  stream_sink<Reply> sink;
  auto w = client.Bidi({.timeout = 5s}, sink.on_message(), sink.done());
  Request req;
  req.set_code(static_cast<int>(achan::status_code::permission_denied));
  w.write(req);
  auto end = sink.wait();
  CHECK(end.status.code == achan::status_code::permission_denied);
  CHECK(end.status.message == "bidi asked");
  w.cancel();
}

TEST_CASE("codegen bidi: a response that does not parse cancels the call INTERNAL") {
  fixture f{[](achan::transport::h2_server& s) {
    s.add_streaming("/cgtest.echo.Echo/NotServedStream", [](auto,
                                                            achan::transport::server_writer out) {
      return achan::transport::stream_reader{[out](std::string&&) { out.write("\xff"); }, [] {}};
    });
  }};
  Echo client{f.dial()};
  stream_sink<Reply> sink;
  auto w = client.NotServedStream({.timeout = 8s}, sink.on_message(), sink.done());
  w.write(Request{});
  auto end = sink.wait();
  CHECK(end.status.code == achan::status_code::internal);
  CHECK(end.status.message == "cannot parse a response message as cgtest.echo.Reply");
  CHECK(w.done());
  std::lock_guard lk{sink.mx};
  CHECK(sink.messages.empty());
}

TEST_CASE("codegen bidi: a default method answers UNIMPLEMENTED and an unregistered service too") {
  fixture f;
  auto ch = f.dial();
  Echo client{ch};
  stream_sink<Reply> sink;
  auto w = client.NotServedStream({.timeout = 5s}, sink.on_message(), sink.done());
  auto end = sink.wait();
  CHECK(end.status.code == achan::status_code::unimplemented);
  CHECK(end.status.message == "method /cgtest.echo.Echo/NotServedStream is not implemented");

  cgtest::echo::Chat::Client chat{ch};  // Chat::Service was never added to the server
  stream_sink<cgtest::types::Envelope> chat_sink;
  auto cw = chat.Talk({.timeout = 5s}, chat_sink.on_message(), chat_sink.done());
  cw.writes_done();
  auto chat_end = chat_sink.wait();
  CHECK(chat_end.status.code == achan::status_code::unimplemented);
}
