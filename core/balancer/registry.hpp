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

/// Policy factories by name. Not synchronized: fill it before the channel starts, then
/// only read it (concurrent `find` calls are fine).
class policy_registry {
 public:
  /// A registry holding "pick_first" and "round_robin".
  static policy_registry with_builtins();

  /// Registers `factory` under `name`, replacing an earlier entry of that name (so a test
  /// can override a built-in). Returns false if it replaced one.
  bool add(std::string name, policy_factory factory);

  /// The factory for `name`, or nullptr if unknown (the channel then reports the service
  /// config as invalid). The pointer lives as long as the registry.
  const policy_factory* find(std::string_view name) const;

  /// Registered names in lexicographic order.
  std::vector<std::string> names() const;

 private:
  std::map<std::string, policy_factory, std::less<>> factories_;
};

}  // namespace achan
