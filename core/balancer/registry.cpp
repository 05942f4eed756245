#include "core/balancer/registry.hpp"

#include <memory>
#include <utility>

#include "core/balancer/lb_json.hpp"
#include "core/balancer/least_request.hpp"
#include "core/balancer/outlier_detection.hpp"
#include "core/balancer/peak_ewma.hpp"
#include "core/balancer/pick_first.hpp"
#include "core/balancer/ring_hash.hpp"
#include "core/balancer/round_robin.hpp"
#include "core/balancer/weighted_round_robin.hpp"

namespace achan {

policy_registry policy_registry::with_builtins() {
  policy_registry r;
  r.add("pick_first", [](policy_helper& h) -> std::unique_ptr<policy> {
    return std::make_unique<pick_first>(h);
  });
  r.add("round_robin", [](policy_helper& h) -> std::unique_ptr<policy> {
    return std::make_unique<round_robin>(h);
  });
  // gRPC's names (the `_experimental` ones from before the policies were stable) are
  // accepted as aliases.
  for (auto name : {"least_request", "least_request_experimental"})
    r.add(
        name,
        [](policy_helper& h) -> std::unique_ptr<policy> {
          return std::make_unique<least_request>(h);
        },
        validator_of(parse_least_request_config));
  r.add(
      "peak_ewma",
      [](policy_helper& h) -> std::unique_ptr<policy> { return std::make_unique<peak_ewma>(h); },
      validator_of(parse_peak_ewma_config));
  for (auto name : {"weighted_round_robin", "weighted_round_robin_experimental"})
    r.add(
        name,
        [](policy_helper& h) -> std::unique_ptr<policy> {
          return std::make_unique<weighted_round_robin>(h);
        },
        validator_of(parse_wrr_config));
  for (const char* name : {"ring_hash", "ring_hash_experimental"})
    r.add(
        name,
        [](policy_helper& h) -> std::unique_ptr<policy> { return std::make_unique<ring_hash>(h); },
        validator_of(parse_ring_hash_config));
  for (const char* name : {"outlier_detection", "outlier_detection_experimental"})
    r.add(
        name,
        [](policy_helper& h) -> std::unique_ptr<policy> {
          return std::make_unique<outlier_detection>(h);
        },
        outlier_detection_config_error);
  return r;
}

const policy_registry& policy_registry::builtins() {
  static const policy_registry r = with_builtins();
  return r;
}

bool policy_registry::add(std::string name, policy_factory factory, policy_validator validate) {
  auto [it, inserted] =
      factories_.insert_or_assign(std::move(name), entry{std::move(factory), std::move(validate)});
  return inserted;
}

const policy_factory* policy_registry::find(std::string_view name) const {
  auto it = factories_.find(name);
  return it == factories_.end() ? nullptr : &it->second.factory;
}

std::string policy_registry::config_error(std::string_view name, std::string_view json,
                                          const std::string& path) const {
  auto it = factories_.find(name);
  if (it == factories_.end() || !it->second.validate)
    return {};
  return it->second.validate(json, path);
}

std::vector<std::string> policy_registry::names() const {
  std::vector<std::string> out;
  out.reserve(factories_.size());
  for (const auto& [name, factory] : factories_)
    out.push_back(name);
  return out;
}

}  // namespace achan
