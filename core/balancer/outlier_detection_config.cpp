#include "core/balancer/outlier_detection_config.hpp"

#include <algorithm>
#include <limits>
#include <utility>

#include "core/balancer/lb_json.hpp"
#include "core/balancer/registry.hpp"
#include "core/config/lb_list.hpp"

namespace achan {
namespace {

using sc_json::node;

// A UInt32Value: an integer from 0 to `max`.
std::uint32_t uint32_field(const node& n, std::uint32_t max) {
  auto i = sc_json::as_integer(*n.v);
  if (!i || i->negative || i->magnitude > max)
    n.must_be("an integer from 0 to " + std::to_string(max));
  return static_cast<std::uint32_t>(i->magnitude);
}

constexpr auto any_uint32 = std::numeric_limits<std::uint32_t>::max();

void read(const node& obj, std::string_view key, std::uint32_t& out, std::uint32_t max) {
  if (auto n = obj.get(key))
    out = uint32_field(*n, max);
}

outlier_detection_config::success_rate success_rate_of(const node& n) {
  n.object();
  outlier_detection_config::success_rate s;
  read(n, "stdevFactor", s.stdev_factor, any_uint32);
  read(n, "enforcementPercentage", s.enforcement_percentage, 100);
  read(n, "minimumHosts", s.minimum_hosts, any_uint32);
  read(n, "requestVolume", s.request_volume, any_uint32);
  return s;
}

outlier_detection_config::failure_percentage failure_percentage_of(const node& n) {
  n.object();
  outlier_detection_config::failure_percentage f;
  read(n, "threshold", f.threshold, 100);
  read(n, "enforcementPercentage", f.enforcement_percentage, 100);
  read(n, "minimumHosts", f.minimum_hosts, any_uint32);
  read(n, "requestVolume", f.request_volume, any_uint32);
  return f;
}

// childPolicy: a loadBalancingConfig list. As there, the first known entry wins and the
// entries after it are not inspected; the winner's config is checked by its validator.
lb_config child_of(const node& list, const child_policy_lookup& lookup) {
  const auto& reg = policy_registry::builtins();
  sc_json::policy_known_fn known = lookup.known;
  if (!known)
    known = [&reg](std::string_view name) { return reg.find(name) != nullptr; };
  sc_json::policy_check_fn check = lookup.config_error;
  if (!check)
    check = [&reg](std::string_view name, std::string_view json, const std::string& path) {
      return reg.config_error(name, json, path);
    };
  return sc_json::lb_from_list(list, known, check);
}

}  // namespace

result<outlier_detection_config> parse_outlier_detection_config(std::string_view json,
                                                                const std::string& path,
                                                                const child_policy_lookup& lookup) {
  return parse_policy_config<outlier_detection_config>(json, path, [&](const node& n) {
    outlier_detection_config c;
    if (auto v = n.get("interval"))
      c.interval = sc_json::positive_duration(*v);
    if (auto v = n.get("baseEjectionTime"))
      c.base_ejection_time = sc_json::duration(*v);
    if (auto v = n.get("maxEjectionTime"))
      c.max_ejection_time = sc_json::duration(*v);
    else  // gRPC: absent means max(300 s, base)
      c.max_ejection_time = std::max(c.max_ejection_time, c.base_ejection_time);
    read(n, "maxEjectionPercent", c.max_ejection_percent, 100);
    if (auto v = n.get("successRateEjection"))
      c.success_rate_ejection = success_rate_of(*v);
    if (auto v = n.get("failurePercentageEjection"))
      c.failure_percentage_ejection = failure_percentage_of(*v);
    c.child = child_of(n.need("childPolicy"), lookup);
    return c;
  });
}

std::string outlier_detection_config_error(std::string_view json, const std::string& path) {
  auto r = parse_outlier_detection_config(json, path);
  return r ? std::string{} : r.error().message;
}

}  // namespace achan
