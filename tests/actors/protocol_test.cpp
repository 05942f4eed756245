// The messages of actors/protocol.hpp that carry a one-shot answer (wait_for_change,
// subscribe): however often CAF copies one, it is answered exactly once — by its
// handler, or with the "dropped" answer when no copy was handled.
#include <doctest/doctest.h>

#include <future>
#include <memory>
#include <optional>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/detail/type_list.hpp>
#include <caf/make_message.hpp>
#include <caf/send.hpp>

#include <achan/protocol.hpp>
#include "actors/channel_protocol.hpp"
#include "actors/state/state_manager.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using cs = connectivity_state;

namespace {

/// A state manager in virtual time.
struct manager_fixture : test::actor_fixture {
  std::shared_ptr<std::atomic<cs>> mirror = std::make_shared<std::atomic<cs>>(cs::idle);
  state_manager_actor manager = spawn_state_manager(sys, mirror);
  ~manager_fixture() {
    caf::anon_send(manager, set_state{cs::shutdown});
    run();
  }
};

}  // namespace

TEST_CASE("protocol: copies of wait_for_change dropped unhandled answer once") {
  std::vector<bool> answers;
  {
    wait_for_change w{cs::ready, time_point::max(), [&](bool c) { answers.push_back(c); }};
    auto copy = w;
    auto moved = std::move(copy);
  }
  // Dropped means the manager stopped at SHUTDOWN: the state did change from READY.
  CHECK(answers == std::vector<bool>{true});
}

TEST_CASE("protocol: a copied wait_for_change carrying a promise is answered once") {
  // channel::wait_for_state_change(from, timeout) answers through a promise: a second
  // answer would throw from a destructor (std::terminate).
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  {
    wait_for_change w{cs::idle, time_point::max(), [p](bool c) { p->set_value(c); }};
    auto copy = w;
  }
  CHECK(f.get());
}

TEST_CASE("protocol: copies of subscribe dropped unhandled report SHUTDOWN once") {
  std::vector<state_change> seen;
  {
    subscribe s{[&](const state_change& c) { seen.push_back(c); }};
    auto copy = s;
    auto moved = std::move(copy);
  }
  REQUIRE(seen.size() == 1);
  CHECK(seen[0].to == cs::shutdown);
}

TEST_CASE("protocol: a wait_for_change copy dropped after the manager took it does not answer") {
  std::vector<bool> answers;  // outlives the manager, which answers at SHUTDOWN
  manager_fixture f;
  std::optional<wait_for_change> w;
  w.emplace(cs::idle, time_point::max(), [&](bool c) { answers.push_back(c); });
  caf::anon_send(f.manager, *w);  // a copy; the manager takes the answer out of it
  f.run();
  w.reset();
  CHECK(answers.empty());  // the manager still waits: the state is still IDLE
  caf::anon_send(f.manager, set_state{cs::connecting});
  f.run();
  CHECK(answers == std::vector<bool>{true});
}

TEST_CASE("protocol: a subscribe copy dropped after the manager took it does not report") {
  std::vector<state_change> seen;  // outlives the manager, which reports SHUTDOWN
  manager_fixture f;
  std::optional<subscribe> s;
  s.emplace([&](const state_change& c) { seen.push_back(c); });
  caf::anon_send(f.manager, *s);
  f.run();
  s.reset();
  REQUIRE(seen.size() == 1);  // the current state only, not a SHUTDOWN from the copy
  CHECK(seen[0].to == cs::idle);
  caf::anon_send(f.manager, set_state{cs::connecting});
  f.run();
  REQUIRE(seen.size() == 2);
  CHECK(seen[1].to == cs::connecting);
}

TEST_CASE("protocol: a message CAF copies for its handler is answered once") {
  // A handler taking its argument by mutable reference gets a copy of a message whose
  // content is shared (here: the test still holds it); the original goes later.
  std::vector<bool> answers;
  manager_fixture f;
  {
    auto m = caf::make_message(
        wait_for_change{cs::idle, time_point::max(), [&](bool c) { answers.push_back(c); }});
    caf::anon_send(caf::actor_cast<caf::actor>(f.manager), m);
    f.run();
  }
  CHECK(answers.empty());
  caf::anon_send(f.manager, set_state{cs::connecting});
  f.run();
  CHECK(answers == std::vector<bool>{true});
}

// The channel's public handle lists only what users may send; the library's own handle
// (channel_control) adds the internal hand-offs. Checked at compile time.
static_assert(caf::detail::tl_contains<channel_actor::signatures,
                                       caf::replies_to<call_request>::with<call_result>>::value);
static_assert(
    !caf::detail::tl_contains<channel_actor::signatures, caf::reacts_to<start_call>>::value);
static_assert(
    !caf::detail::tl_contains<channel_actor::signatures, caf::reacts_to<picker_update>>::value);
static_assert(
    caf::detail::tl_contains<channel_control::signatures, caf::reacts_to<start_call>>::value);

TEST_CASE("protocol: the channel's public handle is the user interface only") {
  CHECK(caf::detail::tl_size<channel_actor::signatures>::value == 5);
}
