#pragma once
/// round_robin: connect to every address, spread calls over the READY ones in turn
/// (states and stickiness: ready_set_policy).
#include <achan/policy.hpp>
#include "core/balancer/ready_set_policy.hpp"

namespace achan {

/// The "round_robin" policy. Created by the balancer actor through the registry and
/// called only on that actor (see `policy`). Each READY picker starts its rotation at an
/// offset drawn from the helper's seeded generator, so channels do not all hit the first
/// address.
class round_robin final : public ready_set_policy {
 public:
  /// `helper` must outlive the policy.
  explicit round_robin(policy_helper& helper) : ready_set_policy(helper) {}

 private:
  picker_ptr make_picker(std::vector<ready_endpoint> ready) override;
};

}  // namespace achan
