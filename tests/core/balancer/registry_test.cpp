#include "core/balancer/registry.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "core/balancer/pick_first.hpp"
#include "core/balancer/round_robin.hpp"
#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

TEST_CASE("registry: builtins hold every policy under achan's and gRPC's names") {
  auto r = policy_registry::with_builtins();
  for (auto name :
       {"pick_first", "round_robin", "least_request", "least_request_experimental", "peak_ewma",
        "weighted_round_robin", "weighted_round_robin_experimental", "ring_hash",
        "ring_hash_experimental", "outlier_detection", "outlier_detection_experimental"}) {
    CAPTURE(name);
    CHECK(r.find(name) != nullptr);
  }
  auto names = r.names();
  CHECK(std::is_sorted(names.begin(), names.end()));
  fake_policy_helper h;
  const auto* pf = r.find("pick_first");
  const auto* rr = r.find("round_robin");
  REQUIRE(pf != nullptr);
  REQUIRE(rr != nullptr);
  auto p1 = (*pf)(h);
  auto p2 = (*rr)(h);
  CHECK(dynamic_cast<pick_first*>(p1.get()) != nullptr);
  CHECK(dynamic_cast<round_robin*>(p2.get()) != nullptr);
}

TEST_CASE("registry: unknown names are not found") {
  auto r = policy_registry::with_builtins();
  CHECK(r.find("weighted_target") == nullptr);
  CHECK(r.find("") == nullptr);
  CHECK(policy_registry{}.find("pick_first") == nullptr);
  CHECK(policy_registry{}.names().empty());
}

TEST_CASE("registry: add registers a policy and may replace a builtin") {
  auto r = policy_registry::with_builtins();
  int built = 0;
  policy_factory custom = [&built](policy_helper& h) -> std::unique_ptr<policy> {
    ++built;
    return std::make_unique<round_robin>(h);
  };
  CHECK(r.add("custom", custom));
  CHECK_FALSE(r.add("pick_first", custom));
  CHECK(r.names().size() == policy_registry::with_builtins().names().size() + 1);
  CHECK(r.names().front() == "custom");
  fake_policy_helper h;
  (void)(*r.find("pick_first"))(h);
  CHECK(built == 1);
}
