// The etcd resolver and registration while etcd members fail: a three-member cluster with
// members and the leader killed under load, and a registration across a member restart.
#include <doctest/doctest.h>

#include <thread>

#include "tests/e2e/etcd_support.hpp"
#include "tests/support/etcd_cluster.hpp"

using namespace achan;
using namespace achan::test::etcd_e2e;
using namespace std::chrono_literals;

namespace {

/// True if every list in `observed` is one of `states`, in their order (a list may repeat
/// while the store stays in a state, and states may be skipped when one watch response
/// carries several changes): a replayed or lost event would show a list out of order or
/// one the store never held.
bool follows(const std::vector<std::vector<std::string>>& observed,
             const std::vector<std::vector<std::string>>& states) {
  std::size_t at = 0;
  for (const auto& list : observed) {
    while (at < states.size() && states[at] != list)
      ++at;
    if (at == states.size())
      return false;
  }
  return true;
}

}  // namespace

TEST_CASE("etcd resolver: three members - each member and then the leader killed under load") {
  test::etcd_cluster etcd(3);
  std::vector<std::unique_ptr<backend>> b;
  for (int i = 0; i < 6; ++i)
    b.push_back(std::make_unique<backend>("b" + std::to_string(i)));
  auto key = [](int i) { return "svc/b" + std::to_string(i); };
  // The store's states in order (lists sorted like seen's); each step adds b[i + 2] and
  // then removes b[i], so no address comes back once it is gone.
  std::vector<std::vector<std::string>> states{{b[0]->address, b[1]->address}};
  std::sort(states[0].begin(), states[0].end());
  etcd.put(key(0), b[0]->address);
  etcd.put(key(1), b[1]->address);

  etcd_options eo;
  eo.keepalive_time = 1s;  // a killed member's connection is gone at once anyway (RST)
  eo.keepalive_timeout = 1s;
  watched_channel w("etcd://" + etcd.authority() + "/svc",
                    {.lb_policy = "round_robin", .resolvers = {make_etcd_resolver(eo)}});
  REQUIRE(w.s.wait_list(states.back()));
  call_load load(*w.ch, 2);

  auto step = [&](int i, int victim) {
    etcd.kill_member(victim);
    etcd.leader(15s);  // the two left agree on a leader (a new one if the leader died)
    etcd.put(key(i + 2), b[i + 2]->address);
    auto grown = states.back();
    grown.push_back(b[i + 2]->address);
    std::sort(grown.begin(), grown.end());
    states.push_back(grown);
    etcd.del(key(i));
    auto shrunk = grown;
    shrunk.erase(std::find(shrunk.begin(), shrunk.end(), b[i]->address));
    states.push_back(shrunk);
    CHECK_MESSAGE(w.s.wait_list(shrunk, 20s), "after killing member ", victim);
    etcd.restart_member(victim);
  };
  // Killing each member in turn kills the one the watch is on, whichever it is.
  for (int m = 0; m < 3; ++m)
    step(m, m);
  step(3, etcd.leader());
  load.stop();

  CHECK(load.failed() == 0);
  CHECK(load.ok() > 0);
  std::lock_guard lk{w.s.mx};
  auto show = [&](const std::vector<std::vector<std::string>>& lists) {
    std::string out;
    for (const auto& l : lists) {
      out += "\n  {";
      for (const auto& a : l)
        out += " b" + std::to_string(std::find_if(b.begin(), b.end(),
                                                  [&](auto& x) { return x->address == a; }) -
                                     b.begin());
      out += " }";
    }
    return out;
  };
  CHECK_MESSAGE(follows(w.s.history, states), "published:", show(w.s.history),
                "\nstates:", show(states), "\nnotes: ", w.s.notes.size());
  CHECK(w.s.history.back() == states.back());
}

TEST_CASE("etcd registration: survives a restart of the only member") {
  test::etcd_cluster etcd(1);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  etcd_registration_options ro;
  ro.ttl = 3s;
  ro.etcd.retry.max = 500ms;
  auto reg =
      etcd_registration::start(sys, "etcd://" + etcd.authority() + "/svc", "127.0.0.1:5555", ro);
  REQUIRE(reg);
  const std::string key = "svc/127.0.0.1:5555";
  REQUIRE(poll_until([&] { return (*reg)->registered(); }, 10s));
  etcd.stop_member(0);
  CHECK(poll_until([&] { return !(*reg)->last_error().empty(); }, 10s));
  etcd.restart_member(0);
  bool back = poll_until([&] { return (*reg)->last_error().empty() && (*reg)->registered(); }, 15s);
  REQUIRE_MESSAGE(back, "last error: ", (*reg)->last_error(),
                  "; registered: ", (*reg)->registered());
  CHECK(etcd.get(key));
  // Kept alive from then on: still there two TTLs later, on the first lease or a new one.
  auto later = std::chrono::steady_clock::now() + 2 * ro.ttl;
  bool always = true;
  while (std::chrono::steady_clock::now() < later) {
    always = always && etcd.get(key).has_value();
    std::this_thread::sleep_for(200ms);
  }
  CHECK(always);
  (*reg)->stop();
  CHECK_FALSE(etcd.get(key));
}
