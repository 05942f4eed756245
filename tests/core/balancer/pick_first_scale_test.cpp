// pick_first with thousands of addresses: selecting a subchannel costs work linear in
// the list (measured in allocations, which are deterministic), and shuts every other
// subchannel down in list order.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <string>
#include <vector>

#include "core/balancer/pick_first.hpp"
#include "tests/support/allocation_counter.hpp"
#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

namespace {

std::vector<std::string> addresses(std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("10." + std::to_string(i / 65536) + "." + std::to_string(i / 256 % 256) + "." +
                  std::to_string(i % 256) + ":1");
  return out;
}

std::string picked_address(const fake_policy_helper& h) {
  auto r = h.picker->pick({});
  REQUIRE(r.what == pick_result::kind::complete);
  return (*r.conn)->address();
}

}  // namespace

TEST_CASE("pick_first: selecting among 5000 subchannels allocates less than once per subchannel") {
  constexpr std::size_t n = 5000;
  fake_policy_helper h;
  h.shutdowns.reserve(n);
  pick_first pf{h};
  auto addrs = addresses(n);
  pf.update_addresses(addrs, {});
  REQUIRE(h.created.size() == n);
  auto ready = h.ready(h.created.back());  // the last one connects first
  std::uint64_t allocations = 0;
  {
    test::allocation_counter counter;
    pf.on_subchannel_update(ready);
    allocations = counter.allocations();
  }
  CHECK(picked_address(h) == addrs.back());
  CHECK(h.shutdowns.size() == n - 1);
  if (!test::allocation_counter::available()) {
    MESSAGE("no sanitizer runtime: allocations not counted");
    return;
  }
  MESSAGE("allocations while selecting: " << allocations);
  CHECK(allocations < n);  // quadratic work (re-indexing per removal) makes ~n*n/2
}

TEST_CASE("pick_first: selecting shuts down every other subchannel in list order") {
  fake_policy_helper h;
  pick_first pf{h};
  auto addrs = addresses(7);
  pf.update_addresses(addrs, {});
  auto ids = h.created;
  REQUIRE(ids.size() == 7);
  pf.on_subchannel_update(h.ready(ids[3]));
  CHECK(picked_address(h) == addrs[3]);
  CHECK(h.shutdowns == std::vector<subchannel_id>{ids[0], ids[1], ids[2], ids[4], ids[5], ids[6]});
  CHECK(h.live_addresses() == std::vector<std::string>{addrs[3]});
  // Late updates of the removed ones change nothing; losing the selected one goes IDLE.
  auto publishes = h.publishes();
  pf.on_subchannel_update(h.ready(ids[5]));
  pf.on_subchannel_update(fake_policy_helper::failed(ids[0]));
  CHECK(h.publishes() == publishes);
  pf.on_subchannel_update(fake_policy_helper::idle(ids[3], "connection lost"));
  CHECK(h.state == connectivity_state::idle);
  // A new pass reuses nothing removed: every address gets a fresh subchannel but the kept one.
  pf.exit_idle();
  CHECK(h.created.size() == 7 + 6);
  CHECK(h.live_addresses().size() == 7);
}

TEST_CASE("pick_first: 10000 addresses failing one after another keep at most one timer pending") {
  constexpr std::size_t n = 10000;
  fake_policy_helper h;
  pick_first pf{h};
  auto addrs = addresses(n);
  pf.update_addresses(addrs, {});
  std::size_t most_pending = 0;
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(h.connects.size() == i + 1);
    pf.on_subchannel_update(fake_policy_helper::failed(h.connects.back()));
    most_pending = std::max(most_pending, h.pending_timers());
  }
  CHECK(most_pending == 1);
  CHECK(h.state == connectivity_state::transient_failure);
  CHECK(h.reresolutions == 1);
  h.advance(std::chrono::hours{1});
  CHECK(h.pending_timers() == 0);
  CHECK(h.connects.size() == n);
}

TEST_CASE("pick_first: 1000 hanging attempts are started 250 ms apart by one timer") {
  constexpr std::size_t n = 1000;
  fake_policy_helper h;
  pick_first pf{h};
  pf.update_addresses(addresses(n), {});
  for (std::size_t i = 1; i < n; ++i) {
    CHECK(h.pending_timers() == 1);
    h.advance(pick_first::connection_attempt_delay);
    REQUIRE(h.connects.size() == i + 1);
  }
  CHECK(h.pending_timers() == 0);  // the last address is not timed
  CHECK(h.state == connectivity_state::connecting);
  pf.on_subchannel_update(h.ready(h.created[n / 2]));
  CHECK(h.shutdowns.size() == n - 1);
}
