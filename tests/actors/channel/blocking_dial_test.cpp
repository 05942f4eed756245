// Blocking dial on CAF's real scheduler (bounded waits on events, no sleeps), and its
// refusal to block where the wait would stall the actors it waits for.
#include <doctest/doctest.h>

#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>

#include <achan/actor_executor.hpp>
#include <achan/channel.hpp>
#include <achan/simulated_transport.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {
struct real_system {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::shared_ptr<transport::simulated_transport> sim =
      std::make_shared<transport::simulated_transport>(make_actor_executor(sys));
};
}  // namespace

TEST_CASE("dial: block_until_ready returns a READY channel") {
  real_system r;
  r.sim->set_behavior("127.0.0.1:7", {.connect_delay = 10ms});
  dial_options o;
  o.transport = r.sim;
  o.block_until_ready = 10s;
  auto ch = achan::dial(r.sys, "127.0.0.1:7", o);
  REQUIRE(ch);
  CHECK(ch->state() == connectivity_state::ready);
  CHECK(ch->call("/x.Y/Z", "p").get().status.ok());
  ch->close();
}

TEST_CASE("dial: block_until_ready fails with dial_timeout when no backend answers") {
  real_system r;
  r.sim->set_behavior("127.0.0.1:7", {.connect = transport::sim_behavior::connect_mode::hang});
  dial_options o;
  o.transport = r.sim;
  o.block_until_ready = 200ms;
  auto ch = achan::dial(r.sys, "127.0.0.1:7", o);
  REQUIRE(!ch);
  auto msg = to_string_with_message(ch.error());
  CHECK(msg.find("dial_timeout") == 0);
  CHECK(msg.find("CONNECTING") != std::string::npos);
}

TEST_CASE("dial: block_until_ready inside an actor fails with would_deadlock instead of blocking") {
  real_system r;
  r.sim->set_behavior("127.0.0.1:7", {.connect_delay = 10ms});
  auto outcome = std::make_shared<std::promise<std::string>>();
  auto probe = r.sys.spawn(
      [](caf::event_based_actor* self, std::shared_ptr<transport::simulated_transport> sim,
         std::shared_ptr<std::promise<std::string>> out) -> caf::behavior {
        return {[=](int) {
          dial_options o;
          o.transport = sim;
          o.block_until_ready = 10s;
          auto ch = achan::dial(self->home_system(), "127.0.0.1:7", o);
          if (ch) {
            out->set_value("dialled: " + std::string{to_string(ch->state())});
            ch->close();
          } else {
            out->set_value(to_string_with_message(ch.error()));
          }
        }};
      },
      r.sim, outcome);
  caf::anon_send(probe, 1);
  auto f = outcome->get_future();
  REQUIRE(f.wait_for(20s) == std::future_status::ready);
  auto msg = f.get();
  CHECK_MESSAGE(msg.find("would_deadlock") == 0, msg);
  CHECK(msg.find("127.0.0.1:7") != std::string::npos);
  caf::anon_send_exit(probe, caf::exit_reason::user_shutdown);
}

TEST_CASE("dial: block_until_ready under the test coordinator fails with would_deadlock") {
  test::actor_fixture f;
  dial_options o;
  o.transport = f.sim;
  o.block_until_ready = 1s;
  auto ch = achan::dial(f.sys, "127.0.0.1:7", o);  // nothing would run the actors meanwhile
  REQUIRE(!ch);
  CHECK(to_string_with_message(ch.error()).find("would_deadlock") == 0);
  CHECK(f.sim->stats("127.0.0.1:7").connects == 0);  // failed before connecting anything
}
