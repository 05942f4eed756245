#pragma once
/// Reading a loadBalancingConfig list (a service config's, or outlier_detection's
/// childPolicy) with the service config parser's readers (json_values.hpp). Private to
/// achan_core; throws sc_json::invalid.
#include <functional>
#include <string>
#include <string_view>

#include <achan/policy.hpp>
#include "core/config/json_values.hpp"

namespace achan::sc_json {

/// Whether a policy name is registered.
using policy_known_fn = std::function<bool(std::string_view)>;
/// A policy's config check: "" if valid, else the message (see policy_validator).
using policy_check_fn = std::function<std::string(std::string_view name, std::string_view json,
                                                  const std::string& path)>;

/// The first entry of `list` whose policy `known` accepts, its config object checked by
/// `check` (if set); pick_first's shuffleAddressList is read. As in gRPC core, entries
/// after it are not inspected. Fails on a list naming no (known) policy.
lb_config lb_from_list(const node& list, const policy_known_fn& known,
                       const policy_check_fn& check);

}  // namespace achan::sc_json
