#include "core/balancer/least_request.hpp"

#include <doctest/doctest.h>

#include "core/balancer/registry.hpp"
#include "tests/support/load_sim.hpp"

using namespace achan;
using achan::test::fake_policy_helper;
using achan::test::load_sim;

namespace {

const std::vector<std::string> four{"a:1", "b:1", "c:1", "d:1"};

struct fixture {
  fake_policy_helper h{7};
  least_request lr{h};
  explicit fixture(std::string config = "{}", std::vector<std::string> addrs = four) {
    lr.update_addresses(addrs, lb_config{"least_request", false, std::move(config)});
    achan::test::make_all_ready(h, lr, addrs);
  }
};

}  // namespace

TEST_CASE("least_request: config choiceCount defaults to 2 and is clamped to 2..10") {
  CHECK(parse_least_request_config("{}", "p")->choice_count == 2);
  CHECK(parse_least_request_config(R"({"choiceCount": 1})", "p")->choice_count == 2);
  CHECK(parse_least_request_config(R"({"choiceCount": 7})", "p")->choice_count == 7);
  CHECK(parse_least_request_config(R"({"choiceCount": 99})", "p")->choice_count == 10);
  auto bad = parse_least_request_config(R"({"choiceCount": "x"})", "lbc[0].least_request");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().code == status_code::invalid_argument);
  CHECK(bad.error().message ==
        "lbc[0].least_request.choiceCount: must be a non-negative integer, not \"x\"");
  CHECK_FALSE(parse_least_request_config(R"({"choiceCount": -3})", "p"));
  CHECK_FALSE(parse_least_request_config("[]", "p"));
}

TEST_CASE("least_request: the registry validates its config under both names") {
  auto& r = policy_registry::builtins();
  CHECK(r.find("least_request"));
  CHECK(r.find("least_request_experimental"));
  CHECK(r.config_error("least_request", R"({"choiceCount": 3})", "x").empty());
  CHECK(r.config_error("least_request_experimental", R"({"choiceCount": 1.5})", "x") ==
        "x.choiceCount: must be a non-negative integer, not 1.5");
}

TEST_CASE("least_request: a pick counts an outstanding call until its tracker ends it") {
  fixture f;
  auto r = f.h.picker->pick({});
  REQUIRE(r.what == pick_result::kind::complete);
  REQUIRE(r.trackers[0] != nullptr);
  CHECK(r.trackers[1] == nullptr);
  auto addr = (*r.conn)->address();
  CHECK(f.lr.tracker(addr)->outstanding.load() == 1);
  status ok;
  metadata none;
  r.trackers[0]->on_call_end(call_outcome{ok, none, f.h.now(), true});
  CHECK(f.lr.tracker(addr)->outstanding.load() == 0);
}

TEST_CASE("least_request: outstanding counts fed back by the picks keep two addresses balanced") {
  fixture f{"{}", {"a:1", "b:1"}};
  // Hold 5 calls on whichever address gets them; then every pick must prefer the other
  // whenever both are drawn.
  std::map<std::string, int> held;
  for (int i = 0; i < 200; ++i) {
    auto r = f.h.picker->pick({});
    ++held[(*r.conn)->address()];
  }
  // With outstanding counts fed back by the picks themselves, two addresses stay within
  // one of each other whenever both are drawn (P(both drawn) = 1/2 per pick).
  CHECK(std::abs(held["a:1"] - held["b:1"]) < 40);
}

TEST_CASE("least_request: avoids a slow subchannel where round robin would not") {
  fixture f;
  load_sim sim{f.h};
  sim.backends["d:1"].latency = std::chrono::milliseconds{20};
  auto picks = sim.run(20000, 32);
  MESSAGE("slow share: " << picks["d:1"] / 20000.0);
  CHECK(picks["d:1"] < 2000);  // < 10 %; round robin sends 25 %
  CHECK(picks["a:1"] > 5000);
}

TEST_CASE("least_request: the same seed gives the same distribution") {
  auto run = [] {
    fixture f;
    load_sim sim{f.h};
    sim.backends["b:1"].latency = std::chrono::milliseconds{3};
    return sim.run(3000, 8);
  };
  CHECK(run() == run());
}

TEST_CASE("least_request: outstanding counts survive a picker rebuild and removed addresses go") {
  fixture f;
  auto r = f.h.picker->pick({});
  r.trackers[0]->retain();  // as the call holds it
  auto addr = (*r.conn)->address();
  // Another address leaves READY: a new picker, the same tracker.
  auto other = addr == "a:1" ? std::string{"b:1"} : std::string{"a:1"};
  f.lr.on_subchannel_update(fake_policy_helper::idle(f.h.id_of(other)));
  CHECK(f.lr.tracker(addr)->outstanding.load() == 1);
  std::vector<std::string> rest;
  for (auto& a : four)
    if (a != addr)
      rest.push_back(a);
  f.lr.update_addresses(rest, lb_config{"least_request"});
  CHECK(f.lr.tracker(addr) == nullptr);
  // The picked call still ends safely: its tracker lives as long as a reference does.
  status ok;
  metadata none;
  f.lr.update_addresses(four, lb_config{"least_request"});
  r.trackers[0]->on_call_end(call_outcome{ok, none, f.h.now(), true});
  r.trackers[0]->release();
}
