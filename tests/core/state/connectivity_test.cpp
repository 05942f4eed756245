#include <achan/connectivity.hpp>

#include <doctest/doctest.h>

#include <string>
#include <vector>

using namespace achan;

namespace {

constexpr auto idle = connectivity_state::idle;
constexpr auto connecting = connectivity_state::connecting;
constexpr auto ready = connectivity_state::ready;
constexpr auto failure = connectivity_state::transient_failure;
constexpr auto shutdown = connectivity_state::shutdown;

state_counter with(const std::vector<connectivity_state>& states) {
  state_counter c;
  for (auto s : states)
    c.record(shutdown, s);
  return c;
}

}  // namespace

TEST_CASE("connectivity: aggregate is READY > CONNECTING > IDLE > TRANSIENT_FAILURE") {
  struct agg_case {
    std::vector<connectivity_state> subchannels;
    connectivity_state expected;
  };
  std::vector<agg_case> cases = {
      {{}, failure},
      {{ready}, ready},
      {{connecting}, connecting},
      {{idle}, idle},
      {{failure}, failure},
      {{ready, connecting, idle, failure}, ready},
      {{failure, failure, ready}, ready},
      {{connecting, idle, failure}, connecting},
      {{idle, failure, connecting}, connecting},
      {{idle, failure}, idle},
      {{failure, idle, failure}, idle},
      {{failure, failure}, failure},
  };
  for (const auto& c : cases) {
    std::string states;
    for (auto s : c.subchannels)
      states.append(to_string(s)).append(" ");
    INFO("subchannels: " << states);
    CHECK(to_string(with(c.subchannels).aggregate()) == to_string(c.expected));
  }
}

TEST_CASE("connectivity: transitions and removal via record(x -> shutdown) update the aggregate") {
  state_counter c;
  CHECK(c.aggregate() == failure);
  c.record(shutdown, idle);
  c.record(shutdown, idle);
  CHECK(c.aggregate() == idle);
  CHECK(c.count(idle) == 2);
  c.record(idle, connecting);
  CHECK(c.aggregate() == connecting);
  c.record(connecting, ready);
  CHECK(c.aggregate() == ready);
  CHECK(c.count(ready) == 1);
  CHECK(c.count(idle) == 1);
  c.record(idle, failure);
  CHECK(c.aggregate() == ready);
  c.record(ready, shutdown);  // the READY subchannel is removed
  CHECK(c.count(ready) == 0);
  CHECK(c.aggregate() == failure);
  c.record(failure, shutdown);  // and the last one: zero subchannels
  CHECK(c.count(failure) == 0);
  CHECK(c.aggregate() == failure);
  CHECK(c.count(shutdown) == 0);
}

TEST_CASE("connectivity: to_string uses gRPC's names") {
  CHECK(to_string(idle) == "IDLE");
  CHECK(to_string(connecting) == "CONNECTING");
  CHECK(to_string(ready) == "READY");
  CHECK(to_string(failure) == "TRANSIENT_FAILURE");
  CHECK(to_string(shutdown) == "SHUTDOWN");
}
