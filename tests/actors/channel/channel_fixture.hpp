#pragma once
// The channel tests' fixture: a channel over the simulated transport with a manual
// resolver, in virtual time (tests/support/actor_fixture.hpp).
#include <doctest/doctest.h>

#include <map>
#include <string>
#include <vector>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"
#include "tests/support/recorders.hpp"

namespace achan::test {

struct channel_fixture : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  dial_options opts;
  std::vector<call_result> results;

  channel_fixture() {
    opts.transport = sim;
    opts.resolvers.push_back(resolver);
    opts.seed = 1;
  }

  ~channel_fixture() { run(); }  // callbacks may still write to `results`

  channel dial_manual(std::string balancer = "pick_first") {
    opts.lb_policy = std::move(balancer);
    auto ch = achan::dial(sys, "manual:///backends", opts);
    REQUIRE(ch);
    run();
    return *ch;
  }

  /// Dials with `balancer`, pushes `addresses`, connects and runs until quiet.
  channel connected(std::string balancer, std::vector<std::string> addresses) {
    auto ch = dial_manual(std::move(balancer));
    resolver->update(std::move(addresses));
    ch.connect();
    run();
    return ch;
  }

  /// Starts a call whose result lands in `results`.
  call_handle start(channel& ch, call_options o = {}) {
    return ch.call("/echo.Echo/Unary", "hi", std::move(o),
                   [this](call_result&& r) { results.push_back(std::move(r)); });
  }

  std::map<std::string, int> per_peer() const { return test::ok_per_peer(results); }
};

}  // namespace achan::test
