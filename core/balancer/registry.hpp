#pragma once
/// Maps lb_config::name to the factory that builds that policy. No global state: the
/// channel owns a registry (usually `with_builtins()`, plus any policies the user adds)
/// and hands it to its balancer.
#include <map>
#include <string>
#include <string_view>
#include <vector>

#include <achan/policy.hpp>

namespace achan {

/// Checks a policy's config object (loadBalancingConfig's value, JSON text) and returns
/// "" if it is valid, else the message, starting with `path` (the object's JSON path,
/// e.g. "loadBalancingConfig[0].least_request").
using policy_validator = std::function<std::string(std::string_view json, const std::string& path)>;

/// Policy factories by name. Not synchronized: fill it before the channel starts, then
/// only read it (concurrent `find` calls are fine).
class policy_registry {
 public:
  /// A registry holding achan's policies: pick_first, round_robin, least_request,
  /// peak_ewma, weighted_round_robin, ring_hash, outlier_detection, and gRPC's names
  /// for them (`*_experimental`).
  static policy_registry with_builtins();
  /// A shared with_builtins() registry (for parsing without a channel).
  static const policy_registry& builtins();

  /// Registers `factory` under `name`, replacing an earlier entry of that name (so a test
  /// can override a built-in). Returns false if it replaced one. `validate` checks the
  /// policy's config; none: every config object is accepted.
  bool add(std::string name, policy_factory factory, policy_validator validate = {});

  /// What `name`'s validator says about `json` ("" if valid, unknown or unchecked).
  std::string config_error(std::string_view name, std::string_view json,
                           const std::string& path) const;

  /// The factory for `name`, or nullptr if unknown (the channel then reports the service
  /// config as invalid). The pointer lives as long as the registry.
  const policy_factory* find(std::string_view name) const;

  /// Registered names in lexicographic order.
  std::vector<std::string> names() const;

 private:
  struct entry {
    policy_factory factory;
    policy_validator validate;
  };
  std::map<std::string, entry, std::less<>> factories_;
};

}  // namespace achan
