// start_call and reroute_call carry a call and end it if they are dropped unhandled: a
// copy of one dropped after the channel took the call from another must not end it.
#include <doctest/doctest.h>

#include <memory>
#include <optional>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "actors/channel_protocol.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace achan;

namespace {

struct channel_fixture : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  std::vector<call_result> results;  // outlives the channel's calls
  std::optional<channel> ch;

  channel_fixture() {
    dial_options opts;
    opts.transport = sim;
    opts.resolvers.push_back(resolver);
    opts.seed = 1;
    auto c = achan::dial(sys, "manual:///backends", opts);
    REQUIRE(c);
    ch = *c;
    run();
  }
  ~channel_fixture() {
    ch->close();
    run();
  }

  /// A wait_for_ready call the test hands to the channel actor itself.
  call_ptr make() {
    return std::make_shared<call>(1, "/echo.Echo/Unary", "hi", metadata{}, time_point::max(),
                                  /*wait_for_ready=*/true,
                                  [this](call_result&& r) { results.push_back(std::move(r)); });
  }

  /// Sends a copy of `msg` to the channel, lets it take the call, then drops `msg`;
  /// then gives the channel a backend. The call must be served, not ended by the copy.
  template <class Message>
  void check_served_after_dropping_a_copy() {
    std::optional<Message> msg;
    msg.emplace(make());
    caf::anon_send(caf::actor_cast<channel_control>(ch->actor()), *msg);
    run();
    msg.reset();
    run();
    CHECK(results.empty());  // still waiting for a subchannel
    resolver->update({"10.0.0.1:1"});
    ch->connect();
    run();
    REQUIRE(results.size() == 1);
    CHECK(results[0].status.ok());
  }
};

}  // namespace

TEST_CASE("start_call: a copy dropped after the channel took the call does not cancel it") {
  channel_fixture f;
  f.check_served_after_dropping_a_copy<start_call>();
}

TEST_CASE("reroute_call: a copy dropped after the channel took the call does not fail it") {
  channel_fixture f;
  f.check_served_after_dropping_a_copy<reroute_call>();
}

TEST_CASE("start_call: copies dropped unhandled end the call once with CANCELLED") {
  channel_fixture f;
  {
    start_call s{f.make()};
    auto copy = s;
  }
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
}
