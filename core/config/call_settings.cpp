// Per-method settings of a service config (call_settings.hpp).
#include "core/config/call_settings.hpp"

#include <algorithm>
#include <string>

namespace achan {

bool apply_method_config(call& c, const method_config& mc) {
  if (mc.timeout) {
    auto start = c.start_time();
    // time_point::max() - timeout must not overflow: only tighten when it can.
    if (*mc.timeout < time_point::max() - start)
      c.tighten_deadline(start + *mc.timeout);
  }
  if (mc.wait_for_ready)
    c.set_default_wait_for_ready(*mc.wait_for_ready);
  if (mc.max_response_message_bytes)
    c.max_response_bytes = std::min(c.max_response_bytes, *mc.max_response_message_bytes);
  if (mc.max_request_message_bytes && !c.requests &&
      c.payload().size() > *mc.max_request_message_bytes) {
    c.fail(status_code::resource_exhausted,
           "request message of " + std::to_string(c.payload().size()) +
               " bytes exceeds the service config's maxRequestMessageBytes (" +
               std::to_string(*mc.max_request_message_bytes) + ") for " + c.method());
    return false;
  }
  return true;
}

}  // namespace achan
