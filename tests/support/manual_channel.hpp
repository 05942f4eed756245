#pragma once
/// A channel over the simulated transport whose addresses (and service configs) a test
/// pushes through a manual resolver, in virtual time: the common part of the channel
/// tests' fixtures.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"

namespace achan::test {

struct manual_channel_fixture : actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  dial_options opts;
  std::vector<call_result> results;  ///< what the calls started with record() ended with

  explicit manual_channel_fixture(std::uint64_t seed) {
    opts.transport = sim;
    opts.resolvers.push_back(resolver);
    opts.seed = seed;
  }
  ~manual_channel_fixture() { run(); }  // completions may still write to `results`

  /// Dials "manual:///backends" with `opts` (must succeed).
  channel dial() {
    auto ch = achan::dial(sys, "manual:///backends", opts);
    REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
    run();
    return *ch;
  }
  /// Dials, pushes `addresses`, connects and runs until quiet; the channel must be READY.
  channel connected(std::vector<std::string> addresses) {
    auto ch = dial();
    resolver->update(std::move(addresses));
    ch.connect();
    run();
    REQUIRE(ch.state() == connectivity_state::ready);
    return ch;
  }
  /// A completion that appends to `results`.
  std::function<void(call_result&&)> record() {
    return [this](call_result&& r) { results.push_back(std::move(r)); };
  }
};

}  // namespace achan::test
