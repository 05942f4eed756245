#include "core/balancer/pick_first.hpp"

#include <doctest/doctest.h>

#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

namespace {

using cs = connectivity_state;

std::string picked_address(const fake_policy_helper& h) {
  auto r = h.picker->pick({});
  REQUIRE(r.what == pick_result::kind::complete);
  return (*r.conn)->address();
}

std::string fail_message(const fake_policy_helper& h) {
  auto r = h.picker->pick({});
  REQUIRE(r.what == pick_result::kind::fail);
  CHECK(r.error->code == status_code::unavailable);
  return r.error->message;
}

struct fixture {
  fake_policy_helper h;
  pick_first pf{h};
  std::vector<subchannel_id> ids;

  explicit fixture(std::vector<std::string> addrs) {
    pf.update_addresses(addrs, {});
    for (const auto& a : addrs)
      ids.push_back(h.id_of(a));
  }
};

}  // namespace

TEST_CASE("pick_first: connects one address at a time and reports CONNECTING") {
  fixture f{{"a:1", "b:1", "c:1"}};
  CHECK(f.h.created.size() == 3);
  CHECK(f.h.connects == std::vector<subchannel_id>{f.ids[0]});
  CHECK(f.h.state == cs::connecting);
  CHECK(f.h.picker->pick({}).what == pick_result::kind::queue);
}

TEST_CASE("pick_first: fails over in address order and stays on the working address") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.pf.on_subchannel_update(fake_policy_helper::connecting(f.ids[0]));
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[0]));
  CHECK(f.h.connects == std::vector<subchannel_id>{f.ids[0], f.ids[1]});
  CHECK(f.h.state == cs::connecting);
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[1]));
  CHECK(f.h.connects == std::vector<subchannel_id>{f.ids[0], f.ids[1], f.ids[2]});
  f.pf.on_subchannel_update(f.h.ready(f.ids[2]));
  CHECK(f.h.state == cs::ready);
  CHECK(picked_address(f.h) == "c:1");
  CHECK(f.h.live_addresses() == std::vector<std::string>{"c:1"});
  CHECK(f.h.publishes() == 2);  // CONNECTING, READY

  // The resolver resends a list that still holds c:1: nothing changes.
  f.pf.update_addresses({"a:1", "b:1", "c:1"}, {});
  f.pf.update_addresses({"c:1", "d:1"}, {});
  CHECK(f.h.created.size() == 3);
  CHECK(f.h.publishes() == 2);
  CHECK(picked_address(f.h) == "c:1");
}

TEST_CASE("pick_first: when every address fails reports TRANSIENT_FAILURE - first READY wins") {
  fixture f{{"127.0.0.1:5000", "127.0.0.1:5001"}};
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[0], "timeout"));
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[1], "connection refused"));
  CHECK(f.h.state == cs::transient_failure);
  CHECK(f.h.reresolutions == 1);
  CHECK(fail_message(f.h) ==
        "all 2 addresses failing; last error: connection refused (127.0.0.1:5001)");

  // After its backoff each subchannel reports IDLE and is reconnected at once.
  f.pf.on_subchannel_update(fake_policy_helper::idle(f.ids[1]));
  f.pf.on_subchannel_update(fake_policy_helper::idle(f.ids[0]));
  CHECK(f.h.connect_count(f.ids[0]) == 2);
  CHECK(f.h.connect_count(f.ids[1]) == 2);
  f.pf.on_subchannel_update(fake_policy_helper::connecting(f.ids[0]));
  CHECK(f.h.state == cs::transient_failure);
  f.pf.on_subchannel_update(f.h.ready(f.ids[1]));
  CHECK(f.h.state == cs::ready);
  CHECK(picked_address(f.h) == "127.0.0.1:5001");
  CHECK(f.h.shutdowns == std::vector<subchannel_id>{f.ids[0]});
}

TEST_CASE("pick_first: READY -> IDLE on connection loss - exit_idle starts a new pass") {
  fixture f{{"a:1", "b:1"}};
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[0]));
  f.pf.on_subchannel_update(f.h.ready(f.ids[1]));
  CHECK(f.h.live_addresses() == std::vector<std::string>{"b:1"});

  f.pf.on_subchannel_update(fake_policy_helper::idle(f.ids[1], "goaway"));
  CHECK(f.h.state == cs::idle);
  CHECK(f.h.reresolutions == 1);
  CHECK(f.h.picker->pick({}).what == pick_result::kind::queue);
  auto connects = f.h.connects.size();
  f.pf.on_subchannel_update(fake_policy_helper::idle(f.ids[1]));
  CHECK(f.h.connects.size() == connects);  // nothing until exit_idle

  f.pf.exit_idle();
  CHECK(f.h.state == cs::connecting);
  auto a = f.h.id_of("a:1");
  CHECK(a != f.ids[0]);                 // recreated
  CHECK(f.h.id_of("b:1") == f.ids[1]);  // reused
  CHECK(f.h.connects.back() == a);
  f.pf.on_subchannel_update(f.h.ready(a));
  CHECK(picked_address(f.h) == "a:1");

  auto publishes = f.h.publishes();
  f.pf.exit_idle();  // not IDLE: no-op
  CHECK(f.h.publishes() == publishes);
}

TEST_CASE("pick_first: address update without the selected address starts a new pass") {
  fixture f{{"a:1", "b:1"}};
  f.pf.on_subchannel_update(f.h.ready(f.ids[0]));
  f.pf.update_addresses({"c:1", "d:1"}, {});
  CHECK(f.h.is_shut_down(f.ids[0]));
  CHECK(f.h.state == cs::connecting);
  CHECK(f.h.connects.back() == f.h.id_of("c:1"));
  CHECK(f.h.live_addresses() == std::vector<std::string>{"c:1", "d:1"});
}

TEST_CASE("pick_first: address update keeps existing subchannels and shuts down removed ones") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[0]));
  f.pf.update_addresses({"b:1", "d:1"}, {});
  CHECK(f.h.shutdowns == std::vector<subchannel_id>{f.ids[0], f.ids[2]});
  CHECK(f.h.id_of("b:1") == f.ids[1]);
  CHECK(f.h.created.size() == 4);
  // The new pass starts at b:1 (reused); when it fails, d:1 is next.
  f.pf.on_subchannel_update(fake_policy_helper::failed(f.ids[1]));
  CHECK(f.h.connects.back() == f.h.id_of("d:1"));
}

TEST_CASE("pick_first: shuffle is seeded and deterministic") {
  std::vector<std::string> addrs;
  for (int i = 0; i < 10; ++i)
    addrs.push_back("10.0.0." + std::to_string(i) + ":80");
  auto first_tried = [&](std::uint64_t seed, bool shuffle) {
    fake_policy_helper h{seed};
    pick_first pf{h};
    lb_config cfg;
    cfg.shuffle_address_list = shuffle;
    pf.update_addresses(addrs, cfg);
    std::vector<std::string> order;
    for (int i = 0; i < 10; ++i) {
      auto id = h.connects.back();
      order.push_back(h.address_of(id));
      pf.on_subchannel_update(fake_policy_helper::failed(id));
    }
    return order;
  };
  CHECK(first_tried(1, false) == addrs);
  CHECK(first_tried(1, true) == first_tried(1, true));
  CHECK(first_tried(1, true) != addrs);
  CHECK(first_tried(1, true) != first_tried(2, true));
}

TEST_CASE("pick_first: empty address list reports TRANSIENT_FAILURE") {
  fixture f{{"a:1"}};
  f.pf.update_addresses({}, {});
  CHECK(f.h.state == cs::transient_failure);
  CHECK(fail_message(f.h) == "resolver returned an empty address list");
  CHECK(f.h.live_addresses().empty());
  // Sticky (gRFC A62): a new list is tried, but the failure stays published until READY.
  f.pf.update_addresses({"b:1"}, {});
  auto b = f.h.id_of("b:1");
  CHECK(f.h.connects.back() == b);
  f.pf.on_subchannel_update(fake_policy_helper::connecting(b));
  CHECK(f.h.state == cs::transient_failure);
  CHECK(fail_message(f.h) == "resolver returned an empty address list");
  f.pf.on_subchannel_update(f.h.ready(b));
  CHECK(f.h.state == cs::ready);
}

TEST_CASE("pick_first: resolver error before first update reports TRANSIENT_FAILURE") {
  fake_policy_helper h;
  pick_first pf{h};
  pf.resolver_error({status_code::unavailable, "no such host"});
  CHECK(h.state == cs::transient_failure);
  CHECK(fail_message(h) == "resolver error: no such host");
}

TEST_CASE("pick_first: resolver error while READY keeps serving") {
  fixture f{{"a:1"}};
  f.pf.on_subchannel_update(f.h.ready(f.ids[0]));
  f.pf.resolver_error({status_code::unavailable, "no such host"});
  CHECK(f.h.state == cs::ready);
  CHECK(picked_address(f.h) == "a:1");
}

TEST_CASE("pick_first: shutdown shuts down every subchannel") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.pf.shutdown();
  CHECK(f.h.live_addresses().empty());
  CHECK(f.h.shutdowns.size() == 3);
  auto publishes = f.h.publishes();
  f.pf.on_subchannel_update(f.h.ready(f.ids[0]));
  f.pf.exit_idle();
  CHECK(f.h.publishes() == publishes);
}
