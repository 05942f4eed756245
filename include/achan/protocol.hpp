#pragma once
/// Every message the control-plane actors exchange, and their typed handles, in one
/// place: sending a message an actor does not understand does not compile.
///
///   resolver ──resolver_update──► balancer ──picker_update──► channel ──state_change──► state
///   manager
///      ▲                            │  ▲                          │
///      └──────── resolve_now ───────┘  └─ subchannel_update ── subchannels ◄─ connect / shutdown
#include <functional>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <achan/answer_once.hpp>
#include <achan/call.hpp>
#include <achan/connectivity.hpp>
#include <achan/picker.hpp>
#include <achan/policy.hpp>
#include <achan/status.hpp>

namespace achan {

// --- resolver ----------------------------------------------------------------

/// A resolver's complete answer. `error` not OK means resolution failed (the address
/// list is then ignored); `config` carries a service config's balancer choice.
struct resolver_update {
  std::vector<std::string> addresses;
  std::optional<lb_config> config;
  status error;
};

/// Asks a resolver to resolve again (it may rate-limit).
struct resolve_now {};
/// Tells a resolver its channel no longer listens; it stops sending updates.
struct resolver_stop {};

/// Where a resolver sends its updates (the balancer).
using resolver_sink = caf::typed_actor<caf::reacts_to<resolver_update>>;
/// What every resolver actor understands.
using resolver_actor = caf::typed_actor<caf::reacts_to<resolve_now>, caf::reacts_to<resolver_stop>>;

// --- subchannel --------------------------------------------------------------

/// Balancer → subchannel: leave IDLE and connect (ignored in other states).
struct subchannel_connect {};
/// Balancer → subchannel: close and stop; nothing is reported afterwards.
struct subchannel_shutdown {};
/// Transport → subchannel (through its connection_events): what happened to attempt `attempt`.
struct connection_event {
  enum class kind : std::uint8_t { ready, connect_failed, closed };
  std::uint64_t attempt = 0;
  kind what = kind::ready;
  status why;
};
/// Subchannel → itself: a timer armed for attempt `attempt` fired.
struct subchannel_timer {
  enum class kind : std::uint8_t { connect_timeout, backoff_done };
  std::uint64_t attempt = 0;
  kind what = kind::connect_timeout;
};

using subchannel_actor =
    caf::typed_actor<caf::reacts_to<subchannel_connect>, caf::reacts_to<subchannel_shutdown>,
                     caf::reacts_to<connection_event>, caf::reacts_to<subchannel_timer>>;

// --- balancer ----------------------------------------------------------------

/// Channel → balancer: a call is waiting or connect() was called; leave IDLE.
struct balancer_exit_idle {};
/// Channel → balancer: shut down the policies and every subchannel, then stop.
struct balancer_shutdown {};
/// Balancer → itself: deliver policy::flush() after the updates queued before this.
struct balancer_flush {};
/// Channel → balancer: the resolver to send resolve_now to.
struct balancer_set_resolver {
  resolver_actor resolver;
};

using balancer_actor =
    resolver_sink::extend<caf::reacts_to<subchannel_update>, caf::reacts_to<balancer_exit_idle>,
                          caf::reacts_to<balancer_shutdown>, caf::reacts_to<balancer_set_resolver>,
                          caf::reacts_to<balancer_flush>>;

// --- channel -----------------------------------------------------------------

/// Balancer → channel: the aggregate state and the picker to use from now on.
struct picker_update {
  connectivity_state state = connectivity_state::idle;
  picker_ptr picker;
};

/// Per-call options. Unset fields take the channel's defaults.
struct call_options {
  std::optional<clock_duration> timeout;  ///< relative deadline; none = no deadline
  std::optional<bool> wait_for_ready;     ///< queue through TRANSIENT_FAILURE
  metadata md;                            ///< request metadata
};

/// Actor users' request: `request(channel.actor(), infinite, call_request{...})`
/// answers with a call_result (never with an error message).
struct call_request {
  std::string method;   ///< "/package.Service/Method"
  std::string payload;  ///< serialized request message
  call_options options;
};

/// User → channel: start this call (the call already carries its completion). The
/// handler takes `c`; if no copy of the message is handled (the channel actor has stopped
/// after close()), the last copy to go ends the call with CANCELLED, so no call is ever
/// lost and none is ended while the channel serves it.
struct start_call {
  answer_once<call_ptr> c;
  start_call() = default;
  explicit start_call(call_ptr x)
      : c(std::move(x), [](call_ptr& dropped) {
          if (dropped)
            dropped->fail(status_code::cancelled, "channel closed");
        }) {}
};
/// Transport → channel: `c` never reached its connection's peer; pick again. Handled
/// like start_call; dropped unhandled, it ends the call with UNAVAILABLE.
struct reroute_call {
  answer_once<call_ptr> c;
  reroute_call() = default;
  explicit reroute_call(call_ptr x)
      : c(std::move(x), [](call_ptr& dropped) {
          if (dropped)
            dropped->fail(status_code::unavailable, "channel closed while re-picking the call");
        }) {}
};
/// Actor users' streaming call of any kind (server-, client- or bidi-streaming):
/// `request(channel.actor(), infinite, stream_request{...})` answers with the final
/// call_result (empty payload) once the call ended; every response message goes to `sink`
/// before that as a stream_message carrying `id`. If `sink` is the requester, all of them
/// arrive before the response. `requests` are written at once, in order; then the
/// request stream is half-closed, unless `half_close` is false: the requester then sends
/// stream_write / stream_close / stream_cancel with the same `id` (ids are per requester;
/// reusing one of a stream still open fails the new call with INVALID_ARGUMENT).
struct stream_request {
  std::uint64_t id = 0;
  std::string method;                 ///< "/package.Service/Method"
  std::vector<std::string> requests;  ///< serialized request messages
  bool half_close = true;
  call_options options;
  caf::actor sink;  ///< receives the stream_messages (null: they are dropped)
};
/// Channel → a stream_request's sink: one response message, in order.
struct stream_message {
  std::uint64_t id = 0;
  std::string payload;
};
/// Requester → channel: one more request message on its open stream `id` (ignored once
/// the stream was closed or ended). With `notify`, the requester gets exactly one
/// stream_sent for it — the actor form of stream_call::write's `sent`, for pacing.
struct stream_write {
  std::uint64_t id = 0;
  std::string payload;
  bool notify = false;
};
/// Channel → the sender of a stream_write with `notify`: the message went into HTTP/2
/// DATA frames (`ok`), or never will (the stream was closed, ended or unknown).
struct stream_sent {
  std::uint64_t id = 0;
  bool ok = false;
};
/// Requester → channel: half-close stream `id` (no more request messages).
struct stream_close {
  std::uint64_t id = 0;
};
/// Requester → channel: cancel stream `id` (it ends with CANCELLED).
struct stream_cancel {
  std::uint64_t id = 0;
};
/// User → channel: `c` was cancelled by its owner; release its stream.
struct cancel_call {
  call_ptr c;
};
/// Channel → itself: the deadline of a call may have passed.
struct call_deadline {
  std::weak_ptr<call> c;
};
/// Call completion → channel: deliver the response promise `id` (actor users).
struct deliver_result {
  std::uint64_t id = 0;
  call_result result;
};
/// User → channel: leave IDLE now.
struct channel_connect {};
/// User → channel: shut down; pending calls end with CANCELLED, in-flight ones with
/// UNAVAILABLE when their connections close.
struct channel_close {};
/// Channel → itself: idle timer with generation `gen`.
struct idle_check {
  std::uint64_t gen = 0;
};

using channel_actor = caf::typed_actor<
    caf::replies_to<call_request>::with<call_result>,
    caf::replies_to<stream_request>::with<call_result>, caf::reacts_to<stream_write>,
    caf::reacts_to<stream_close>, caf::reacts_to<stream_cancel>, caf::reacts_to<start_call>,
    caf::reacts_to<reroute_call>, caf::reacts_to<cancel_call>, caf::reacts_to<call_deadline>,
    caf::reacts_to<deliver_result>, caf::reacts_to<picker_update>, caf::reacts_to<channel_connect>,
    caf::reacts_to<channel_close>, caf::reacts_to<idle_check>>;

// --- connectivity-state manager -----------------------------------------------

/// A change of the channel's state, as watchers see it.
struct state_change {
  connectivity_state from = connectivity_state::idle;
  connectivity_state to = connectivity_state::idle;
};
/// Channel → state manager: the channel is now in `state`.
struct set_state {
  connectivity_state state = connectivity_state::idle;
};
/// Asks for the current state.
struct get_state {};
/// User → state manager: call `done(true)` once the state differs from `from`, or
/// `done(false)` at `deadline` (on the actor clock). Runs on the state manager actor.
/// The handler takes `done`; if no copy of the message is handled because the manager
/// stopped at SHUTDOWN, the last copy to go answers `done(from != SHUTDOWN)` (the state
/// is SHUTDOWN then), on the thread that drops it.
struct wait_for_change {
  connectivity_state from = connectivity_state::idle;
  time_point deadline = time_point::max();
  answer_once<std::function<void(bool)>> done;
  wait_for_change() = default;
  wait_for_change(connectivity_state f, time_point d, std::function<void(bool)> fn)
      : from(f),
        deadline(d),
        done(std::move(fn), [changed = f != connectivity_state::shutdown](auto& dropped) {
          if (dropped)
            dropped(changed);
        }) {}
};
/// State manager → itself: waiter `id` timed out.
struct waiter_timeout {
  std::uint64_t id = 0;
};
/// User → state manager: call `fn` for every change from now on, in order, on the
/// state manager actor. The first call reports the current state (from == to). The
/// handler takes `fn`; if no copy of the message is handled (the manager already
/// stopped), the last copy to go reports SHUTDOWN once.
struct subscribe {
  answer_once<std::function<void(const state_change&)>> fn;
  subscribe() = default;
  explicit subscribe(std::function<void(const state_change&)> f)
      : fn(std::move(f), [](auto& dropped) {
          if (dropped)
            dropped(state_change{connectivity_state::shutdown, connectivity_state::shutdown});
        }) {}
};

using state_manager_actor = caf::typed_actor<
    caf::reacts_to<set_state>, caf::replies_to<get_state>::with<connectivity_state>,
    caf::reacts_to<wait_for_change>, caf::reacts_to<waiter_timeout>, caf::reacts_to<subscribe>>;

}  // namespace achan

// These messages carry pointers and callbacks: they never leave the process.
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::resolver_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::resolve_now)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::resolver_stop)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_connect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_shutdown)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::connection_event)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_timer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_exit_idle)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_shutdown)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_flush)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_set_resolver)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::picker_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::call_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::call_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_request)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_write)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_sent)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_close)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::stream_cancel)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::start_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::reroute_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::cancel_call)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::call_deadline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::deliver_result)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::channel_connect)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::channel_close)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::idle_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::set_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::get_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::connectivity_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::wait_for_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::waiter_timeout)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subscribe)
