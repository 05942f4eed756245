#pragma once
// Shared by the outlier_detection tests: addresses, configs and a fixture that runs the
// policy over a real round_robin child on fake_policy_helper's virtual clock.
#include <doctest/doctest.h>

#include <chrono>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "core/balancer/outlier_detection.hpp"
#include "core/balancer/registry.hpp"
#include "tests/support/fake_policy_helper.hpp"
#include "tests/support/seed.hpp"

namespace achan::test::od {

using namespace std::chrono_literals;

using cs = connectivity_state;

inline std::vector<std::string> addresses(std::size_t n) {
  std::vector<std::string> out;
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("10.0.0." + std::to_string(i) + ":80");
  return out;
}

/// A failure-percentage config (requestVolume 10) with `extra` fields spliced in.
inline std::string failure_config(const std::string& extra = "", const std::string& fp = "") {
  return R"({"interval": "10s", "baseEjectionTime": "30s", )" + extra +
         R"("failurePercentageEjection": {"requestVolume": 10)" + fp +
         R"(}, "childPolicy": [{"round_robin": {}}]})";
}

/// An outlier_detection over round_robin with every address READY.
struct fixture {
  fake_policy_helper h;
  outlier_detection od{h};
  std::vector<std::string> addrs;

  explicit fixture(std::vector<std::string> a, const std::string& config = failure_config())
      : addrs(std::move(a)) {
    h.child_factory = [](const std::string& name, policy_helper& helper) {
      const auto* f = policy_registry::builtins().find(name);
      return f ? (*f)(helper) : nullptr;
    };
    update(config);
    for (const auto& addr : addrs)
      od.on_subchannel_update(h.ready(h.id_of(addr)));
  }
  void update(const std::string& config) {
    od.update_addresses(addrs, lb_config{"outlier_detection", false, config});
  }

  /// Picks `n` times and ends each call with `outcome(address)`; returns picks per address.
  template <class Outcome>
  std::map<std::string, int> calls(int n, Outcome outcome) {
    static const metadata none;
    std::map<std::string, int> out;
    for (int i = 0; i < n; ++i) {
      auto r = h.picker->pick({});
      REQUIRE(r.what == pick_result::kind::complete);
      std::string addr{(*r.conn)->address()};
      ++out[addr];
      REQUIRE(r.trackers[1] != nullptr);
      status st = outcome(addr);
      r.trackers[1]->on_call_end(call_outcome{st, none, h.now(), true});
    }
    return out;
  }
  /// Calls to `bad` fail with UNAVAILABLE, the rest succeed.
  std::map<std::string, int> calls_failing(int n, const std::vector<std::string>& bad) {
    return calls(n, [&](const std::string& a) {
      return std::find(bad.begin(), bad.end(), a) != bad.end()
                 ? status{status_code::unavailable, "boom"}
                 : status{};
    });
  }
};

}  // namespace achan::test::od
