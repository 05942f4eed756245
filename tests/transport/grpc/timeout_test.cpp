// grpc-timeout encoding and parsing.
#include <doctest/doctest.h>

#include "tests/support/seed.hpp"

#include <cstdint>
#include <cstdlib>
#include <random>

#include "transport/grpc/timeout.hpp"

using namespace std::chrono_literals;
using achan::grpc::encode_timeout;
using achan::grpc::parse_timeout;
using std::chrono::nanoseconds;

namespace {

using achan::test::test_seed;

}  // namespace

TEST_CASE("timeout: encoding table picks the shortest exact form or rounds up") {
  struct row {
    nanoseconds in;
    const char* out;
  };
  const row rows[] = {
      {0ns, "1n"},
      {-5s, "1n"},
      {nanoseconds::min(), "1n"},
      {1ns, "1n"},
      {999ns, "999n"},
      {1000ns, "1u"},
      {1001ns, "1001n"},
      {99'999'999ns, "99999999n"},
      {100'000'000ns, "100m"},
      {100'000'001ns, "100001u"},  // 9 digits in n: round up to the next microsecond
      {999'999'999ns, "1000000u"},
      {1s, "1S"},
      {1500ms, "1500m"},
      {60s, "1M"},
      {90s, "90S"},
      {1h, "1H"},
      {25h, "25H"},
      {99'999'999s, "99999999S"},
      {100'000'000s, "1666667M"},  // not a whole number of minutes: round up
      {100'000'020s, "1666667M"},
      {100'000'020s + 1ns, "1666668M"},
      {nanoseconds{99'999'999 * 60'000'000'000LL}, "99999999M"},
      {nanoseconds{99'999'999 * 60'000'000'000LL + 1}, "1666667H"},
      {nanoseconds::max(), "2562048H"},  // 64-bit ns never reach the 99999999H cap
  };
  for (const auto& r : rows) {
    CAPTURE(r.in.count());
    CHECK(encode_timeout(r.in) == r.out);
  }
}

TEST_CASE("timeout: encoded value never precedes the deadline and has at most 8 digits") {
  const auto seed = test_seed();
  MESSAGE("seed " << seed);
  std::mt19937_64 rng(seed);
  for (int i = 0; i < 100000; ++i) {
    // Log-uniform over the whole positive range so every unit is exercised.
    const int bits = static_cast<int>(rng() % 63);
    const auto ns = static_cast<std::int64_t>(rng() >> (64 - bits - 1)) | 1;
    CAPTURE(ns);
    const auto enc = encode_timeout(nanoseconds{ns});
    CHECK(enc.size() <= 9);
    auto back = parse_timeout(enc);
    REQUIRE(back);
    CHECK(back->count() >= ns);
  }
}

TEST_CASE("timeout: parses every unit") {
  CHECK(parse_timeout("1n") == 1ns);
  CHECK(parse_timeout("2u") == 2us);
  CHECK(parse_timeout("3m") == 3ms);
  CHECK(parse_timeout("4S") == 4s);
  CHECK(parse_timeout("5M") == 5min);
  CHECK(parse_timeout("6H") == 6h);
  CHECK(parse_timeout("0n") == 0ns);
  CHECK(parse_timeout("00000010S") == 10s);
  CHECK(parse_timeout("99999999n") == 99'999'999ns);
}

TEST_CASE("timeout: values beyond the nanosecond range saturate") {
  CHECK(parse_timeout("99999999H") == nanoseconds::max());
  CHECK(parse_timeout("2562048H") == nanoseconds::max());
  CHECK(parse_timeout("2562047H") == 2562047h);
}

TEST_CASE("timeout: malformed values are rejected") {
  for (const char* bad : {"", "S", "1", "123456789S", "1s", "1h", "1x", "-1S", "+1S", " 1S", "1S ",
                          "1.5S", "1SS", "a1S"}) {
    CAPTURE(bad);
    CHECK_FALSE(parse_timeout(bad));
  }
}
