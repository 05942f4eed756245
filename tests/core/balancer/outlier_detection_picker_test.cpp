// outlier_detection's data path: od_picker (counter table lookups) and od_call_counter
// (buckets). The policy: outlier_detection_test.cpp.
#include "core/balancer/outlier_detection_picker.hpp"

#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include "core/balancer/rr_picker.hpp"
#include "tests/support/fake_connection.hpp"

using namespace achan;

namespace {

/// A child picker that is itself a parent: it fills slot 1.
struct parent_picker final : picker {
  transport::connection_ptr conn = achan::test::make_fake_connection("p:1");
  tracker_ref<od_call_counter> mine = make_tracker<od_call_counter>();
  pick_result pick(const pick_info&) const noexcept override {
    pick_result r{pick_result::kind::complete, &conn, nullptr};
    r.trackers[1] = mine.get();
    return r;
  }
};

}  // namespace

TEST_CASE("od_picker: attaches the picked connection's counter and keeps a child's slot 1") {
  transport::connection_ptr a = achan::test::make_fake_connection("a:1");
  transport::connection_ptr b = achan::test::make_fake_connection("b:1");
  auto counter = make_tracker<od_call_counter>();
  od_picker p{std::make_shared<rr_picker>(std::vector<transport::connection_ptr>{a, b}, 0),
              {{a.get(), counter}}};
  CHECK(p.counted() == 1);
  auto r1 = p.pick({});
  CHECK(r1.conn->get() == a.get());
  CHECK(r1.trackers[1] == counter.get());
  auto r2 = p.pick({});
  CHECK(r2.conn->get() == b.get());
  CHECK(r2.trackers[1] == nullptr);  // not tracked

  auto child = std::make_shared<parent_picker>();
  od_picker q{child, {{child->conn.get(), counter}}};
  CHECK(q.pick({}).trackers[1] == child->mine.get());
}

TEST_CASE("od_call_counter: counts OK as success and retires a bucket per rotation") {
  static const metadata none;
  auto c = make_tracker<od_call_counter>();
  const status ok;
  const status bad{status_code::deadline_exceeded, "late"};
  c->on_call_end(call_outcome{ok, none, {}, true});
  c->on_call_end(call_outcome{bad, none, {}, true});
  c->on_call_end(call_outcome{bad, none, {}, true});
  c->on_call_end(call_outcome{bad, none, {}, false});  // never sent
  CHECK(c->current().successes == 1);
  CHECK(c->current().failures == 2);
  auto retired = c->rotate();
  CHECK(retired.successes == 1);
  CHECK(retired.failures == 2);
  CHECK(c->current().volume() == 0);
  c->on_call_end(call_outcome{ok, none, {}, true});
  CHECK(c->rotate().volume() == 1);
  CHECK(c->rotate().volume() == 0);  // the zeroed bucket
}
