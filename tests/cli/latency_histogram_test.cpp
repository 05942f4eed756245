// cli/latency_histogram: quantiles within the bucket precision, exact min and max.
#include <doctest/doctest.h>

#include <random>

#include "cli/latency_histogram.hpp"

using achan::cli::latency_histogram;

TEST_CASE("latency_histogram: quantiles of a uniform spread within 1.6 percent") {
  latency_histogram h;
  for (std::uint64_t v = 1; v <= 100000; ++v)
    h.record(v * 1000);  // 1 us .. 100 ms
  CHECK(h.count() == 100000);
  CHECK(h.min() == 1000);
  CHECK(h.max() == 100000000);
  for (double q : {0.5, 0.9, 0.99, 0.999}) {
    double want = q * 1e8;
    CAPTURE(q);
    CHECK(h.quantile(q) == doctest::Approx(want).epsilon(0.016));
  }
  CHECK(h.quantile(1.0) <= static_cast<double>(h.max()));
}

TEST_CASE("latency_histogram: empty small and huge values") {
  latency_histogram h;
  CHECK(h.quantile(0.5) == 0);
  CHECK(h.linear_bins(10).empty());
  h.record(3);
  CHECK(h.quantile(0.5) == 3);
  h.record(std::uint64_t{1} << 50);  // beyond the top bucket: counted, max exact
  CHECK(h.count() == 2);
  CHECK(h.max() == std::uint64_t{1} << 50);
  auto bins = h.linear_bins(4);
  REQUIRE(bins.size() == 4);
  CHECK(bins.front().second + bins.back().second == 2);
}
