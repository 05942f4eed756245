// dial_options::observer and connections_per_address, over the simulated transport in
// virtual time.
#include <doctest/doctest.h>

#include <map>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;
using kind = channel_event::kind;

namespace {

struct observed : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  dial_options opts;
  std::shared_ptr<std::vector<channel_event>> events =
      std::make_shared<std::vector<channel_event>>();

  observed() {
    opts.transport = sim;
    opts.resolvers.push_back(resolver);
    opts.seed = 1;
    opts.lb_policy = "round_robin";
    opts.observer = [log = events](const channel_event& e) { log->push_back(e); };
  }

  channel dial() {
    auto ch = achan::dial(sys, "manual:///backends", opts);
    REQUIRE(ch);
    run();
    return *ch;
  }

  std::vector<std::string> transitions(const std::string& address) const {
    std::vector<std::string> out;
    for (auto& e : *events)
      if (e.what == kind::subchannel_state && e.address == address)
        out.push_back(std::string{to_string(e.from)} + ">" + std::string{to_string(e.to)});
    return out;
  }
};

}  // namespace

TEST_CASE("observer: sees resolver lists and errors and each subchannel's transitions") {
  observed f;
  auto ch = f.dial();
  f.resolver->update({"10.0.0.1:1", "10.0.0.2:1"});
  ch.connect();
  f.run();
  REQUIRE(!f.events->empty());
  CHECK(f.events->front().what == kind::resolver_update);
  CHECK(f.events->front().addresses == std::vector<std::string>{"10.0.0.1:1", "10.0.0.2:1"});
  CHECK(f.transitions("10.0.0.1:1") ==
        std::vector<std::string>{"IDLE>CONNECTING", "CONNECTING>READY"});
  f.sim->drop("10.0.0.1:1", {status_code::unavailable, "peer went away"});
  f.run();
  bool saw_reason = false;
  for (auto& e : *f.events)
    if (e.what == kind::subchannel_state && e.address == "10.0.0.1:1" && e.from == cs::ready)
      saw_reason = e.reason.find("peer went away") != std::string::npos;
  CHECK(saw_reason);
  f.resolver->update({"10.0.0.2:1"});
  f.run();
  CHECK(f.transitions("10.0.0.1:1").back().ends_with(">SHUTDOWN"));
  f.resolver->fail({status_code::unavailable, "dns says no"});
  f.run();
  CHECK(f.events->back().what == kind::resolver_error);
  CHECK(f.events->back().reason == "dns says no");
}

TEST_CASE("connections_per_address: round_robin spreads calls over K connections per address") {
  observed f;
  f.opts.connections_per_address = 3;
  auto ch = f.dial();
  f.resolver->update({"10.0.0.1:1", "10.0.0.2:1"});
  ch.connect();
  f.run();
  for (auto a : {"10.0.0.1:1", "10.0.0.2:1"}) {
    CHECK(f.sim->stats(a).connects == 3);
    CHECK(f.sim->stats(a).open == 3);
  }
  std::map<std::string, int> peers;
  for (int i = 0; i < 60; ++i)
    ch.call("/echo.Echo/Unary", "hi", {}, [&](call_result&& r) {
      REQUIRE(r.status.ok());
      ++peers[r.peer];
    });
  f.run();
  CHECK(peers == std::map<std::string, int>{{"10.0.0.1:1", 30}, {"10.0.0.2:1", 30}});
}

TEST_CASE("connections_per_address: 0 is rejected at dial time") {
  observed f;
  f.opts.connections_per_address = 0;
  auto ch = achan::dial(f.sys, "manual:///backends", f.opts);
  REQUIRE(!ch);
  CHECK(to_string_with_message(ch.error()).find("connections_per_address") != std::string::npos);
}
