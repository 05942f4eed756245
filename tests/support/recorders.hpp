#pragma once
/// Actors that stand in for a neighbour and record what they receive, and tallies of
/// recorded call results.
#include <map>
#include <memory>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/typed_event_based_actor.hpp>

#include <achan/protocol.hpp>
#include "actors/balancer/balancer.hpp"

namespace achan::test {

/// How many of `results` ended OK, by the address that carried them.
inline std::map<std::string, int> ok_per_peer(const std::vector<call_result>& results) {
  std::map<std::string, int> m;
  for (auto& r : results)
    if (r.status.ok())
      ++m[r.peer];
  return m;
}

/// What a recording balancer saw.
struct balancer_log {
  std::vector<subchannel_update> updates;
  std::vector<resolver_update> resolutions;
  std::vector<connectivity_state> states() const {
    std::vector<connectivity_state> out;
    for (auto& u : updates)
      out.push_back(u.state);
    return out;
  }
};

/// A balancer_actor that only records subchannel and resolver updates.
inline balancer_actor spawn_recording_balancer(caf::actor_system& sys,
                                               std::shared_ptr<balancer_log> log) {
  // The log is passed as an argument: CAF 0.17 spawning a function actor without
  // arguments dereferences a null tuple (UBSan).
  auto fn = [](balancer_actor::pointer,
               std::shared_ptr<balancer_log> log) -> balancer_actor::behavior_type {
    return {
        [log](resolver_update& u) { log->resolutions.push_back(u); },
        [log](subchannel_update& u) { log->updates.push_back(u); },
        [](balancer_exit_idle) {},
        [](balancer_shutdown) {},
        [](balancer_set_resolver&) {},
    };
  };
  return sys.spawn(fn, std::move(log));
}

}  // namespace achan::test
