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
/// Fast path: while the channel is READY the actor also publishes its picker in
/// channel_shared::ready_picker, and channel handles pick from it on the caller's thread
/// (submit_call): a call that picks a connection goes straight to it, without a hop
/// through this actor. Anything else — nothing READY, a queue or fail pick, a reroute —
/// takes the actor path above, so the actor stays the only owner of the queue and of
/// every picker change.
#include <atomic>
#include <memory>

#include <achan/backoff.hpp>
#include <achan/events.hpp>
#include <achan/protocol.hpp>
#include <achan/resolver.hpp>
#include <achan/target.hpp>
#include <achan/transport.hpp>
#include "core/balancer/picker_slot.hpp"
#include "core/balancer/registry.hpp"

namespace achan {

/// Counters shared between a channel's actor and its handles (atomics, no lock).
struct channel_shared {
  std::atomic<std::uint64_t> next_call_id{1};
  std::atomic<std::int64_t> active_calls{0};     ///< started and not yet finished
  std::atomic<bool> closed{false};               ///< close() was called
  std::shared_ptr<const std::string> authority;  ///< for every call (immutable after dial)
  /// The current picker while the channel is READY, else none. Published only by the
  /// channel actor; read by submit_call on any thread, without a lock.
  picker_slot ready_picker;
  /// When submit_call last placed a call itself (channel clock ticks since its epoch),
  /// so the idle timer sees calls that never reached the actor.
  std::atomic<time_point::rep> last_fast_call{0};
};

/// Starts `c` (made by make_call): picks from `shared.ready_picker` on the calling thread
/// and hands the call to the picked connection, or sends it to `actor` (start_call) when
/// there is no READY picker or the pick is not `complete`. Thread-safe.
void submit_call(channel_shared& shared, const channel_actor& actor, const call_ptr& c,
                 time_point now);

/// Creates a call counted in `shared->active_calls` (until it finishes) whose deadline
/// is `now + opts.timeout`. The call gets its own control block, so the weak_ptr a
/// pending deadline timer holds does not keep its memory alive. Thread-safe.
call_ptr make_call(const std::shared_ptr<channel_shared>& shared, time_point now,
                   std::string method, std::string payload, call_options opts,
                   bool default_wait_for_ready, call::completion done);

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
};

/// Spawns the channel actor (IDLE until the first call or channel_connect).
channel_actor spawn_channel_actor(caf::actor_system& sys, channel_config cfg);

}  // namespace achan
