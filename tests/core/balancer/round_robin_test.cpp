#include "core/balancer/round_robin.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "core/balancer/rr_picker.hpp"
#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

namespace {

using cs = connectivity_state;

/// Picks `n` times from the helper's current picker; counts completes per address.
std::map<std::string, int> pick_counts(const fake_policy_helper& h, int n) {
  std::map<std::string, int> out;
  for (int i = 0; i < n; ++i) {
    auto r = h.picker->pick({});
    REQUIRE(r.what == pick_result::kind::complete);
    REQUIRE(r.conn != nullptr);
    REQUIRE(*r.conn != nullptr);
    ++out[(*r.conn)->address()];
  }
  return out;
}

std::string fail_message(const fake_policy_helper& h) {
  auto r = h.picker->pick({});
  REQUIRE(r.what == pick_result::kind::fail);
  REQUIRE(r.error != nullptr);
  CHECK(r.error->code == status_code::unavailable);
  return r.error->message;
}

struct fixture {
  fake_policy_helper h;
  round_robin rr{h};
  std::vector<subchannel_id> ids;

  explicit fixture(std::vector<std::string> addrs) {
    rr.update_addresses(addrs, lb_config{"round_robin"});
    for (const auto& a : addrs)
      ids.push_back(h.id_of(a));
  }
};

}  // namespace

TEST_CASE("round_robin: connects every subchannel and reports CONNECTING with a queue picker") {
  fixture f{{"a:1", "b:1", "c:1"}};
  CHECK(f.h.connects == f.ids);
  CHECK(f.h.state == cs::connecting);
  CHECK(f.h.picker->pick({}).what == pick_result::kind::queue);
  for (auto id : f.ids)
    f.rr.on_subchannel_update(fake_policy_helper::connecting(id));
  CHECK(f.h.publishes() == 1);
}

TEST_CASE("round_robin: spreads N picks exactly evenly over k READY subchannels") {
  fixture f{{"a:1", "b:1", "c:1", "d:1"}};
  for (auto id : f.ids)
    f.rr.on_subchannel_update(f.h.ready(id));
  CHECK(f.h.state == cs::ready);
  auto counts = pick_counts(f.h, 4 * 250);
  CHECK(counts ==
        std::map<std::string, int>{{"a:1", 250}, {"b:1", 250}, {"c:1", 250}, {"d:1", 250}});
}

TEST_CASE("round_robin: skips subchannels that are not READY") {
  fixture f{{"a:1", "b:1", "c:1", "d:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.ids[1]));
  f.rr.on_subchannel_update(f.h.ready(f.ids[2]));
  f.rr.on_subchannel_update(fake_policy_helper::connecting(f.ids[3]));
  auto counts = pick_counts(f.h, 300);
  CHECK(counts == std::map<std::string, int>{{"a:1", 150}, {"c:1", 150}});
}

TEST_CASE("round_robin: the start offset comes from the seeded generator") {
  auto first_pick = [](std::uint64_t seed) {
    fake_policy_helper h{seed};
    round_robin rr{h};
    std::vector<std::string> addrs;
    for (int i = 0; i < 16; ++i)
      addrs.push_back("10.0.0." + std::to_string(i) + ":80");
    rr.update_addresses(addrs, {});
    for (const auto& a : addrs)
      rr.on_subchannel_update(h.ready(h.id_of(a)));
    return std::string{(*h.picker->pick({}).conn)->address()};
  };
  CHECK(first_pick(7) == first_pick(7));
  std::set<std::string> starts;
  for (std::uint64_t seed = 0; seed < 8; ++seed)
    starts.insert(first_pick(seed));
  CHECK(starts.size() > 1);
}

TEST_CASE("round_robin: TRANSIENT_FAILURE is sticky until a subchannel is READY") {
  fixture f{{"127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5002"}};
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.ids[0], "timeout"));
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.ids[2], "reset"));
  CHECK(f.h.state == cs::connecting);
  CHECK(f.h.reresolutions == 0);
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.ids[1], "connection refused"));
  CHECK(f.h.state == cs::transient_failure);
  CHECK(f.h.reresolutions == 1);
  CHECK(fail_message(f.h) ==
        "all 3 addresses failing; last error: connection refused (127.0.0.1:5001)");

  auto publishes = f.h.publishes();
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[0]));
  f.rr.on_subchannel_update(fake_policy_helper::connecting(f.ids[0]));
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[1]));
  CHECK(f.h.state == cs::transient_failure);
  CHECK(f.h.publishes() == publishes);
  CHECK(f.h.picker->pick({}).what == pick_result::kind::fail);

  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  CHECK(f.h.state == cs::ready);
  CHECK(pick_counts(f.h, 2) == std::map<std::string, int>{{"127.0.0.1:5000", 2}});
}

TEST_CASE("round_robin: leaving READY requests re-resolution and drops it from the picker") {
  fixture f{{"a:1", "b:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  f.rr.on_subchannel_update(f.h.ready(f.ids[1]));
  CHECK(f.h.reresolutions == 0);
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[1], "goaway"));
  CHECK(f.h.reresolutions == 1);
  CHECK(f.h.state == cs::ready);
  CHECK(pick_counts(f.h, 5) == std::map<std::string, int>{{"a:1", 5}});
}

TEST_CASE("round_robin: IDLE subchannels get reconnected") {
  fixture f{{"a:1", "b:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.ids[1]));
  CHECK(f.h.connect_count(f.ids[1]) == 1);
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[1]));  // backoff over
  CHECK(f.h.connect_count(f.ids[1]) == 2);
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[0], "connection lost"));
  CHECK(f.h.connect_count(f.ids[0]) == 2);
  CHECK(f.h.state == cs::connecting);
}

TEST_CASE("round_robin: the picker is republished only when the state or READY set changes") {
  fixture f{{"a:1", "b:1", "c:1"}};
  CHECK(f.h.publishes() == 1);  // CONNECTING
  for (auto id : f.ids)
    f.rr.on_subchannel_update(fake_policy_helper::connecting(id));
  CHECK(f.h.publishes() == 1);
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  CHECK(f.h.publishes() == 2);
  auto p = f.h.picker;
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.ids[1]));
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[1]));
  f.rr.on_subchannel_update(fake_policy_helper::connecting(f.ids[1]));
  CHECK(f.h.publishes() == 2);
  CHECK(f.h.picker == p);
  f.rr.on_subchannel_update(f.h.ready(f.ids[2]));
  CHECK(f.h.publishes() == 3);
  f.rr.update_addresses({"a:1", "b:1", "c:1"}, {});  // unchanged list
  CHECK(f.h.publishes() == 3);
  f.rr.update_addresses({"a:1", "b:1"}, {});  // c (READY) removed
  CHECK(f.h.publishes() == 4);
  CHECK(pick_counts(f.h, 4) == std::map<std::string, int>{{"a:1", 4}});
}

TEST_CASE("round_robin: address update keeps existing subchannels and shuts down removed ones") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  f.rr.update_addresses({"a:1", "c:1", "d:1"}, {});
  CHECK(f.h.shutdowns == std::vector<subchannel_id>{f.ids[1]});
  CHECK(f.h.created.size() == 4);
  CHECK(f.h.id_of("a:1") == f.ids[0]);
  CHECK(f.h.id_of("c:1") == f.ids[2]);
  CHECK(f.h.connect_count(f.h.id_of("d:1")) == 1);
  CHECK(f.h.connect_count(f.ids[0]) == 1);  // READY: not asked again
  CHECK(pick_counts(f.h, 3) == std::map<std::string, int>{{"a:1", 3}});
  // A late update from the removed subchannel is ignored.
  f.rr.on_subchannel_update(f.h.ready(f.ids[1]));
  CHECK(pick_counts(f.h, 3) == std::map<std::string, int>{{"a:1", 3}});
}

TEST_CASE("round_robin: empty address list reports TRANSIENT_FAILURE") {
  fixture f{{"a:1", "b:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  f.rr.update_addresses({}, {});
  CHECK(f.h.state == cs::transient_failure);
  CHECK(fail_message(f.h) == "resolver returned an empty address list");
  CHECK(f.h.live_addresses().empty());
}

TEST_CASE("round_robin: after an empty list - new addresses stay TF until READY") {
  fixture f{{"a:1"}};
  f.rr.update_addresses({}, {});
  f.rr.update_addresses({"b:1", "c:1"}, {});
  CHECK(f.h.state == cs::transient_failure);
  CHECK(fail_message(f.h) == "resolver returned an empty address list");
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.h.id_of("b:1"), "refused"));
  f.rr.on_subchannel_update(fake_policy_helper::failed(f.h.id_of("c:1"), "refused"));
  CHECK(fail_message(f.h) == "all 2 addresses failing; last error: refused (c:1)");
  f.rr.on_subchannel_update(f.h.ready(f.h.id_of("c:1")));
  CHECK(f.h.state == cs::ready);
}

TEST_CASE("round_robin: resolver error before first update reports TRANSIENT_FAILURE") {
  fake_policy_helper h;
  round_robin rr{h};
  rr.resolver_error({status_code::unavailable, "DNS lookup failed"});
  CHECK(h.state == cs::transient_failure);
  CHECK(fail_message(h) == "resolver error: DNS lookup failed");
}

TEST_CASE("round_robin: resolver error with subchannels keeps serving") {
  fixture f{{"a:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  auto publishes = f.h.publishes();
  f.rr.resolver_error({status_code::unavailable, "DNS lookup failed"});
  CHECK(f.h.publishes() == publishes);
  CHECK(f.h.state == cs::ready);
}

TEST_CASE("round_robin: shutdown shuts down every subchannel and ignores later calls") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));
  auto publishes = f.h.publishes();
  f.rr.shutdown();
  CHECK(f.h.live_addresses().empty());
  CHECK(f.h.shutdowns.size() == 3);
  f.rr.on_subchannel_update(fake_policy_helper::idle(f.ids[0]));
  f.rr.update_addresses({"d:1"}, {});
  f.rr.resolver_error({status_code::unavailable, "x"});
  CHECK(f.h.publishes() == publishes);
  CHECK(f.h.created.size() == 3);
}

TEST_CASE("rr_picker: rotates from its start offset") {
  std::vector<transport::connection_ptr> conns;
  for (int i = 0; i < 3; ++i)
    conns.push_back(achan::test::make_fake_connection("h:" + std::to_string(i)));
  rr_picker p{conns, 4};  // 4 % 3 == 1
  CHECK((*p.pick({}).conn)->address() == "h:1");
  CHECK((*p.pick({}).conn)->address() == "h:2");
  CHECK((*p.pick({}).conn)->address() == "h:0");
  CHECK(rr_picker{{}, 0}.pick({}).what == pick_result::kind::queue);
}

TEST_CASE(
    "round_robin: with deferred evaluation a burst of updates publishes one picker at flush") {
  fixture f{{"a:1", "b:1", "c:1", "d:1"}};
  f.h.defer = true;
  f.rr.on_subchannel_update(f.h.ready(f.ids[0]));  // the first READY: published at once
  CHECK(f.h.state == cs::ready);
  auto before = f.h.publishes();
  for (std::size_t i = 1; i < f.ids.size(); ++i)
    f.rr.on_subchannel_update(f.h.ready(f.ids[i]));
  CHECK(f.h.publishes() == before);  // READY stays READY: nothing until flush()
  CHECK(f.h.deferrals == 3);
  f.rr.flush();
  CHECK(f.h.publishes() == before + 1);
  CHECK(f.h.state == cs::ready);
  CHECK(pick_counts(f.h, 400).size() == 4);  // the one picker covers all four
  f.rr.flush();                              // nothing new: no second picker
  CHECK(f.h.publishes() == before + 1);
}
