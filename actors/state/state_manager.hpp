#pragma once
/// The connectivity-state manager: the single owner of a channel's state.
///
/// It receives every state the channel enters (set_state), answers state queries,
/// serves wait_for_state_change and notifies subscribers of every change, in order.
/// Nothing is reported after SHUTDOWN, which is final. It also mirrors the state into
/// an atomic so `channel::state()` can read it without a message round trip.
#include <atomic>
#include <memory>

#include <functional>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <achan/answer_once.hpp>
#include <achan/call.hpp>
#include <achan/connectivity.hpp>

namespace achan {

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

using state_manager_actor =
    caf::typed_actor<caf::reacts_to<set_state>,
                     caf::replies_to<get_state>::with<connectivity_state>,
                     caf::reacts_to<wait_for_change>, caf::reacts_to<subscribe>>;

/// Spawns a state manager starting in IDLE that mirrors its state into `*mirror`.
state_manager_actor spawn_state_manager(caf::actor_system& sys,
                                        std::shared_ptr<std::atomic<connectivity_state>> mirror);

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::set_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::get_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::connectivity_state)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::wait_for_change)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subscribe)
