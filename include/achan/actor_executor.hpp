#pragma once
/// A transport::executor backed by an actor, so a transport that needs a clock (the
/// simulated one) runs on the actor clock: virtual time under CAF's test coordinator.
#include <caf/fwd.hpp>

#include <achan/executor.hpp>

namespace achan {

/// Spawns the executor's actor in `sys`. Posted functions run one at a time on that
/// actor; the actor stops when the returned executor is destroyed.
transport::executor_ptr make_actor_executor(caf::actor_system& sys);

}  // namespace achan
