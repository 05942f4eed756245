#include "core/balancer/subchannel_list.hpp"

#include <doctest/doctest.h>

#include "tests/support/fake_policy_helper.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

namespace {

std::vector<std::string> addresses_of(const subchannel_list& list) {
  std::vector<std::string> out;
  for (const auto& e : list.entries())
    out.push_back(e.address);
  return out;
}

}  // namespace

TEST_CASE("subchannel_list: creates one IDLE subchannel per new address - in order") {
  fake_policy_helper h;
  subchannel_list list;
  CHECK(list.update({"a:1", "b:1", "c:1"}, h));
  CHECK(addresses_of(list) == std::vector<std::string>{"a:1", "b:1", "c:1"});
  CHECK(h.created.size() == 3);
  CHECK(h.connects.empty());
  for (const auto& e : list.entries())
    CHECK(e.state == connectivity_state::idle);
  CHECK(list.counter().count(connectivity_state::idle) == 3);
}

TEST_CASE("subchannel_list: collapses duplicate addresses to the first occurrence") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1", "b:1", "a:1", "b:1"}, h);
  CHECK(addresses_of(list) == std::vector<std::string>{"a:1", "b:1"});
  CHECK(h.created.size() == 2);
}

TEST_CASE("subchannel_list: update keeps staying entries and shuts down removed ones") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1", "b:1", "c:1"}, h);
  auto a = h.id_of("a:1"), b = h.id_of("b:1"), c = h.id_of("c:1");
  list.apply(h.ready(b));

  CHECK(list.update({"d:1", "b:1", "a:1"}, h));
  CHECK(addresses_of(list) == std::vector<std::string>{"d:1", "b:1", "a:1"});
  CHECK(h.shutdowns == std::vector<subchannel_id>{c});
  CHECK(h.created.size() == 4);
  REQUIRE(list.find(b) != nullptr);
  CHECK(list.find(b)->state == connectivity_state::ready);
  CHECK(list.find(b)->conn != nullptr);
  CHECK(list.find(a)->id == a);
  CHECK(list.find(c) == nullptr);
  CHECK(list.counter().count(connectivity_state::ready) == 1);
  CHECK(list.counter().count(connectivity_state::idle) == 2);
}

TEST_CASE("subchannel_list: unchanged or reordered list reports no change") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1", "b:1"}, h);
  CHECK_FALSE(list.update({"a:1", "b:1"}, h));
  CHECK_FALSE(list.update({"b:1", "a:1", "b:1"}, h));
  CHECK(addresses_of(list) == std::vector<std::string>{"b:1", "a:1"});
  CHECK(h.created.size() == 2);
  CHECK(h.shutdowns.empty());
}

TEST_CASE("subchannel_list: apply returns the old state and keeps the counter in sync") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1", "b:1"}, h);
  auto a = h.id_of("a:1");
  CHECK(list.apply(fake_policy_helper::connecting(a)) == connectivity_state::idle);
  CHECK(list.counter().aggregate() == connectivity_state::connecting);
  CHECK(list.apply(fake_policy_helper::failed(a, "refused")) == connectivity_state::connecting);
  CHECK(list.find(a)->last_error.message == "refused");
  CHECK(list.counter().count(connectivity_state::transient_failure) == 1);
  CHECK(list.counter().count(connectivity_state::idle) == 1);
  CHECK_FALSE(list.apply(fake_policy_helper::connecting(999)).has_value());
}

TEST_CASE("subchannel_list: conn is kept only while READY") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1"}, h);
  auto a = h.id_of("a:1");
  list.apply(h.ready(a));
  CHECK(list.find(a)->conn != nullptr);
  list.apply(fake_policy_helper::idle(a, "goaway"));
  CHECK(list.find(a)->conn == nullptr);
  CHECK(list.find(a)->last_error.message == "goaway");
}

TEST_CASE("subchannel_list: failure summary names the count - last error and its address") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"127.0.0.1:5000", "127.0.0.1:5001", "127.0.0.1:5002"}, h);
  CHECK(list.failure_summary() == "all 3 addresses failing");
  list.apply(fake_policy_helper::failed(h.id_of("127.0.0.1:5000"), "timeout"));
  list.apply(fake_policy_helper::failed(h.id_of("127.0.0.1:5001"), "connection refused"));
  CHECK(list.failure_summary() ==
        "all 3 addresses failing; last error: connection refused (127.0.0.1:5001)");
  list.update({"127.0.0.1:5000"}, h);
  CHECK(list.failure_summary() == "all 1 address failing");
}

TEST_CASE("subchannel_list: remove and shutdown_all shut subchannels down") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1", "b:1", "c:1"}, h);
  auto b = h.id_of("b:1");
  CHECK(list.remove(b, h));
  CHECK_FALSE(list.remove(b, h));
  CHECK(h.shutdowns == std::vector<subchannel_id>{b});
  list.shutdown_all(h);
  CHECK(list.empty());
  CHECK(h.shutdowns.size() == 3);
  CHECK(h.live_addresses().empty());
  CHECK(list.counter().count(connectivity_state::idle) == 0);
}

TEST_CASE("subchannel_list: retain_only keeps one entry and shuts the rest down in order") {
  fake_policy_helper h;
  subchannel_list list;
  list.update({"a:1", "b:1", "c:1", "d:1"}, h);
  auto a = h.id_of("a:1"), b = h.id_of("b:1"), c = h.id_of("c:1"), d = h.id_of("d:1");
  list.apply(fake_policy_helper::failed(b));
  list.apply(h.ready(c));
  CHECK_FALSE(list.retain_only(99, h));
  CHECK(list.size() == 4);
  CHECK(list.retain_only(c, h));
  CHECK(h.shutdowns == std::vector<subchannel_id>{a, b, d});
  CHECK(addresses_of(list) == std::vector<std::string>{"c:1"});
  CHECK(list.find(c) != nullptr);
  CHECK(list.find(c)->conn != nullptr);
  CHECK(list.find(a) == nullptr);
  CHECK(list.last_failure() == nullptr);  // b's failure went with it
  CHECK(list.counter().aggregate() == connectivity_state::ready);
  CHECK(list.counter().count(connectivity_state::idle) == 0);
  CHECK(list.counter().count(connectivity_state::transient_failure) == 0);
  CHECK_FALSE(list.apply(h.ready(d)));  // late updates of removed entries are ignored
}
