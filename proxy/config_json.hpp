#pragma once
/// The proxy's JSON forms (docs/proxy.md): the route file `achan proxy --routes` reads,
/// fault rules as the control API takes and shows them, and the counters.
#include <string>
#include <vector>

#include <nlohmann/json.hpp>

#include <achan/grpc_proxy.hpp>
#include <achan/result.hpp>

namespace achan::proxy::json {

/// A route file: {"routes": [{"name", "prefix", "target", "lb", "lb_config",
/// "service_config", "fault_headers", "faults": [...]}, ...]}. INVALID_ARGUMENT naming
/// the route and field for anything malformed or unknown.
result<std::vector<route_config>> routes_from_json(const std::string& text);
/// One fault rule: {"method", "delay_ms", "delay_jitter_ms", "delay_percent",
/// "abort_percent", "abort_code" (number or name), "abort_message"}.
result<fault_rule> fault_from_json(const nlohmann::json& j);
nlohmann::json to_json(const fault_rule& r);
nlohmann::json to_json(const route_config& r);
nlohmann::json to_json(const route_stats& s);

}  // namespace achan::proxy::json
