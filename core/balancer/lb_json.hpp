#pragma once
/// Reading a policy's config object (a loadBalancingConfig entry's value, or
/// dial_options::lb_policy_config) with the service config parser's JSON readers
/// (core/config/json_values.hpp), so messages name the field the way the service config's
/// do: "loadBalancingConfig[0].least_request.choiceCount: must be ...". Private to
/// achan_core.
#include <string>
#include <string_view>

#include <achan/result.hpp>
#include "core/config/json_values.hpp"

namespace achan {

/// Parses `json` (an object) and walks it with `walk(const sc_json::node&) -> T`, which
/// throws sc_json::invalid on a bad value. `path` prefixes every message. Errors are
/// INVALID_ARGUMENT.
template <class T, class Walk>
result<T> parse_policy_config(std::string_view json, const std::string& path, Walk walk) {
  try {
    auto root = sc_json::json::parse(json.begin(), json.end(), nullptr, true, false);
    sc_json::node n{&root, path};
    n.object();
    return walk(n);
  } catch (const sc_json::invalid& e) {
    return status{status_code::invalid_argument, e.message};
  } catch (const sc_json::json::exception& e) {
    return status{status_code::invalid_argument, path + ": not valid JSON: " + e.what()};
  }
}

/// A policy_validator (registry.hpp) from a parse function
/// `result<T> parse(std::string_view json, const std::string& path)`.
template <class Parse>
auto validator_of(Parse parse) {
  return [parse](std::string_view json, const std::string& path) -> std::string {
    auto r = parse(json, path);
    return r ? std::string{} : r.error().message;
  };
}

}  // namespace achan
