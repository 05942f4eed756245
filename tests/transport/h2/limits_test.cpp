// The pure pieces of the HTTP/2 limits: header-list budget and ping strikes (gRFC A8).
#include <doctest/doctest.h>

#include <array>

#include "transport/h2/header_budget.hpp"
#include "transport/h2/ping_policy.hpp"

using achan::transport::h2util::header_budget;
using achan::transport::h2util::ping_policy;
using namespace std::chrono_literals;

TEST_CASE("header_budget: counts name + value + 32 per field against the limit") {
  header_budget b{100};
  b.begin();
  CHECK(b.add(10, 26) == header_budget::verdict::ok);  // 68
  CHECK(b.add(0, 0) == header_budget::verdict::ok);    // 100: at the limit is fine
  CHECK(b.add(0, 1) == header_budget::verdict::over);  // 133
  CHECK(b.used() == 133);
  b.begin();
  CHECK(b.used() == 0);
  CHECK(b.add(60, 8) == header_budget::verdict::ok);
}

TEST_CASE("header_budget: a block over four times the limit is abuse") {
  header_budget b{1000};
  b.begin();
  CHECK(b.add(3900, 68) == header_budget::verdict::over);  // 4000
  CHECK(b.add(0, 0) == header_budget::verdict::abuse);     // 4032 > 4000
}

TEST_CASE("header_list_size: what a header list to be sent counts") {
  struct nv {
    std::size_t namelen, valuelen;
  };
  std::array<nv, 2> fields{nv{5, 10}, nv{1, 1}};
  CHECK(achan::transport::h2util::header_list_size(fields) == 15 + 2 + 64);
}

TEST_CASE("ping_policy: pings within the permitted interval collect strikes") {
  ping_policy p{5min, false, 2};
  auto t = ping_policy::clock::time_point{} + 1h;
  CHECK_FALSE(p.on_ping(t, true));       // the first ping is free
  CHECK_FALSE(p.on_ping(t + 1s, true));  // strike 1
  CHECK_FALSE(p.on_ping(t + 2s, true));  // strike 2
  CHECK(p.on_ping(t + 3s, true));        // strike 3 > 2: GOAWAY
  CHECK(p.strikes() == 3);
}

TEST_CASE("ping_policy: pings at the permitted interval are fine") {
  ping_policy p{5min, false, 2};
  auto t = ping_policy::clock::time_point{} + 1h;
  for (int i = 0; i < 10; ++i)
    CHECK_FALSE(p.on_ping(t + i * 5min, true));
  CHECK(p.strikes() == 0);
}

TEST_CASE("ping_policy: without calls a ping is permitted only every 2 h") {
  ping_policy strict{5min, false, 2};
  auto t = ping_policy::clock::time_point{} + 10h;
  CHECK_FALSE(strict.on_ping(t, false));
  CHECK_FALSE(strict.on_ping(t + 10min, false));  // strike: within 2 h
  CHECK(strict.strikes() == 1);
  ping_policy relaxed{5min, true, 2};  // permit_keepalive_without_calls
  CHECK_FALSE(relaxed.on_ping(t, false));
  CHECK_FALSE(relaxed.on_ping(t + 10min, false));
  CHECK(relaxed.strikes() == 0);
}

TEST_CASE("ping_policy: data sent by the server forgives the strikes") {
  ping_policy p{5min, false, 2};
  auto t = ping_policy::clock::time_point{} + 1h;
  p.on_ping(t, true);
  p.on_ping(t + 1s, true);
  p.on_ping(t + 2s, true);
  p.on_data_sent();
  CHECK(p.strikes() == 0);
  CHECK_FALSE(p.on_ping(t + 3s, true));
  CHECK_FALSE(p.on_ping(t + 4s, true));
  CHECK_FALSE(p.on_ping(t + 5s, true));
}

TEST_CASE("ping_policy: max_strikes 0 turns enforcement off") {
  ping_policy p{5min, false, 0};
  auto t = ping_policy::clock::time_point{} + 1h;
  for (int i = 0; i < 100; ++i)
    CHECK_FALSE(p.on_ping(t + i * 1ms, true));
}
