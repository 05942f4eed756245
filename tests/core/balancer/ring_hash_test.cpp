// ring_hash as a policy: lazy connects, sticky TRANSIENT_FAILURE, gRFC A42's aggregate
// state, the proactive connect, random-hash picks (A76) and address updates.
#include "core/balancer/ring_hash.hpp"

#include <doctest/doctest.h>

#include <map>
#include <set>

#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

namespace {

/// What a pick is told about a call.
pick_info info(const metadata* md, std::optional<std::uint64_t> hash = {},
               std::string_view method = {}) {
  pick_info i;
  i.method = method;
  i.md = md;
  i.hash = hash;
  return i;
}

using cs = connectivity_state;
using kind = pick_result::kind;

struct fixture {
  fake_policy_helper h;
  ring_hash rh{h};
  std::vector<std::string> addrs;
  std::vector<subchannel_id> ids;

  explicit fixture(std::vector<std::string> a, std::string cfg = "{}") : addrs(std::move(a)) {
    rh.update_addresses(addrs, lb_config{.name = "ring_hash", .config = std::move(cfg)});
    for (const auto& x : addrs)
      ids.push_back(h.id_of(x));
  }
  const ring_hash_picker& picker() const {
    const auto* p = dynamic_cast<const ring_hash_picker*>(h.picker.get());
    REQUIRE(p != nullptr);
    return *p;
  }
  /// The endpoint (index into addrs) whose ring entry `hash` lands on.
  std::size_t home(std::uint64_t hash) const {
    const auto& ring = picker().ring();
    return ring[ring_index(ring, hash)].endpoint;
  }
  /// A hash whose home is endpoint `i`.
  std::uint64_t hash_for(std::size_t i) const {
    for (std::uint64_t k = 1;; k += 0x9e3779b97f4a7c15ULL)
      if (home(k) == i)
        return k;
  }
  pick_result pick(std::uint64_t hash) const { return h.picker->pick(info(nullptr, hash)); }
  std::string picked(std::uint64_t hash) const {
    auto r = pick(hash);
    REQUIRE(r.what == kind::complete);
    return (*r.conn)->address();
  }
  void update(std::size_t i, cs s) {
    switch (s) {
      case cs::ready:
        rh.on_subchannel_update(h.ready(ids[i]));
        break;
      case cs::connecting:
        rh.on_subchannel_update(fake_policy_helper::connecting(ids[i]));
        break;
      case cs::transient_failure:
        rh.on_subchannel_update(fake_policy_helper::failed(ids[i]));
        break;
      default:
        rh.on_subchannel_update(fake_policy_helper::idle(ids[i]));
    }
  }
};

}  // namespace

TEST_CASE("ring_hash: nothing connects before a pick and an IDLE pick connects its endpoint") {
  fixture f{{"a:1", "b:1", "c:1"}};
  CHECK(f.h.connects.empty());
  CHECK(f.h.async_connects.empty());
  CHECK(f.h.state == cs::idle);
  auto k = f.hash_for(1);
  CHECK(f.pick(k).what == kind::queue);
  CHECK(f.h.async_connects == std::vector<subchannel_id>{f.ids[1]});
  CHECK(f.pick(k).what == kind::queue);  // one request per picker and endpoint
  CHECK(f.h.async_connects.size() == 1);
  f.update(1, cs::connecting);
  CHECK(f.h.state == cs::connecting);
  CHECK(f.pick(k).what == kind::queue);
  CHECK(f.h.async_connects.size() == 1);
  f.update(1, cs::ready);
  CHECK(f.h.state == cs::ready);
  CHECK(f.picked(k) == "b:1");
  CHECK(f.h.connects.empty());  // the policy itself connected nothing
}

TEST_CASE("ring_hash: a TRANSIENT_FAILURE endpoint is skipped for the next one on the ring") {
  fixture f{{"a:1", "b:1", "c:1", "d:1"}};
  auto k = f.hash_for(2);
  f.update(2, cs::transient_failure);  // sticky TF; the proactive connect starts another
  const auto& ring = f.picker().ring();
  std::size_t next = 0;
  for (std::size_t i = ring_index(ring, k);; i = (i + 1) % ring.size())
    if (ring[i].endpoint != 2) {
      next = ring[i].endpoint;
      break;
    }
  auto next_state = f.picker().state(next);
  CHECK(f.pick(k).what == kind::queue);  // the next one is IDLE or CONNECTING
  if (next_state == cs::idle)
    CHECK(f.h.async_connects == std::vector<subchannel_id>{f.ids[next]});
  else
    CHECK(f.h.async_connects.empty());
  for (std::size_t i = 0; i < f.addrs.size(); ++i)
    if (i != 2)
      f.update(i, cs::ready);
  CHECK(f.picked(k) == f.addrs[next]);
}

TEST_CASE("ring_hash: aggregate state follows gRFC A42's rules") {
  struct row {
    std::vector<cs> states;
    cs expect;
  };
  const row rows[] = {
      {{cs::idle, cs::idle, cs::idle}, cs::idle},                                         // 5
      {{cs::connecting, cs::idle, cs::idle}, cs::connecting},                             // 3
      {{cs::ready, cs::transient_failure, cs::transient_failure}, cs::ready},             // 1
      {{cs::transient_failure, cs::transient_failure, cs::idle}, cs::transient_failure},  // 2
      {{cs::transient_failure, cs::transient_failure, cs::connecting}, cs::transient_failure},
      {{cs::transient_failure, cs::idle, cs::idle}, cs::connecting},  // 4
      {{cs::transient_failure, cs::connecting}, cs::connecting},      // 3
      {{cs::transient_failure}, cs::transient_failure},               // 6
      {{cs::idle}, cs::idle},                                         // 5
      {{cs::ready}, cs::ready},                                       // 1
  };
  for (const auto& r : rows) {
    std::vector<std::string> addrs;
    for (std::size_t i = 0; i < r.states.size(); ++i)
      addrs.push_back("h" + std::to_string(i) + ":1");
    fixture f{addrs};
    for (std::size_t i = 0; i < r.states.size(); ++i)
      if (r.states[i] != cs::idle)
        f.update(i, r.states[i]);
    INFO("row of " << r.states.size() << " expecting " << to_string(r.expect));
    CHECK(f.h.state == r.expect);
  }
}

TEST_CASE("ring_hash: without CONNECTING endpoints a failing policy connects the next IDLE one") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.update(0, cs::transient_failure);
  CHECK(f.h.state == cs::connecting);                           // rule 4
  CHECK(f.h.connects == std::vector<subchannel_id>{f.ids[1]});  // without any pick
  CHECK(f.h.reresolutions == 0);
  f.update(1, cs::connecting);
  CHECK(f.h.connects.size() == 1);
  f.update(1, cs::transient_failure);
  CHECK(f.h.state == cs::transient_failure);  // rule 2
  CHECK(f.h.reresolutions == 1);              // on entering TRANSIENT_FAILURE
  CHECK(f.h.connects == std::vector<subchannel_id>{f.ids[1], f.ids[2]});
  f.update(2, cs::ready);
  CHECK(f.h.state == cs::ready);
  for (int i = 0; i < 3; ++i)
    CHECK(f.picked(f.hash_for(static_cast<std::size_t>(i))) == "c:1");
}

TEST_CASE("ring_hash: a failed endpoint stays TRANSIENT_FAILURE while it retries until READY") {
  fixture f{{"a:1", "b:1"}};
  f.update(0, cs::transient_failure);
  CHECK(f.picker().state(0) == cs::transient_failure);
  auto publishes = f.h.publishes();
  auto connects = f.h.connect_count(f.ids[0]);
  f.update(0, cs::idle);  // backoff over: reconnected at once
  CHECK(f.h.connect_count(f.ids[0]) == connects + 1);
  f.update(0, cs::connecting);
  CHECK(f.h.publishes() == publishes);  // still TRANSIENT_FAILURE to pickers
  CHECK(f.picker().state(0) == cs::transient_failure);
  f.update(0, cs::transient_failure);
  CHECK(f.picker().state(0) == cs::transient_failure);
  f.update(0, cs::ready);
  CHECK(f.picker().state(0) == cs::ready);
  CHECK(f.h.state == cs::ready);
}

TEST_CASE("ring_hash: a lost READY connection goes IDLE and waits for a pick") {
  fixture f{{"a:1", "b:1"}};
  f.update(0, cs::ready);
  f.update(1, cs::ready);
  f.rh.on_subchannel_update(fake_policy_helper::idle(f.ids[0], "goaway"));
  CHECK(f.h.reresolutions == 1);
  CHECK(f.h.state == cs::ready);
  CHECK(f.picker().state(0) == cs::idle);
  CHECK(f.h.connect_count(f.ids[0]) == 0);
  auto k = f.hash_for(0);
  CHECK(f.pick(k).what == kind::queue);
  CHECK(f.h.async_connects == std::vector<subchannel_id>{f.ids[0]});
}

TEST_CASE("ring_hash: random-hash picks without a READY endpoint connect one endpoint") {
  fixture f{{"a:1", "b:1", "c:1", "d:1", "e:1"}};
  for (int i = 0; i < 100; ++i)
    CHECK(f.h.picker->pick({}).what == kind::queue);
  REQUIRE(f.h.async_connects.size() == 1);
  auto woken = f.h.async_connects[0];
  std::size_t i = 0;
  while (f.ids[i] != woken)
    ++i;
  f.update(i, cs::connecting);
  for (int n = 0; n < 100; ++n)
    CHECK(f.h.picker->pick({}).what == kind::queue);
  CHECK(f.h.async_connects.size() == 1);
  f.update(i, cs::ready);
  for (int n = 0; n < 100; ++n) {
    auto r = f.h.picker->pick({});
    REQUIRE(r.what == kind::complete);
    CHECK((*r.conn)->address() == f.addrs[i]);
  }
  // As in gRFC A76, a walk that passes an IDLE endpoint before the READY one wakes it,
  // still one per picker: the spread grows one endpoint at a time.
  CHECK(f.h.async_connects.size() <= 2);
}

TEST_CASE("ring_hash: with every endpoint failing picks fail with the first one's error") {
  fixture f{{"127.0.0.1:5000", "127.0.0.1:5001"}};
  f.rh.on_subchannel_update(fake_policy_helper::failed(f.ids[0], "connection refused"));
  f.rh.on_subchannel_update(fake_policy_helper::failed(f.ids[1], "timeout"));
  CHECK(f.h.state == cs::transient_failure);
  auto r = f.pick(f.hash_for(1));
  REQUIRE(r.what == kind::fail);
  CHECK(r.error->code == status_code::unavailable);
  CHECK(r.error->message ==
        "ring_hash found no connected endpoint; first failure: timeout (127.0.0.1:5001)");
  CHECK(f.h.picker->pick({}).what == kind::fail);
}

TEST_CASE("ring_hash: an unchanged list publishes nothing and a new one keeps subchannels") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.update(0, cs::ready);
  auto publishes = f.h.publishes();
  f.rh.update_addresses({"a:1", "b:1", "c:1"}, lb_config{.name = "ring_hash"});
  CHECK(f.h.publishes() == publishes);
  f.rh.update_addresses({"a:1", "c:1", "d:1"}, lb_config{.name = "ring_hash"});
  CHECK(f.h.shutdowns == std::vector<subchannel_id>{f.ids[1]});
  CHECK(f.h.id_of("a:1") == f.ids[0]);
  CHECK(f.h.connect_count(f.h.id_of("d:1")) == 0);  // new subchannels wait for picks
  CHECK(f.h.state == cs::ready);
  CHECK(f.picker().state(0) == cs::ready);
  f.rh.on_subchannel_update(f.h.ready(f.ids[1]));  // late update of a removed one
  CHECK(f.picker().state(1) == cs::idle);
  // A changed config alone rebuilds the ring.
  f.rh.update_addresses({"a:1", "c:1", "d:1"},
                        lb_config{.name = "ring_hash", .config = R"({"minRingSize": 3})"});
  CHECK(f.picker().ring().size() < 10);
}

TEST_CASE("ring_hash: a repeated address weighs its count") {
  fixture f{{"a:1", "b:1", "a:1", "a:1"}};
  CHECK(f.h.created.size() == 2);
  std::map<std::uint32_t, int> per;
  for (const auto& e : f.picker().ring())
    ++per[e.endpoint];
  CHECK(per == std::map<std::uint32_t, int>{{0, 768}, {1, 256}});
}

TEST_CASE("ring_hash: resolver weights set each endpoint's share of the ring") {
  fake_policy_helper h;
  h.weights = {{"a:1", 3}, {"c:1", 0}};  // b:1 none: 1; c:1 0: counts as 1
  ring_hash rh{h};
  rh.update_addresses({"a:1", "b:1", "c:1"}, lb_config{.name = "ring_hash"});
  std::map<std::uint32_t, int> per;
  const auto& ring = dynamic_cast<const ring_hash_picker&>(*h.picker).ring();
  for (const auto& e : ring)
    ++per[e.endpoint];
  CHECK(per[0] == 3 * per[1]);
  CHECK(per[1] == per[2]);
  h.weights = {};  // weights gone: an even ring again
  rh.update_addresses({"a:1", "b:1", "c:1", "a:1"}, lb_config{.name = "ring_hash"});
  per.clear();
  for (const auto& e : dynamic_cast<const ring_hash_picker&>(*h.picker).ring())
    ++per[e.endpoint];
  CHECK(per[0] == 2 * per[1]);  // a duplicate still weighs its count
}

TEST_CASE("ring_hash: ring sizes above the cap are capped") {
  fixture f{{"a:1", "b:1"}, R"({"minRingSize": 8388608, "maxRingSize": 8388608})"};
  CHECK(f.rh.config().min_ring_size == 4096);
  CHECK(f.rh.config().max_ring_size == 4096);
  CHECK(f.picker().ring().size() == 4096);
  fake_policy_helper h;
  ring_hash big{h, 10000};
  big.update_addresses(
      {"a:1"},
      lb_config{.name = "ring_hash", .config = R"({"minRingSize": 8000, "maxRingSize": 8000})"});
  CHECK(dynamic_cast<const ring_hash_picker&>(*h.picker).ring().size() == 8000);
}

TEST_CASE("ring_hash: empty list - resolver error and bad config report TRANSIENT_FAILURE") {
  auto fail_message = [](const fake_policy_helper& h) {
    auto r = h.picker->pick({});
    REQUIRE(r.what == kind::fail);
    return r.error->message;
  };
  fake_policy_helper h;
  ring_hash rh{h};
  rh.resolver_error({status_code::unavailable, "DNS lookup failed"});
  CHECK(h.state == cs::transient_failure);
  CHECK(fail_message(h) == "resolver error: DNS lookup failed");
  rh.update_addresses({"a:1"}, lb_config{.name = "ring_hash", .config = R"({"minRingSize": 0})"});
  CHECK(fail_message(h) ==
        "invalid ring_hash config: ring_hash.minRingSize: must be an integer from 1 to 8388608, "
        "not 0");
  CHECK(h.created.empty());
  rh.update_addresses({"a:1"}, lb_config{.name = "ring_hash"});
  CHECK(h.state == cs::idle);
  rh.resolver_error({status_code::unavailable, "later"});  // keeps serving
  CHECK(h.state == cs::idle);
  rh.update_addresses({}, lb_config{.name = "ring_hash"});
  CHECK(h.state == cs::transient_failure);
  CHECK(fail_message(h) == "resolver returned an empty address list");
  CHECK(h.live_addresses().empty());
  rh.update_addresses({"a:1"}, lb_config{.name = "ring_hash"});
  CHECK(h.state == cs::idle);
}

TEST_CASE("ring_hash: with deferred evaluation a burst publishes one picker at flush") {
  fixture f{{"a:1", "b:1", "c:1"}};
  f.update(0, cs::ready);
  f.h.defer = true;
  auto publishes = f.h.publishes();
  f.update(1, cs::ready);
  f.update(2, cs::connecting);
  CHECK(f.h.publishes() == publishes);
  f.rh.flush();
  CHECK(f.h.publishes() == publishes + 1);
  CHECK(f.picker().state(1) == cs::ready);
  CHECK(f.picker().state(2) == cs::connecting);
  f.rh.flush();
  CHECK(f.h.publishes() == publishes + 1);
}

TEST_CASE("ring_hash: shutdown shuts down every subchannel and ignores later calls") {
  fixture f{{"a:1", "b:1"}};
  f.update(0, cs::ready);
  auto publishes = f.h.publishes();
  f.rh.shutdown();
  CHECK(f.h.live_addresses().empty());
  f.update(1, cs::ready);
  f.rh.update_addresses({"c:1"}, lb_config{.name = "ring_hash"});
  f.rh.resolver_error({status_code::unavailable, "x"});
  CHECK(f.h.publishes() == publishes);
  CHECK(f.h.created.size() == 2);
}
