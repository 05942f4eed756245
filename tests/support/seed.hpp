#pragma once
/// The seed of randomised tests: fixed so runs repeat, printed by the tests that use
/// it, and overridable with ACHAN_TEST_SEED to reproduce or explore.
#include <cstdint>
#include <cstdlib>

namespace achan::test {

/// ACHAN_TEST_SEED if set, else 20240531.
inline std::uint64_t test_seed() {
  if (const char* s = std::getenv("ACHAN_TEST_SEED"))
    return std::strtoull(s, nullptr, 10);
  return 20240531;
}

}  // namespace achan::test
