#include <achan/system_config.hpp>

#include <algorithm>
#include <thread>

#include <caf/actor_system_config.hpp>

#include <achan/errors.hpp>

namespace achan {

void configure_actor_system(caf::actor_system_config& cfg, unsigned threads) {
  add_error_category(cfg);
  if (threads == 0)
    threads = std::max(1u, std::thread::hardware_concurrency());
  cfg.set("scheduler.max-threads", static_cast<std::size_t>(threads));
  cfg.set("work-stealing.moderate-poll-attempts", static_cast<std::size_t>(0));
}

}  // namespace achan
