#pragma once
/// Whether the calling thread runs the actors of a CAF actor system, so that code which
/// would block (the blocking dial) can refuse instead of stalling the scheduler: a
/// blocked worker cannot run the actors the wait depends on, and with every worker
/// blocked the system deadlocks.
#include <caf/fwd.hpp>

namespace achan {

/// True if the calling thread is one of `sys`'s scheduler workers (the work-stealing or
/// work-sharing coordinator: the thread an actor's handler runs on), or if `sys` uses
/// CAF's test coordinator, whose actors run only when the test drives them, so nothing
/// would run while the caller waits. False on every other thread (the program's own
/// threads, detached actors, the transport's threads). Thread-safe; call only while
/// `sys` is alive. Scheduler policies other than those three (a custom one) are
/// not recognised: false.
bool runs_actors_of(caf::actor_system& sys);

}  // namespace achan
