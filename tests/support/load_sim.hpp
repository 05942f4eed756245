#pragma once
/// A closed-loop load in virtual time for load-aware policy tests: keeps `in_flight`
/// calls outstanding on the helper's current picker; each call takes its backend's
/// latency (fixed per address) and ends with its status and trailers through the
/// trackers the pick returned, as the channel would run them. Deterministic.
#include <functional>
#include <map>
#include <queue>
#include <string>
#include <vector>

#include <achan/picker.hpp>
#include "tests/support/fake_policy_helper.hpp"

namespace achan::test {

struct load_sim {
  /// What one backend does with a call.
  struct backend {
    clock_duration latency = std::chrono::milliseconds{1};
    status_code code = status_code::ok;
    metadata trailers;  ///< e.g. an ORCA report
  };

  fake_policy_helper& h;
  std::map<std::string, backend> backends;  ///< by address; missing: the default
  std::map<std::string, int> picks;         ///< completed picks per address
  std::map<std::string, std::vector<clock_duration>> latencies;  ///< per address

  /// Runs `calls` calls with `in_flight` outstanding; returns picks per address.
  std::map<std::string, int> run(int calls, int in_flight) {
    struct out {
      time_point end;
      std::string address;
      call_tracker* trackers[2];
      time_point picked;
      bool operator>(const out& o) const { return end > o.end; }
    };
    std::priority_queue<out, std::vector<out>, std::greater<>> q;
    int started = 0;
    auto start_one = [&] {
      auto r = h.picker->pick({});
      REQUIRE(r.what == pick_result::kind::complete);
      auto addr = (*r.conn)->address();
      ++picks[addr];
      ++started;
      for (auto* t : r.trackers)
        if (t)
          t->retain();
      q.push({h.now() + backends[addr].latency, addr, {r.trackers[0], r.trackers[1]}, h.now()});
    };
    while (started < in_flight && started < calls)
      start_one();
    while (!q.empty()) {
      auto o = q.top();
      q.pop();
      if (o.end > h.now())
        h.advance(o.end - h.now());
      auto& b = backends[o.address];
      status st{b.code, b.code == status_code::ok ? "" : "injected"};
      for (auto* t : o.trackers)
        if (t) {
          t->on_call_end(call_outcome{st, b.trailers, o.picked, true});
          t->release();
        }
      latencies[o.address].push_back(h.now() - o.picked);
      if (started < calls)
        start_one();
    }
    return picks;
  }
};

/// Makes every subchannel of `h` READY through `p`.
template <class Policy>
void make_all_ready(fake_policy_helper& h, Policy& p, const std::vector<std::string>& addrs) {
  for (const auto& a : addrs)
    p.on_subchannel_update(h.ready(h.id_of(a)));
}

}  // namespace achan::test
