#include "core/balancer/registry.hpp"

#include <doctest/doctest.h>

#include <algorithm>

#include "core/balancer/pick_first.hpp"
#include "core/balancer/round_robin.hpp"
#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

TEST_CASE("registry: builtins hold pick_first and round_robin") {
  auto r = policy_registry::with_builtins();
  auto names = r.names();  // other built-ins are checked by their own tests
  CHECK(std::count(names.begin(), names.end(), "pick_first") == 1);
  CHECK(std::count(names.begin(), names.end(), "round_robin") == 1);
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
