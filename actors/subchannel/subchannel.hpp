#pragma once
/// A subchannel: one actor per address, owning that address's connection.
///
///                 subchannel_connect              on_ready
///        IDLE ─────────────────────► CONNECTING ─────────────► READY ──────────┐
///         ▲                           │  on_connect_failed /     │ on_closed    │ on_closed
///         │ backoff_done              │  connect_timeout         │ within       │ after
///         └──── TRANSIENT_FAILURE ◄───┴──────────────────────────┘ `initial`    │ `initial`
///                                                                              ▼
///                                                                            IDLE
///        any state ── subchannel_shutdown ──► (stops; nothing more is reported)
///
/// Backoff follows gRPC's connection-backoff spec: an attempt starts with delay
/// d = backoff.next_delay(); its connect timeout is max(d, min_connect_timeout); after a
/// failure the subchannel stays in TRANSIENT_FAILURE until d has passed since the
/// attempt began, then returns to IDLE (the policy decides whether to reconnect).
///
/// A connection counts as established once it has been READY for the initial backoff
/// delay (backoff_params::initial, 1 s): losing it then resets the backoff and reports
/// IDLE, and the policy may reconnect at once (round_robin does), as in gRPC. A
/// connection lost sooner (a server that sends its SETTINGS and hangs up, a backend
/// that dies under its first calls) counts as a failed attempt: TRANSIENT_FAILURE
/// until d has passed, the backoff not reset. (gRPC C++ and grpc-go count any
/// connection that completed the HTTP/2 handshake as a success and reset the backoff,
/// so such a server makes them reconnect in a loop; here the attempts against it follow
/// the backoff schedule.)
///
/// Every timer and transport event carries the attempt number it belongs to; stale
/// ones are ignored.
///
/// Each state change is reported to the balancer as a subchannel_update; READY
/// carries the connection, which pickers use directly (calls never pass through this
/// actor).
#include <string>

#include <achan/backoff.hpp>
#include <achan/protocol.hpp>
#include <achan/transport.hpp>

namespace achan {

/// What a subchannel needs to start.
struct subchannel_config {
  subchannel_id id = 0;
  std::string address;
  transport::transport_ptr transport;
  backoff_params backoff;
  std::uint64_t seed = 0;   ///< backoff jitter seed
  balancer_actor balancer;  ///< receives every state change
};

/// Spawns a subchannel in IDLE. It connects only when told to (subchannel_connect).
subchannel_actor spawn_subchannel(caf::actor_system& sys, subchannel_config cfg);

}  // namespace achan
