#pragma once
/// gRPC's service config (doc/service_config.md, gRFC A2, A6, A17, A21): per-method
/// settings, retry and hedging policies, retry throttling, client-side health checking
/// and the balancer choice, parsed from gRPC's JSON schema and validated.
///
///   auto sc = achan::parse_service_config(R"({"methodConfig": [{
///       "name": [{"service": "echo.Echo"}],
///       "timeout": "0.5s",
///       "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.1s", "maxBackoff": "1s",
///                       "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})");
///
/// A channel takes a default config in dial_options::service_config and may receive
/// others from its resolver (docs/service-config.md).
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <achan/call.hpp>
#include <achan/policy.hpp>
#include <achan/result.hpp>
#include <achan/status.hpp>

namespace achan {

/// gRFC A6 retryPolicy: retry a failed attempt whose status is retryable, after
/// `min(initial·multiplier^(n-1), max) · U(0.8, 1.2)`.
struct retry_policy {
  int max_attempts = 0;              ///< 2.., clamped to the channel's cap (default 5)
  clock_duration initial_backoff{};  ///< > 0
  clock_duration max_backoff{};      ///< > 0
  double backoff_multiplier = 0;     ///< > 0
  std::vector<status_code> retryable_status_codes;  ///< not empty
  /// Whether `c` is in retryable_status_codes.
  bool retryable(status_code c) const noexcept;
};

/// gRFC A6 hedgingPolicy: send up to max_attempts copies, one every hedging_delay,
/// until one succeeds or fails with a code not in non_fatal_status_codes.
struct hedging_policy {
  int max_attempts = 0;            ///< 2.., clamped to the channel's cap (default 5)
  clock_duration hedging_delay{};  ///< >= 0 (0: all attempts at once)
  std::vector<status_code> non_fatal_status_codes;  ///< may be empty
  /// Whether `c` is in non_fatal_status_codes.
  bool non_fatal(status_code c) const noexcept;
};

/// One methodConfig entry's settings. Unset fields leave the call's own or the
/// channel's values alone.
struct method_config {
  std::optional<bool> wait_for_ready;     ///< a call's own wait_for_ready wins
  std::optional<clock_duration> timeout;  ///< effective: min(this, the call's timeout)
  std::optional<std::size_t> max_request_message_bytes;   ///< effective: min(this, API)
  std::optional<std::size_t> max_response_message_bytes;  ///< effective: min(this, API)
  std::optional<retry_policy> retry;                      ///< at most one of retry and hedging
  std::optional<hedging_policy> hedging;
};

/// retryThrottling: tokens start at max_tokens; a counted failure costs 1, a success
/// adds token_ratio; retries and hedges stop while tokens <= max_tokens / 2.
struct retry_throttling {
  double max_tokens = 0;   ///< (0, 1000]
  double token_ratio = 0;  ///< > 0, three decimal places used
};

/// Hashes std::string and std::string_view alike, so lookups by a view allocate nothing.
struct string_hash {
  using is_transparent = void;
  std::size_t operator()(std::string_view s) const noexcept {
    return std::hash<std::string_view>{}(s);
  }
};
/// A map keyed by strings that string_views can look up.
template <class V>
using string_map = std::unordered_map<std::string, V, string_hash, std::equal_to<>>;

/// A parsed, validated service config. Immutable once built; shared by the channel and
/// every call that uses it.
struct service_config {
  /// loadBalancingConfig (first supported entry) or loadBalancingPolicy; none: the
  /// channel's own choice (dial_options::lb_policy).
  std::optional<lb_config> lb;
  /// The methodConfig entries that name at least one method, in order.
  std::vector<method_config> methods;
  /// "service/method" → index in methods; "service" → index; {} → default_method.
  string_map<std::size_t> by_method;
  string_map<std::size_t> by_service;
  std::optional<std::size_t> default_method;
  std::optional<achan::retry_throttling> throttling;
  /// healthCheckConfig.serviceName (may be ""; none: no client-side health checking).
  std::optional<std::string> health_check_service;
  /// The JSON text this was parsed from.
  std::string json;

  /// The settings for a call to `path` ("/pkg.Service/Method"; the leading slash is
  /// optional): exact method, then its service, then the default entry; null if none.
  const method_config* find(std::string_view path) const noexcept;
};

using service_config_ptr = std::shared_ptr<const service_config>;

/// How parse_service_config validates.
struct service_config_parse_options {
  /// maxAttempts above this are clamped to it (gRPC's default cap is 5).
  int max_attempts_cap = 5;
  /// Whether a policy name is registered; loadBalancingConfig skips unknown entries and
  /// fails if none is known. Unset: achan's built-in policies.
  std::function<bool(std::string_view)> policy_known;
  /// Checks the chosen policy's config object (JSON text at JSON path `path`): "" if
  /// valid, else the message (starting with `path`). Unset: achan's built-in policies'
  /// rules (when policy_known is unset too).
  std::function<std::string(std::string_view name, std::string_view json, const std::string& path)>
      policy_config_error;
};

/// Parses and validates `json` in gRPC's service config schema (camelCase). Unknown
/// fields are ignored; a bad value in a known field fails the whole config with
/// INVALID_ARGUMENT and a message naming its JSON path, e.g.
/// "methodConfig[0].retryPolicy.maxAttempts: must be an integer >= 2, not 1".
/// As in protobuf's JSON mapping, a null field reads as absent and numbers may also be
/// strings ("4194304"). Text nested deeper than 64 levels is refused: it may come from a
/// peer (a DNS TXT record). A plain function, callable from any thread.
result<service_config_ptr> parse_service_config(std::string_view json,
                                                const service_config_parse_options& opts = {});

}  // namespace achan
