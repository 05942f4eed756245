// Blocking dial on CAF's real scheduler (bounded waits on events, no sleeps).
#include <doctest/doctest.h>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "actors/channel.hpp"
#include "actors/support/actor_executor.hpp"
#include "transport/sim/simulated_transport.hpp"

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
