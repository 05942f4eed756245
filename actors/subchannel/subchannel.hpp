#pragma once
/// A subchannel: one actor per address, owning that address's connection.
///
///                 subchannel_connect              on_ready (*)
///        IDLE ─────────────────────► CONNECTING ─────────────► READY ──────────┐
///         ▲                           │  on_connect_failed /     │ on_closed    │ on_closed
///         │ backoff_done              │  connect_timeout         │ within       │ after
///         └──── TRANSIENT_FAILURE ◄───┴──────────────────────────┘ `initial`    │ `initial`
///                                                                              ▼
///                                                                            IDLE
///        any state ── subchannel_shutdown ──► (stops; nothing more is reported)
///        (*) without a health service; with one, see "Client-side health checking" below
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
/// Client-side health checking (gRFC A17), when a health service is set
/// (subchannel_config::health_check_service, changed by subchannel_health_check): a READY
/// connection is not enough. On on_ready the subchannel stays CONNECTING and opens
/// grpc.health.v1.Health/Watch{service} on the connection (health_watch.hpp); while that
/// connection is up the Watch drives the reported state:
///
///                 on_ready                   SERVING
///   CONNECTING ─────────────► CONNECTING ──────────────────► READY
///                             (connected,                    │  ▲
///                              awaiting the     not SERVING  │  │ SERVING
///                              first response) ───────┐      ▼  │
///                                                     └───► TRANSIENT_FAILURE
///                                                           (connection kept, no backoff)
///
///   Watch ends UNIMPLEMENTED ──► READY, last_error saying health checking is off (the
///                                server has no health service); no more Watches on it
///   Watch ends otherwise ───────► TRANSIENT_FAILURE, a new Watch after the health backoff
///                                (subchannel's params, reset by each response); one that
///                                ends UNAVAILABLE (as calls of a lost connection do) is
///                                reported only if the connection is still up by then
///   health check turned off ────► READY at once; turned on or renamed ──► CONNECTING, new Watch
///   on_closed in any of these ──► as from READY above (the Watch is cancelled first;
///                                `initial` counts from on_ready, not from SERVING)
///
/// No connect timeout applies while awaiting the first response. Watch events and the
/// health retry timer carry the attempt and a Watch generation; stale ones are ignored.
///
/// Each state change is reported to the balancer as a subchannel_update; READY
/// carries the connection, which pickers use directly (calls never pass through this
/// actor).
#include <optional>
#include <string>

#include <achan/backoff.hpp>
#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/typed_actor.hpp>

#include <achan/policy.hpp>
#include <achan/status.hpp>
#include <achan/transport.hpp>
#include "actors/subchannel/update_sink.hpp"

namespace achan {

/// Balancer → subchannel: leave IDLE and connect (ignored in other states).
struct subchannel_connect {};
/// Balancer → subchannel: close and stop; nothing is reported afterwards. With `drain`
/// (an address update removed it) the connection closes gracefully: the calls it
/// carries finish (connection::drain); without (the channel closes) they end UNAVAILABLE.
struct subchannel_shutdown {
  bool drain = false;
};
/// Transport → subchannel (through its connection_events): what happened to attempt `attempt`.
struct connection_event {
  enum class kind : std::uint8_t { ready, connect_failed, closed };
  std::uint64_t attempt = 0;
  kind what = kind::ready;
  status why;
};
/// Balancer → subchannel: client-side health checking (gRFC A17) from now on: watch
/// `service` ("" = the whole server) with grpc.health.v1.Health/Watch on each READY
/// connection, or (none) stop. The same value again changes nothing. While connected, a
/// new service restarts the Watch (CONNECTING until its first response) and none reports
/// READY at once; otherwise the next connection uses it.
struct subchannel_health_check {
  std::optional<std::string> service;
};
using subchannel_actor =
    caf::typed_actor<caf::reacts_to<subchannel_connect>, caf::reacts_to<subchannel_shutdown>,
                     caf::reacts_to<connection_event>, caf::reacts_to<subchannel_health_check>>;

/// What a subchannel needs to start.
struct subchannel_config {
  subchannel_id id = 0;
  std::string address;
  transport::transport_ptr transport;
  backoff_params backoff;
  std::uint64_t seed = 0;           ///< backoff jitter seed
  subchannel_update_sink balancer;  ///< receives every state change
  /// Client-side health checking from the start (see subchannel_health_check).
  std::optional<std::string> health_check_service;
};

/// Spawns a subchannel in IDLE. It connects only when told to (subchannel_connect).
subchannel_actor spawn_subchannel(caf::actor_system& sys, subchannel_config cfg);

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_connect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_shutdown)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::connection_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_health_check)
