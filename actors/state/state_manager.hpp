#pragma once
/// The connectivity-state manager: the single owner of a channel's state.
///
/// It receives every state the channel enters (set_state), answers state queries,
/// serves wait_for_state_change and notifies subscribers of every change, in order.
/// Nothing is reported after SHUTDOWN, which is final. It also mirrors the state into
/// an atomic so `channel::state()` can read it without a message round trip.
#include <atomic>
#include <memory>

#include <achan/protocol.hpp>

namespace achan {

/// Spawns a state manager starting in IDLE that mirrors its state into `*mirror`.
state_manager_actor spawn_state_manager(caf::actor_system& sys,
                                        std::shared_ptr<std::atomic<connectivity_state>> mirror);

}  // namespace achan
