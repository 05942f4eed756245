// The generated stub actor: a CAF actor requests a typed unary call and gets the typed
// result as its response.
#include "echo_fixture.hpp"

#include <caf/event_based_actor.hpp>
#include <caf/scoped_actor.hpp>

using namespace cgtest_support;
namespace echo_ns = cgtest::echo::Echo;

namespace {

using result = achan::typed_result<Reply>;

// An event-based actor that makes one typed call through `stub` and hands the result
// (or a CAF error, as UNKNOWN) to `out`.
void caller(caf::event_based_actor* self, echo_ns::StubActor stub, echo_ns::UnaryCall call,
            std::shared_ptr<std::promise<result>> out) {
  self->request(stub, caf::infinite, std::move(call))
      .then([out](result& r) { out->set_value(std::move(r)); },
            [out, self](caf::error& e) {
              out->set_value(
                  result{{achan::status_code::unknown, self->system().render(e)}, {}, {}, {}});
            });
}

result call_through(caf::actor_system& sys, const echo_ns::StubActor& stub,
                    echo_ns::UnaryCall call) {
  auto out = std::make_shared<std::promise<result>>();
  auto fut = out->get_future();
  sys.spawn(caller, stub, std::move(call), out);
  return get(fut);
}

}  // namespace

TEST_CASE("codegen stub actor: an actor's typed request is answered with the typed result") {
  fixture f;
  auto stub = echo_ns::spawn_stub(f.sys, f.dial());
  Request req;
  req.set_text("from an actor");
  req.set_echo_md(true);
  auto r = call_through(f.sys, stub,
                        echo_ns::UnaryCall{req, {.timeout = 5s, .md = {{"x-actor", "yes"}}}});
  REQUIRE_MESSAGE(r.ok(), r.status.to_string());
  CHECK(r.response.text() == "from an actor");
  CHECK(r.response.had_deadline());
  CHECK(find_md(r.trailers, "echo-x-actor") == "yes");
  caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
}

TEST_CASE("codegen stub actor: statuses and deadlines arrive as typed results") {
  fixture f;
  auto stub = echo_ns::spawn_stub(f.sys, f.dial());
  Request failing;
  failing.set_code(static_cast<int>(achan::status_code::resource_exhausted));
  auto r = call_through(f.sys, stub, echo_ns::UnaryCall{failing, {.timeout = 5s}});
  CHECK(r.status.code == achan::status_code::resource_exhausted);
  Request parked;
  parked.set_park(true);
  auto d = call_through(f.sys, stub, echo_ns::UnaryCall{parked, {.timeout = 200ms}});
  CHECK(d.status.code == achan::status_code::deadline_exceeded);
  caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
}

TEST_CASE("codegen stub actor: every unary method is in the typed interface") {
  fixture f;
  auto stub = echo_ns::spawn_stub(f.sys, f.dial());
  caf::scoped_actor self{f.sys};
  bool answered = false;
  self->request(stub, std::chrono::seconds(10), echo_ns::NowCall{google::protobuf::Empty{}, {}})
      .receive(
          [&](achan::typed_result<google::protobuf::Timestamp>& t) {
            answered = true;
            CHECK(t.ok());
            CHECK(t.response.seconds() == 42);
          },
          [&](caf::error& e) { FAIL_CHECK(f.sys.render(e)); });
  CHECK(answered);
  answered = false;
  self->request(stub, std::chrono::seconds(10), echo_ns::NotServedCall{Request{}, {}})
      .receive(
          [&](result& n) {
            answered = true;
            CHECK(n.status.code == achan::status_code::unimplemented);
          },
          [&](caf::error& e) { FAIL_CHECK(f.sys.render(e)); });
  CHECK(answered);
  caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
}

TEST_CASE("codegen stub actor: a request that cannot be serialized is answered INTERNAL") {
  fixture f;
  auto stub = Pinger::spawn_stub(f.sys, f.dial());
  caf::scoped_actor self{f.sys};
  bool answered = false;
  self->request(stub, std::chrono::seconds(10), Pinger::PingCall{::Ping{}, {}})
      .receive(
          [&](achan::typed_result<::Pong>& r) {
            answered = true;
            CHECK(r.status.code == achan::status_code::internal);
          },
          [&](caf::error& e) { FAIL_CHECK(f.sys.render(e)); });
  CHECK(answered);
  caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
}

TEST_CASE("codegen stub actor: a stub whose channel actor is gone answers UNAVAILABLE") {
  fixture f;
  auto ch = f.dial();
  auto stub = echo_ns::spawn_stub(f.sys, ch);
  {
    // close() makes the channel actor quit; wait (bounded) until it has.
    caf::scoped_actor self{f.sys};
    self->monitor(ch.actor());
    ch.close();
    bool down = false;
    self->receive([&](caf::down_msg&) { down = true; },
                  caf::after(std::chrono::seconds(10)) >> [] {});
    REQUIRE(down);
  }
  auto r = call_through(f.sys, stub, echo_ns::UnaryCall{Request{}, {.timeout = 5s}});
  CHECK(r.status.code == achan::status_code::unavailable);
  CHECK_MESSAGE(r.status.message.find("the channel actor did not answer") != std::string::npos,
                r.status.message);
  caf::anon_send_exit(stub, caf::exit_reason::user_shutdown);
}
