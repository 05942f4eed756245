// pick_first's Happy Eyeballs pass (gRFC A61) and sticky TRANSIENT_FAILURE (gRFC A62), in
// the fake helper's virtual time: advance() fires the policy's run_after timers.
#include <doctest/doctest.h>

#include <chrono>
#include <string>
#include <vector>

#include "core/balancer/pick_first.hpp"
#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using namespace std::chrono_literals;
using achan::test::fake_policy_helper;

namespace {

using cs = connectivity_state;
using ids = std::vector<subchannel_id>;

std::string fail_message(const fake_policy_helper& h) {
  auto r = h.picker->pick({});
  REQUIRE(r.what == pick_result::kind::fail);
  return r.error->message;
}

struct fixture {
  fake_policy_helper h;
  pick_first pf{h};
  std::vector<subchannel_id> id;

  explicit fixture(std::vector<std::string> addrs, lb_config cfg = {}) {
    pf.update_addresses(addrs, cfg);
    for (const auto& a : addrs)
      id.push_back(h.id_of(a));
  }
  void connecting(subchannel_id i) { pf.on_subchannel_update(fake_policy_helper::connecting(i)); }
  void fail(subchannel_id i, std::string why = "connection refused") {
    pf.on_subchannel_update(fake_policy_helper::failed(i, std::move(why)));
  }
  void idle(subchannel_id i) { pf.on_subchannel_update(fake_policy_helper::idle(i)); }
  void ready(subchannel_id i) { pf.on_subchannel_update(h.ready(i)); }
};

/// The addresses in the order the policy tries them when every attempt fails at once.
std::vector<std::string> try_order(const std::vector<std::string>& addrs, lb_config cfg = {},
                                   std::uint64_t seed = 42) {
  fake_policy_helper h{seed};
  pick_first pf{h};
  pf.update_addresses(addrs, cfg);
  std::vector<std::string> order;
  while (order.size() < addrs.size()) {
    REQUIRE(h.connects.size() == order.size() + 1);
    auto id = h.connects.back();
    order.push_back(h.address_of(id));
    pf.on_subchannel_update(fake_policy_helper::failed(id));
  }
  CHECK(h.state == cs::transient_failure);
  return order;
}

}  // namespace

TEST_CASE("pick_first: the next address starts 250 ms after the first while it is CONNECTING") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.connecting(f.id[0]);
  f.h.advance(249ms);
  CHECK(f.h.connects == ids{f.id[0]});  // not before the delay
  f.h.advance(1ms);
  CHECK(f.h.connects == ids{f.id[0], f.id[1]});  // the first keeps going
  CHECK(f.h.shutdowns.empty());
  f.connecting(f.id[1]);
  f.h.advance(250ms);
  CHECK(f.h.connects == ids{f.id[0], f.id[1], f.id[2]});
  // The last address has no delay: nothing more is started, no timer is left.
  f.h.advance(1h);
  CHECK(f.h.connects.size() == 3);
  CHECK(f.h.pending_timers() == 0);
  CHECK(f.h.states == std::vector<cs>{cs::connecting});
}

TEST_CASE("pick_first: a failed attempt starts the next address at once with a fresh delay") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.connecting(f.id[0]);
  f.h.advance(100ms);
  f.fail(f.id[0]);
  CHECK(f.h.connects == ids{f.id[0], f.id[1]});  // at +100 ms, not +250 ms
  f.h.advance(249ms);  // +349 ms: the first attempt's timer fired at +250 ms and is stale
  CHECK(f.h.connects == ids{f.id[0], f.id[1]});
  f.h.advance(1ms);  // b's own 250 ms
  CHECK(f.h.connects == ids{f.id[0], f.id[1], f.id[2]});
  CHECK(f.h.pending_timers() <= 1);
}

TEST_CASE("pick_first: the first attempt to become READY wins and the others are shut down") {
  fixture f{{"a:1", "b:1", "c:1", "d:1"}};
  f.h.advance(500ms);
  REQUIRE(f.h.connects == ids{f.id[0], f.id[1], f.id[2]});
  f.ready(f.id[1]);
  CHECK(f.h.state == cs::ready);
  CHECK(f.h.shutdowns == ids{f.id[0], f.id[2], f.id[3]});
  CHECK(f.h.live_addresses() == std::vector<std::string>{"b:1"});
  // The pending timer finds nothing to time: d is never attempted, nothing re-arms.
  f.h.advance(1h);
  CHECK(f.h.connects.size() == 3);
  CHECK(f.h.pending_timers() == 0);
  CHECK(f.h.states == std::vector<cs>{cs::connecting, cs::ready});
}

TEST_CASE("pick_first: an earlier attempt still running can win after a later one started") {
  fixture f{{"a:1", "b:1"}};
  f.connecting(f.id[0]);
  f.h.advance(250ms);
  f.connecting(f.id[1]);
  f.ready(f.id[0]);
  CHECK(f.h.state == cs::ready);
  CHECK(f.h.shutdowns == ids{f.id[1]});
}

TEST_CASE("pick_first: the pass fails only when every attempt it started failed") {
  fixture f{{"a:1", "b:1"}};
  f.connecting(f.id[0]);
  f.h.advance(250ms);
  f.fail(f.id[1]);  // the later attempt fails first: a is still undecided
  CHECK(f.h.state == cs::connecting);
  CHECK(f.h.reresolutions == 0);
  f.h.advance(10s);
  CHECK(f.h.connects == ids{f.id[0], f.id[1]});
  f.fail(f.id[0], "timeout");
  CHECK(f.h.state == cs::transient_failure);
  CHECK(f.h.reresolutions == 1);
  CHECK(fail_message(f.h) == "all 2 addresses failing; last error: timeout (a:1)");
}

TEST_CASE("pick_first: a reused CONNECTING subchannel is timed as if the pass had started it") {
  fixture f{{"a:1", "b:1"}};
  f.connecting(f.id[0]);
  f.h.advance(100ms);
  f.pf.update_addresses({"a:1", "c:1", "b:1"}, {});  // a new pass over a CONNECTING a:1
  auto c = f.h.id_of("c:1");
  CHECK(f.h.connects == ids{f.id[0]});  // a:1 is not asked again
  f.h.advance(249ms);
  CHECK(f.h.connects == ids{f.id[0]});
  f.h.advance(1ms);  // 250 ms after the new pass began
  CHECK(f.h.connects == ids{f.id[0], c});
}

TEST_CASE("pick_first: a subchannel in backoff at its turn counts as failed and is skipped") {
  fixture f{{"a:1", "b:1"}};
  f.fail(f.id[0]);
  f.fail(f.id[1]);
  REQUIRE(f.h.state == cs::transient_failure);
  f.pf.update_addresses({"b:1", "c:1"}, {});  // b:1 is still in backoff
  auto c = f.h.id_of("c:1");
  CHECK(f.h.connects.back() == c);  // at once, no delay spent on b:1
  f.fail(c);
  CHECK(f.h.reresolutions == 2);  // the second pass failed too
  CHECK(fail_message(f.h) == "all 2 addresses failing; last error: connection refused (c:1)");
}

TEST_CASE("pick_first: addresses are interleaved by family starting with the first address's") {
  CHECK(try_order({"[::1]:1", "[::2]:1", "[::3]:1", "10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"}) ==
        std::vector<std::string>{"[::1]:1", "10.0.0.1:1", "[::2]:1", "10.0.0.2:1", "[::3]:1",
                                 "10.0.0.3:1"});
  CHECK(try_order({"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "[::1]:1"}) ==
        std::vector<std::string>{"10.0.0.1:1", "[::1]:1", "10.0.0.2:1", "10.0.0.3:1"});
  // One family: the order is kept.
  std::vector<std::string> v4{"10.0.0.3:1", "10.0.0.1:1", "10.0.0.2:1"};
  CHECK(try_order(v4) == v4);
}

TEST_CASE("pick_first: interleave_families is stable per family and knows unix sockets") {
  using v = std::vector<std::string>;
  CHECK(pick_first::interleave_families({}).empty());
  CHECK(pick_first::interleave_families(
            {"unix:/a", "h:1", "unix:/b", "[fe80::1]:1", "unix-abstract:c", "[::1]:2", "h:2"}) ==
        v{"unix:/a", "h:1", "[fe80::1]:1", "unix:/b", "h:2", "[::1]:2", "unix-abstract:c"});
  CHECK(pick_first::interleave_families({"[::1]:1", "[::1]:1", "1.2.3.4:1"}) ==
        v{"[::1]:1", "1.2.3.4:1", "[::1]:1"});
}

TEST_CASE("pick_first: shuffleAddressList shuffles before interleaving") {
  std::vector<std::string> addrs;
  for (int i = 0; i < 6; ++i)
    addrs.push_back("[::" + std::to_string(i + 1) + "]:1");
  for (int i = 0; i < 6; ++i)
    addrs.push_back("10.0.0." + std::to_string(i + 1) + ":1");
  lb_config cfg;
  cfg.shuffle_address_list = true;
  auto order = try_order(addrs, cfg, 7);
  CHECK(order != try_order(addrs));
  CHECK(order == try_order(addrs, cfg, 7));
  // Whatever the shuffle, the families alternate (six of each).
  for (std::size_t i = 1; i < order.size(); ++i)
    CHECK((order[i].front() == '[') != (order[i - 1].front() == '['));
}

TEST_CASE("pick_first: TRANSIENT_FAILURE stays sticky while subchannels reconnect after backoff") {
  fixture f{{"a:1", "b:1"}};
  f.fail(f.id[0]);
  f.fail(f.id[1]);
  REQUIRE(f.h.state == cs::transient_failure);
  auto publishes = f.h.publishes();
  f.idle(f.id[0]);
  CHECK(f.h.connect_count(f.id[0]) == 2);  // its backoff ended: reconnected at once
  f.connecting(f.id[0]);
  f.idle(f.id[1]);
  f.connecting(f.id[1]);
  CHECK(f.h.state == cs::transient_failure);
  CHECK(f.h.publishes() == publishes);  // CONNECTING is never published
  f.h.advance(1h);                      // no attempt delay after the first pass
  CHECK(f.h.connects.size() == 4);
  CHECK(f.h.pending_timers() == 0);
  f.ready(f.id[1]);
  CHECK(f.h.state == cs::ready);
  CHECK(f.h.shutdowns == ids{f.id[0]});
}

TEST_CASE("pick_first: after the first pass as many failures as subchannels re-resolve") {
  fixture f{{"a:1", "b:1"}};
  f.fail(f.id[0]);
  f.fail(f.id[1]);
  REQUIRE(f.h.reresolutions == 1);
  auto publishes = f.h.publishes();
  f.idle(f.id[0]);
  f.connecting(f.id[0]);
  f.fail(f.id[0], "reset by peer");
  CHECK(f.h.reresolutions == 1);
  f.idle(f.id[0]);
  f.connecting(f.id[0]);
  f.fail(f.id[0], "timeout");  // two failures, both of a:1: close enough (as in gRPC)
  CHECK(f.h.reresolutions == 2);
  CHECK(f.h.state == cs::transient_failure);
  CHECK(f.h.publishes() == publishes + 1);  // the latest error replaces the old one
  CHECK(fail_message(f.h) == "all 2 addresses failing; last error: timeout (a:1)");
}

TEST_CASE("pick_first: a new address list while failing keeps TRANSIENT_FAILURE until it works") {
  fixture f{{"a:1"}};
  f.fail(f.id[0]);
  REQUIRE(f.h.state == cs::transient_failure);
  f.pf.update_addresses({"c:1", "d:1"}, {});
  auto c = f.h.id_of("c:1");
  auto d = f.h.id_of("d:1");
  CHECK(f.h.connects.back() == c);
  f.connecting(c);
  f.h.advance(250ms);
  CHECK(f.h.connects.back() == d);
  CHECK(f.h.state == cs::transient_failure);
  CHECK(fail_message(f.h) == "all 1 address failing; last error: connection refused (a:1)");
  f.ready(d);
  CHECK(f.h.state == cs::ready);
  CHECK(f.h.shutdowns == ids{f.id[0], c});
}

TEST_CASE(
    "pick_first: a lost connection goes IDLE and the next pass uses the attempt delay again") {
  fixture f{{"a:1", "b:1"}};
  f.ready(f.id[0]);
  f.pf.on_subchannel_update(fake_policy_helper::idle(f.id[0], "goaway"));
  REQUIRE(f.h.state == cs::idle);
  f.h.advance(1h);
  CHECK(f.h.connects == ids{f.id[0]});  // IDLE: nothing until exit_idle
  f.pf.exit_idle();
  CHECK(f.h.state == cs::connecting);
  CHECK(f.h.connects == ids{f.id[0], f.id[0]});
  f.h.advance(250ms);
  CHECK(f.h.connects.back() == f.h.id_of("b:1"));
}

TEST_CASE("pick_first: shutdown with an attempt timer pending does nothing when it fires") {
  fixture f{{"a:1", "b:1"}};
  f.pf.shutdown();
  auto publishes = f.h.publishes();
  f.h.advance(1s);
  CHECK(f.h.connects == ids{f.id[0]});
  CHECK(f.h.publishes() == publishes);
}
