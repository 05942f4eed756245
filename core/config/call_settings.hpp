#pragma once
/// Applies a service config's methodConfig to one call (gRPC's per-method settings).
#include <achan/call.hpp>
#include <achan/service_config.hpp>

namespace achan {

/// Applies `mc` to `c` before the call reaches a transport: the deadline becomes
/// min(the call's, start + timeout); wait_for_ready follows the config unless the caller
/// chose it; max_response_bytes = min(the connection's, maxResponseMessageBytes); a
/// request over maxRequestMessageBytes ends the call with RESOURCE_EXHAUSTED. Returns
/// false if it ended the call. Any thread that owns `c` (it is on no transport yet).
bool apply_method_config(call& c, const method_config& mc);

}  // namespace achan
