#pragma once
/// The channel actor: owns the current picker and the queue of calls that could not
/// be picked yet, and starts the resolver and balancer when the channel leaves IDLE.
///
/// Per call: pick from the latest picker; complete → start on that subchannel's
/// connection; queue → wait; fail → UNAVAILABLE unless wait_for_ready (then wait).
/// Every new picker re-picks the waiting calls in arrival order. Deadlines run on the
/// actor clock. close() ends waiting calls with CANCELLED and shuts the balancer
/// down, whose connections end in-flight calls with UNAVAILABLE; the actor then stops
/// as soon as it owes no response, so a closed channel never holds up the shutdown
/// of its actor system (messages dropped after that end their calls themselves).
///
/// A connection that could not send a call at all hands it back (call::reroute) and
/// it is picked again, up to 3 times: calls racing a connection loss are not failed.
///
/// Fast path (actors/fast_path.hpp): while the channel is READY the actor also
/// publishes its picker for the channel's handles to pick from on the caller's thread.
#include <atomic>
#include <memory>

#include <achan/backoff.hpp>
#include <achan/events.hpp>
#include <achan/resolver.hpp>
#include <achan/service_config.hpp>
#include <achan/target.hpp>
#include <achan/transport.hpp>
#include "actors/channel_protocol.hpp"
#include "actors/fast_path.hpp"
#include "actors/state/state_manager.hpp"
#include "core/balancer/registry.hpp"

namespace achan {

/// Everything the channel actor needs; built and validated by dial().
struct channel_config {
  target tgt;
  resolver_builder_ptr resolver;  ///< builder for tgt.scheme
  lb_config initial;
  policy_registry policies;
  transport::transport_ptr transport;
  backoff_params backoff;
  std::uint64_t seed = 0;
  clock_duration idle_timeout{};
  bool default_wait_for_ready = false;
  state_manager_actor states;
  std::shared_ptr<channel_shared> shared;
  unsigned connections_per_address = 1;
  channel_observer observer;
  /// dial_options::service_config, parsed (null: none).
  service_config_ptr default_config;
  /// Use service configs from the resolver (dial_options::disable_resolver_service_config off).
  bool resolver_service_config = true;
  int max_retry_attempts = 5;
};

/// Spawns the channel actor (IDLE until the first call or channel_connect).
channel_control spawn_channel_actor(caf::actor_system& sys, channel_config cfg);

}  // namespace achan
