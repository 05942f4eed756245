#pragma once
/// Settings for the CAF actor system a channel runs on.
#include <caf/fwd.hpp>

namespace achan {

/// Prepares `cfg` for achan: registers achan's error category and sizes CAF's
/// scheduler for the machine. CAF 0.17 starts at least 4 workers and lets idle ones
/// poll for work for a while before sleeping; on a small machine (2 cores measured)
/// those wake-ups cost about as much CPU as the calls themselves at low load. This
/// sets `scheduler.max-threads` to `threads` (0: the hardware concurrency) and skips
/// the moderate polling phase. Call before constructing the actor_system; settings
/// parsed from the command line afterwards still win.
void configure_actor_system(caf::actor_system_config& cfg, unsigned threads = 0);

}  // namespace achan
