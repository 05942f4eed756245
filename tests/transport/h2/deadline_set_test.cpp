#include "transport/h2/deadline_set.hpp"

#include <doctest/doctest.h>

#include <vector>

using achan::transport::h2util::deadline_set;
using namespace std::chrono_literals;

namespace {
const deadline_set::time_point t0{};
std::vector<std::int32_t> take(deadline_set& d, deadline_set::time_point now) {
  std::vector<std::int32_t> ids;
  d.take_due(now, [&](std::int32_t id) { ids.push_back(id); });
  return ids;
}
}  // namespace

TEST_CASE("deadline_set asks for a re-arm only when the earliest deadline moves earlier") {
  deadline_set d;
  CHECK(d.add(t0 + 10s, 1));        // nothing armed yet
  CHECK_FALSE(d.add(t0 + 11s, 3));  // later: the armed timer fires first anyway
  CHECK_FALSE(d.add(t0 + 10s, 5));  // same time
  CHECK(d.add(t0 + 2s, 7));         // earlier
  CHECK(d.size() == 4);
}

TEST_CASE("deadline_set hands out due streams in deadline order and re-arms for the next") {
  deadline_set d;
  d.add(t0 + 3s, 3);
  d.add(t0 + 1s, 1);
  d.add(t0 + 2s, 2);
  d.add(t0 + 9s, 9);
  CHECK(take(d, t0 + 500ms).empty());
  CHECK(take(d, t0 + 2s) == std::vector<std::int32_t>{1, 2});  // at the deadline is due
  auto next = d.arm();
  REQUIRE(next);
  CHECK(*next == t0 + 3s);
  CHECK_FALSE(d.add(t0 + 4s, 4));  // armed for 3 s
  CHECK(d.add(t0 + 2500ms, 25));
  CHECK(take(d, t0 + 10s) == std::vector<std::int32_t>{25, 3, 4, 9});
  CHECK_FALSE(d.arm());
}

TEST_CASE("deadline_set never reports a removed stream and removal of a missing one is harmless") {
  deadline_set d;
  d.add(t0 + 1s, 1);
  d.add(t0 + 1s, 2);
  d.remove(t0 + 1s, 1);
  d.remove(t0 + 5s, 2);  // wrong time: not that entry
  d.remove(t0 + 1s, 42);
  CHECK(take(d, t0 + 1s) == std::vector<std::int32_t>{2});
  // After the earliest went away the armed timer fires early; it finds nothing due
  // and re-arms for what is left.
  d.add(t0 + 5s, 5);
  d.add(t0 + 6s, 6);
  CHECK(*d.arm() == t0 + 5s);
  d.remove(t0 + 5s, 5);
  CHECK(take(d, t0 + 5s).empty());
  CHECK(*d.arm() == t0 + 6s);
}

TEST_CASE("deadline_set clear forgets everything and resets the armed time") {
  deadline_set d;
  d.add(t0 + 1s, 1);
  d.clear();
  CHECK(d.size() == 0);
  CHECK(d.add(t0 + 100s, 2));  // nothing armed after clear
}
