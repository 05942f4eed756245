#pragma once
/// What a channel observer (dial_options::observer) is told: the resolver's answers and
/// every subchannel's state changes, with the address and the reason. Tools such as
/// `achan watch` print them; the channel's own state is followed with channel::subscribe.
#include <functional>
#include <string>
#include <vector>

#include <achan/call.hpp>
#include <achan/connectivity.hpp>

namespace achan {

/// One control-plane event of a channel.
struct channel_event {
  enum class kind : std::uint8_t {
    /// The resolver sent a complete address list (`addresses`; `reason`: its notes, such
    /// as registry entries it skipped, joined with "; ", or "").
    resolver_update,
    /// The resolver failed (`reason`); the balancer keeps its last good list.
    resolver_error,
    /// Subchannel `subchannel` for `address` went `from` → `to` (`reason`: the error that
    /// made it leave READY or fail to connect, if any).
    subchannel_state,
    /// The service config for new calls changed (`reason`: its JSON text, "" for none).
    service_config,
  };
  kind what = kind::resolver_update;
  time_point at{};  ///< the channel clock when the balancer saw it
  std::uint64_t subchannel = 0;
  std::string address;
  connectivity_state from = connectivity_state::idle;
  connectivity_state to = connectivity_state::idle;
  std::string reason;
  std::vector<std::string> addresses;
};

/// Called on the balancer actor for every event, in order. It must not block and must
/// not throw; copy what it needs.
using channel_observer = std::function<void(const channel_event&)>;

}  // namespace achan
