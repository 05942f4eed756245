#include <achan/connectivity.hpp>

namespace achan {

std::string_view to_string(connectivity_state s) noexcept {
  switch (s) {
    case connectivity_state::idle:
      return "IDLE";
    case connectivity_state::connecting:
      return "CONNECTING";
    case connectivity_state::ready:
      return "READY";
    case connectivity_state::transient_failure:
      return "TRANSIENT_FAILURE";
    case connectivity_state::shutdown:
      return "SHUTDOWN";
  }
  return "UNKNOWN";
}

void state_counter::record(connectivity_state from, connectivity_state to) noexcept {
  if (from != connectivity_state::shutdown && counts_[static_cast<std::size_t>(from)] > 0)
    --counts_[static_cast<std::size_t>(from)];
  if (to != connectivity_state::shutdown)
    ++counts_[static_cast<std::size_t>(to)];
}

connectivity_state state_counter::aggregate() const noexcept {
  for (auto s :
       {connectivity_state::ready, connectivity_state::connecting, connectivity_state::idle})
    if (count(s) > 0)
      return s;
  return connectivity_state::transient_failure;
}

}  // namespace achan
