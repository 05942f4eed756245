// server_writer's pacing model and its send-buffer limit, from achan's channel on
// loopback: a writer that waits for `sent` streams any amount; one that writes faster
// than its client reads ends RESOURCE_EXHAUSTED at the limit instead of buffering.
#include <doctest/doctest.h>

#include <atomic>
#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include "testkit/echo_service.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

struct fixture {
  transport::h2_server server;
  std::shared_ptr<void> service = testkit::add_echo_service(server, "pacing");
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::optional<channel> ch;

  explicit fixture(transport::server_options o = {}) : server(o) {}
  channel& dial() {
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    dial_options d;
    d.block_until_ready = 10s;
    auto c = achan::dial(sys, "ipv4:127.0.0.1:" + std::to_string((*l)), d);
    REQUIRE(c);
    ch = *c;
    return *ch;
  }
  /// A server-streaming call; returns its status and counts its messages in `n`.
  call_result stream(const std::string& method, const std::string& request, int& n) {
    std::promise<call_result> done;
    ch->server_stream(
        method, request, {.timeout = 30s}, [&](std::string&&) { ++n; },
        [&](call_result&& r) { done.set_value(std::move(r)); });
    return done.get_future().get();
  }
};

}  // namespace

TEST_CASE("server_writer: a writer paced on sent streams 20 MB past the send buffer") {
  transport::server_options o;
  o.max_stream_send_buffer = 256 * 1024;  // far below what the stream carries
  fixture f{o};
  f.dial();
  achan::test::EchoRequest req;  // the echo service paces its ServerStream on `sent`
  req.set_reply_count(5000);
  req.set_reply_size(4096);
  int n = 0;
  auto r = f.stream("/achan.test.Echo/ServerStream", req.SerializeAsString(), n);
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(n == 5000);
}

TEST_CASE("server_writer: writing past the stream's send buffer ends the call RESOURCE_EXHAUSTED") {
  transport::server_options o;
  o.max_stream_send_buffer = 256 * 1024;
  fixture f{o};
  std::promise<bool> last_write;
  // Writes 64 MB at once on the I/O thread: the client cannot read it that fast.
  f.server.add_server_stream(
      "/t.S/Careless", [&](transport::server_call_info, std::string, transport::server_writer out) {
        bool ok = true;
        for (int i = 0; i < 1000 && ok; ++i)
          ok = out.write(std::string(65536, 'c'));
        last_write.set_value(ok);
      });
  f.dial();
  int n = 0;
  auto r = f.stream("/t.S/Careless", "", n);
  CHECK(r.status.code == status_code::resource_exhausted);
  CHECK(n < 1000);
  auto w = last_write.get_future();
  REQUIRE(w.wait_for(5s) == std::future_status::ready);
  CHECK_FALSE(w.get());  // the handler learnt that the call ended
  CHECK(f.server.active_calls() == 0);
}

TEST_CASE("server_writer: sent callbacks and buffered() report what went into DATA frames") {
  fixture f;
  std::promise<std::vector<bool>> results;
  std::promise<std::size_t> buffered_after;
  f.server.add_server_stream(
      "/t.S/Three", [&](transport::server_call_info, std::string, transport::server_writer out) {
        auto got = std::make_shared<std::vector<bool>>();
        for (int i = 0; i < 3; ++i)
          out.write("message " + std::to_string(i), [&, got, out](bool ok) {
            got->push_back(ok);
            if (got->size() == 3) {
              buffered_after.set_value(out.buffered());
              results.set_value(*got);
              out.finish();
            }
          });
      });
  f.dial();
  int n = 0;
  auto r = f.stream("/t.S/Three", "", n);
  CHECK(r.status.ok());
  CHECK(n == 3);
  CHECK(results.get_future().get() == std::vector<bool>{true, true, true});
  CHECK(buffered_after.get_future().get() == 0);
}
