#pragma once
/// The balancer actor: hosts a load-balancing policy (a plain C++ object), creates and
/// shuts down subchannel actors on its behalf, routes their state changes to it, and
/// forwards the pickers it publishes to the channel.
///
/// Policy switch (a resolver update naming another policy) is graceful, as gRPC's
/// graceful-switch balancer: the new policy starts as *pending* with its own
/// subchannels while the current one keeps serving picks; the pending one replaces it
/// as soon as it reports anything but CONNECTING (READY, or it gave up with
/// TRANSIENT_FAILURE), or at once if the current one is not READY.
///
/// A service config naming an unknown policy is rejected: before the first good
/// update it puts the channel in TRANSIENT_FAILURE with a message saying so; after
/// that the previous policy stays and the addresses still apply.
///
/// Service config (gRFC A21): the balancer parses what the resolver sends and tells the
/// channel (config_update) which config applies, before the picker of that update: the
/// resolver's if valid; if invalid, the previous one; with none before, the default;
/// with no default either, TRANSIENT_FAILURE naming the error. Its healthCheckConfig
/// goes to every subchannel of a policy other than pick_first (gRFC A17).
///
/// A retired policy (replaced, or at balancer_shutdown) must have shut down its
/// subchannels; any it forgot (a user policy's bug) are shut down with it, so their
/// later updates reach no policy.
#include <cstdint>

#include <achan/backoff.hpp>
#include <achan/events.hpp>
#include <achan/resolver.hpp>
#include <achan/service_config.hpp>
#include <achan/transport.hpp>
#include "actors/channel_protocol.hpp"
#include "actors/subchannel/update_sink.hpp"
#include "core/balancer/registry.hpp"

namespace achan {

/// Channel → balancer: a call is waiting or connect() was called; leave IDLE.
struct balancer_exit_idle {};
/// Channel → balancer: shut down the policies and every subchannel, then stop.
struct balancer_shutdown {};
/// Channel → balancer: the resolver to send resolve_now to.
struct balancer_set_resolver {
  resolver_actor resolver;
};

using balancer_actor =
    resolver_sink::extend<caf::reacts_to<subchannel_update>, caf::reacts_to<balancer_exit_idle>,
                          caf::reacts_to<balancer_shutdown>, caf::reacts_to<balancer_set_resolver>>;

/// What a balancer needs to start.
struct balancer_config {
  lb_config initial;         ///< policy used until a resolver update names another
  policy_registry policies;  ///< names a resolver update may choose from
  transport::transport_ptr transport;
  backoff_params backoff;  ///< for every subchannel
  std::uint64_t seed = 0;  ///< shuffles, start offsets, backoff jitter
  picker_sink channel;     ///< receives every picker the current policy publishes
  /// Each resolved address becomes this many subchannels (policies see it repeated under
  /// distinct keys; the subchannels connect to the plain address).
  unsigned connections_per_address = 1;
  channel_observer observer;  ///< optional; told about resolver and subchannel events
  /// Service config (gRFC A21): the default (null: none), whether the resolver's configs
  /// count, and the maxAttempts cap the parser clamps to.
  service_config_ptr default_config;
  bool resolver_service_config = true;
  int max_attempts_cap = 5;
};

/// Spawns a balancer running `cfg.initial`. `cfg.initial.name` must be registered.
balancer_actor spawn_balancer(caf::actor_system& sys, balancer_config cfg);

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_exit_idle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_shutdown)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_set_resolver)
