// The etcd resolver and registration while etcd members fail: a three-member cluster with
// members and the leader killed, or members partitioned behind fault proxies, under load;
// a registration across a member restart.
#include <doctest/doctest.h>

#include <thread>

#include <achan/fault_proxy.hpp>

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

/// Backends b0..b5 and the prefix's states as a failover test changes it: keys svc/b0 and
/// svc/b1 first, then each step adds b[i + 2] and removes b[i], so no address comes back
/// once it is gone. Lists are sorted like seen's.
struct churn {
  test::etcd_cluster& etcd;
  std::vector<std::unique_ptr<backend>> b;
  std::vector<std::vector<std::string>> states;

  explicit churn(test::etcd_cluster& e) : etcd(e) {
    for (int i = 0; i < 6; ++i)
      b.push_back(std::make_unique<backend>("b" + std::to_string(i)));
    states.push_back({b[0]->address, b[1]->address});
    std::sort(states[0].begin(), states[0].end());
    etcd.put(key(0), b[0]->address);
    etcd.put(key(1), b[1]->address);
  }
  static std::string key(int i) { return "svc/b" + std::to_string(i); }
  /// Step i (0..3): put b[i + 2], delete b[i]; the state after both.
  const std::vector<std::string>& step(int i) {
    etcd.put(key(i + 2), b[i + 2]->address);
    auto grown = states.back();
    grown.push_back(b[i + 2]->address);
    std::sort(grown.begin(), grown.end());
    states.push_back(grown);
    etcd.del(key(i));
    grown.erase(std::find(grown.begin(), grown.end(), b[i]->address));
    states.push_back(grown);
    return states.back();
  }
  /// "b3 b4 ..." lists, for a failure message.
  std::string show(const std::vector<std::vector<std::string>>& lists) const {
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
  }
  /// Every list `s` saw is a state of the store, in order, and the last is the final one.
  void check_history(seen& s) const {
    std::lock_guard lk{s.mx};
    CHECK_MESSAGE(follows(s.history, states), "published:", show(s.history),
                  "\nstates:", show(states), "\nnotes: ", s.notes.size());
    CHECK(s.history.back() == states.back());
  }
};

etcd_options fast_keepalive() {
  etcd_options eo;
  eo.keepalive_time = 1s;  // (etcd allows it: --grpc-keepalive-min-time below)
  eo.keepalive_timeout = 1s;
  return eo;
}

TEST_CASE("etcd resolver: three members - each member and then the leader killed under load") {
  test::etcd_cluster etcd(3);
  churn c(etcd);
  watched_channel w(
      "etcd://" + etcd.authority() + "/svc",
      {.lb_policy = "round_robin", .resolvers = {make_etcd_resolver(fast_keepalive())}});
  REQUIRE(w.s.wait_list(c.states.back()));
  call_load load(*w.ch, 2);
  auto step = [&](int i, int victim) {
    etcd.kill_member(victim);
    etcd.leader(15s);  // the two left agree on a leader (a new one if the leader died)
    CHECK_MESSAGE(w.s.wait_list(c.step(i), 20s), "after killing member ", victim);
    etcd.restart_member(victim);
  };
  // Killing each member in turn kills the one the watch is on, whichever it is.
  for (int m = 0; m < 3; ++m)
    step(m, m);
  step(3, etcd.leader());
  load.stop();
  CHECK(load.failed() == 0);
  CHECK(load.ok() > 0);
  c.check_history(w.s);
}

TEST_CASE("etcd resolver: three members - each member's connection partitioned in turn") {
  // Each member behind a fault proxy; a partition stops both directions and keeps the
  // connection open, so only HTTP/2 keepalive notices (1 s + 1 s here). The members
  // reach each other directly, so the cluster itself stays whole.
  test::etcd_cluster etcd(3, {.etcd_flags = {"--grpc-keepalive-min-time=500ms"}});
  churn c(etcd);
  std::vector<std::unique_ptr<fault::fault_proxy>> proxies;
  std::string members;
  for (int m = 0; m < 3; ++m) {
    proxies.push_back(std::make_unique<fault::fault_proxy>(etcd.client_address(m)));
    members += (m ? "," : "") + proxies.back()->address();
  }
  watched_channel w(
      "etcd://" + members + "/svc",
      {.lb_policy = "round_robin", .resolvers = {make_etcd_resolver(fast_keepalive())}});
  REQUIRE(w.s.wait_list(c.states.back()));
  call_load load(*w.ch, 2);
  for (int m = 0; m < 3; ++m) {  // so the watch's member is among them
    proxies[m]->add(fault::partition());
    CHECK_MESSAGE(w.s.wait_list(c.step(m), 20s), "with member ", m, " partitioned");
    proxies[m]->clear();
  }
  load.stop();
  CHECK(load.failed() == 0);
  c.check_history(w.s);
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
