#pragma once
/// outlier_detection's config (gRFC A50), read from its loadBalancingConfig object in
/// gRPC's JSON form:
///
///   {"interval": "10s", "baseEjectionTime": "30s", "maxEjectionTime": "300s",
///    "maxEjectionPercent": 10,
///    "successRateEjection": {"stdevFactor": 1900, "enforcementPercentage": 100,
///                            "minimumHosts": 5, "requestVolume": 100},
///    "failurePercentageEjection": {"threshold": 85, "enforcementPercentage": 100,
///                                  "minimumHosts": 5, "requestVolume": 50},
///    "childPolicy": [{"round_robin": {}}]}
///
/// Every field but childPolicy is optional and defaults to the value shown; each ejection
/// algorithm runs only when its object is present (as in gRPC). Private to achan_core.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>

#include <achan/policy.hpp>
#include <achan/result.hpp>

namespace achan {

/// A parsed outlier_detection config. Durations are google.protobuf.Duration strings in
/// JSON; the integers are UInt32Value fields.
struct outlier_detection_config {
  /// Ejects addresses whose success rate is below mean − stdev × stdevFactor / 1000 of
  /// the addresses with at least `request_volume` calls in the last interval.
  struct success_rate {
    std::uint32_t stdev_factor = 1900;
    std::uint32_t enforcement_percentage = 100;  ///< 0..100: chance an outlier is ejected
    std::uint32_t minimum_hosts = 5;             ///< fewer candidates: no ejection at all
    std::uint32_t request_volume = 100;          ///< calls per interval to be a candidate
  };
  /// Ejects addresses whose failure percentage is above `threshold`.
  struct failure_percentage {
    std::uint32_t threshold = 85;                ///< 0..100
    std::uint32_t enforcement_percentage = 100;  ///< 0..100
    std::uint32_t minimum_hosts = 5;
    std::uint32_t request_volume = 50;
  };

  clock_duration interval = std::chrono::seconds{10};  ///< between ejection sweeps (> 0)
  clock_duration base_ejection_time = std::chrono::seconds{30};
  /// Cap of one ejection's length; absent: max(300 s, base_ejection_time).
  clock_duration max_ejection_time = std::chrono::seconds{300};
  std::uint32_t max_ejection_percent = 10;  ///< 0..100; one address may always be ejected
  std::optional<success_rate> success_rate_ejection;
  std::optional<failure_percentage> failure_percentage_ejection;
  /// The child: the first known entry of childPolicy (`config` is its object as JSON).
  lb_config child{"round_robin", false, "{}"};

  /// Whether calls are counted at all (either algorithm is configured).
  bool counting_enabled() const noexcept {
    return success_rate_ejection.has_value() || failure_percentage_ejection.has_value();
  }
};

/// How childPolicy entries are recognised and checked. Unset members use
/// policy_registry::builtins() (its `find` and `config_error`).
struct child_policy_lookup {
  std::function<bool(std::string_view name)> known;
  std::function<std::string(std::string_view name, std::string_view json, const std::string& path)>
      config_error;
};

/// Parses an outlier_detection config object (JSON text). `path` is the object's JSON
/// path and prefixes every message, e.g. "loadBalancingConfig[0].outlier_detection
/// .maxEjectionPercent: must be an integer from 0 to 100, not 150". Errors are
/// INVALID_ARGUMENT: a percentage or threshold above 100, a negative or malformed
/// duration, a zero interval, childPolicy missing, not a list, or naming no known policy,
/// and whatever the chosen child's own validator reports (at its path,
/// "<path>.childPolicy[i].<name>").
result<outlier_detection_config> parse_outlier_detection_config(
    std::string_view json, const std::string& path, const child_policy_lookup& lookup = {});

/// The registry's validator for "outlier_detection": "" if `json` parses, else the message.
std::string outlier_detection_config_error(std::string_view json, const std::string& path);

}  // namespace achan
