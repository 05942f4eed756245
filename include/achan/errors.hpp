#pragma once
/// achan's own error codes (dial-time and API errors; calls use gRPC status codes).
/// They travel as caf::error in the "achan" category; `to_string` renders them with
/// their message without needing the category registered in the actor system.
#include <cstdint>
#include <string>

#include <caf/error.hpp>
#include <caf/fwd.hpp>

namespace achan {

/// Errors `dial` and the channel API report.
enum class errc : std::uint8_t {
  invalid_target = 1,  ///< the target string does not parse or its scheme rejects it
  unknown_policy,      ///< no load-balancing policy of that name is registered
  invalid_option,      ///< a dial option is out of range (backoff, timeouts, ...)
  dial_timeout,        ///< a blocking dial did not reach READY before its deadline
  channel_closed,      ///< the channel was closed while waiting
  /// A blocking call was made on a thread that runs the actor system's actors (inside an
  /// actor's handler, or under CAF's test coordinator): waiting there would stall the
  /// actors the wait depends on, so it fails at once instead.
  would_deadlock,
};

/// "invalid_target", "unknown_policy", ...
const char* to_string(errc e) noexcept;

/// A caf::error for `e` carrying `message` as its context.
caf::error make_error(errc e, std::string message);

/// "invalid_target: <message>" for achan errors; CAF's rendering for others.
std::string to_string_with_message(const caf::error& err);

/// Registers the "achan" error category so that `sys.render(err)` prints names.
/// Optional: call on your actor_system_config before creating the system.
void add_error_category(caf::actor_system_config& cfg);

}  // namespace achan
