#include <achan/backoff.hpp>

#include <doctest/doctest.h>

#include "tests/support/seed.hpp"

#include <chrono>
#include <cmath>
#include <cstdlib>
#include <string>
#include <vector>

using namespace achan;
using namespace std::chrono_literals;
using std::chrono::nanoseconds;

namespace {

using achan::test::test_seed;

std::vector<nanoseconds> schedule(backoff& b, int n) {
  std::vector<nanoseconds> out;
  for (int i = 0; i < n; ++i)
    out.push_back(b.next_delay());
  return out;
}

// |a - b| <= 1ns
bool near(nanoseconds a, nanoseconds b) {
  return std::llabs((a - b).count()) <= 1;
}

}  // namespace

TEST_CASE("backoff: defaults are gRPC's") {
  backoff_params p;
  CHECK(p.initial == 1s);
  CHECK(p.multiplier == 1.6);
  CHECK(p.jitter == 0.2);
  CHECK(p.max == 120s);
  CHECK(p.min_connect_timeout == 20s);
  CHECK(validate(p).ok());
}

TEST_CASE("backoff: without jitter the schedule is 1s 1.6s 2.56s ... capped at 120s") {
  backoff_params p;
  p.jitter = 0;
  backoff b(p, test_seed());
  double nominal = 1e9;
  for (int i = 0; i < 20; ++i) {
    INFO("step " << i);
    auto expected = nanoseconds(std::llround(std::min(nominal, 120e9)));
    CHECK(near(b.next_delay(), expected));
    nominal *= 1.6;
  }
  CHECK(b.next_delay() == 120s);
  backoff fresh(p, test_seed());
  auto first = schedule(fresh, 4);
  CHECK(near(first[1], nanoseconds(1'600'000'000)));
  CHECK(near(first[2], nanoseconds(2'560'000'000)));
  CHECK(near(first[3], nanoseconds(4'096'000'000)));
}

TEST_CASE("backoff: same seed gives the same schedule - another seed a different one") {
  auto seed = test_seed();
  MESSAGE("seed " << seed);
  backoff a({}, seed), b({}, seed), c({}, seed + 1);
  auto sa = schedule(a, 30), sb = schedule(b, 30), sc = schedule(c, 30);
  CHECK(sa == sb);
  CHECK(sa != sc);
  CHECK(sa[0] == 1s);
  CHECK(sc[0] == 1s);
}

TEST_CASE("backoff: jitter stays within 20% and averages out at one step") {
  auto seed = test_seed();
  MESSAGE("seed " << seed);
  backoff b({}, seed);
  constexpr int samples = 10000;
  constexpr int step = 4;  // fifth delay: nominal 1.6^4 s
  const double nominal = 1e9 * std::pow(1.6, step);
  double sum = 0, lo = nominal, hi = nominal;
  for (int i = 0; i < samples; ++i) {
    b.reset();
    nanoseconds d{};
    for (int k = 0; k <= step; ++k)
      d = b.next_delay();
    auto v = static_cast<double>(d.count());
    REQUIRE(v >= nominal * 0.8 - 1);
    REQUIRE(v <= nominal * 1.2 + 1);
    lo = std::min(lo, v);
    hi = std::max(hi, v);
    sum += v;
  }
  double mean = sum / samples;
  CHECK(std::abs(mean - nominal) <= 0.01 * nominal);
  // The jitter is actually applied: the samples spread over most of the ±20% band.
  CHECK(lo < nominal * 0.82);
  CHECK(hi > nominal * 1.18);
}

TEST_CASE("backoff: jitter does not compound at the cap") {
  backoff b({}, test_seed());
  for (int i = 0; i < 200; ++i) {
    auto d = b.next_delay();
    CHECK(d <= nanoseconds(144'000'000'000));  // 120s * 1.2
  }
}

TEST_CASE("backoff: reset returns to the initial delay") {
  backoff b({}, test_seed());
  schedule(b, 10);
  b.reset();
  CHECK(b.next_delay() == 1s);
  auto second = b.next_delay();
  CHECK(second >= nanoseconds(1'280'000'000));
  CHECK(second <= nanoseconds(1'920'000'000));
}

TEST_CASE("backoff: connect timeout is the larger of delay and min_connect_timeout") {
  backoff b({}, test_seed());
  CHECK(b.connect_timeout(1s) == 20s);
  CHECK(b.connect_timeout(20s) == 20s);
  CHECK(b.connect_timeout(33s) == 33s);
  CHECK(b.params().min_connect_timeout == 20s);
}

TEST_CASE("backoff: validate rejects unusable parameters") {
  auto bad = [](auto mutate) {
    backoff_params p;
    mutate(p);
    return validate(p);
  };
  CHECK_FALSE(bad([](backoff_params& p) { p.initial = 0s; }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.initial = -1s; }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.multiplier = 0.99; }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.multiplier = std::nan(""); }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.jitter = -0.01; }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.jitter = 1.0; }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.jitter = std::nan(""); }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.max = 999ms; }).ok());
  CHECK_FALSE(bad([](backoff_params& p) { p.min_connect_timeout = 0s; }).ok());
  CHECK(bad([](backoff_params& p) { p.multiplier = 1.0; }).ok());
  CHECK(bad([](backoff_params& p) { p.jitter = 0.0; }).ok());
  CHECK(bad([](backoff_params& p) { p.max = p.initial; }).ok());
}
