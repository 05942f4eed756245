#pragma once
// toxiproxy's JSON shapes for proxies and toxics (nlohmann::json): what the HTTP API
// sends and accepts and what `achan fault-proxy --config FILE` reads. Every parse error is
// INVALID_ARGUMENT with a message naming the field.
#include <nlohmann/json.hpp>

#include <string_view>
#include <vector>

#include <achan/fault_proxy.hpp>

namespace achan::fault::json {

/// {"name","type","stream","toxicity","attributes":{...}} plus "scope" when not "all".
nlohmann::json to_json(const toxic& t);
/// {"name","listen","upstream","enabled","toxics":[...]}.
nlohmann::json to_json(const proxy_info& p);
/// {"accepted","open","upstream_failures","rejected","bytes_upstream","bytes_downstream"}.
nlohmann::json to_json(const proxy_stats& s);

/// A toxic from a request body: type required; name, stream ("upstream"/"downstream",
/// any case; default downstream), toxicity (default 1), scope ("all"/"new"/"established"),
/// attributes (integers; numbers with a fraction are refused) optional. Not validated
/// against the type's attributes: that is fault::validate()'s job.
result<toxic> toxic_from_json(const nlohmann::json& j);
/// A toxic update: toxicity and attributes, each optional.
result<toxic_update> toxic_update_from_json(const nlohmann::json& j);
/// A proxy from a request body or config entry: name and upstream required, listen
/// optional (default "127.0.0.1:0"), enabled optional (default true).
result<proxy_config> proxy_from_json(const nlohmann::json& j);
/// A proxy update: listen, upstream, enabled, each optional.
result<proxy_update> proxy_update_from_json(const nlohmann::json& j);
/// A JSON array of proxies (toxiproxy's populate body and config file format).
result<std::vector<proxy_config>> proxy_list_from_json(std::string_view text);

}  // namespace achan::fault::json
