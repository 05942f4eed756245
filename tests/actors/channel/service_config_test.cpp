// Service config delivery and per-method settings (gRFC A21, service_config.md) through
// the whole control plane over the simulated transport, in virtual time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <achan/channel.hpp>
#include <achan/errors.hpp>
#include "tests/support/manual_channel.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;
using mode = transport::sim_behavior::connect_mode;

namespace {

/// A config whose echo.Echo methods have `settings` (a JSON object body, without braces).
std::string echo_config(const std::string& settings) {
  return R"({"methodConfig": [{"name": [{"service": "echo.Echo"}], )" + settings + "}]}";
}

struct config_fixture : test::manual_channel_fixture {
  config_fixture() : manual_channel_fixture(5) {}

  void start(channel& ch, call_options o = {}, std::string payload = "hi") {
    ch.call("/echo.Echo/Unary", std::move(payload), std::move(o), record());
  }
};

}  // namespace

TEST_CASE("service_config: dial rejects an invalid default config naming the JSON path") {
  config_fixture f;
  f.opts.service_config = echo_config(R"("timeout": "soon")");
  auto ch = achan::dial(f.sys, "manual:///backends", f.opts);
  REQUIRE(!ch);
  auto text = to_string_with_message(ch.error());
  CHECK(text.find("invalid_option") == 0);
  CHECK(text.find("methodConfig[0].timeout") != std::string::npos);
}

TEST_CASE("service_config: the method timeout bounds a call without its own deadline") {
  config_fixture f;
  f.opts.service_config = echo_config(R"("timeout": "0.1s")");
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, {}, true, 1s});
  auto ch = f.dial();
  f.resolver->update({"10.0.0.1:1"});
  auto t0 = f.now();
  f.start(ch);
  f.advance(2s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  (void)t0;
  // The call's own shorter timeout wins.
  call_options o;
  o.timeout = 20ms;
  f.results.clear();
  auto t1 = f.now();
  f.start(ch, o);
  f.advance(19ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.now() - t1 == 20ms);
}

TEST_CASE("service_config: waitForReady from the config queues through TRANSIENT_FAILURE") {
  config_fixture f;
  f.opts.service_config = echo_config(R"("waitForReady": true)");
  f.sim->set_behavior("10.0.0.1:1", {mode::refuse});
  auto ch = f.dial();
  f.resolver->update({"10.0.0.1:1"});
  ch.connect();
  f.run();
  REQUIRE(ch.state() == cs::transient_failure);
  f.start(ch);
  call_options fail_fast;
  fail_fast.wait_for_ready = false;  // the call's own choice wins
  f.start(ch, fail_fast);
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  f.sim->set_behavior("10.0.0.1:1", {});
  f.advance(5s);
  REQUIRE(f.results.size() == 2);
  CHECK(f.results[1].status.ok());
}

TEST_CASE("service_config: a request over maxRequestMessageBytes fails RESOURCE_EXHAUSTED") {
  config_fixture f;
  f.opts.service_config = echo_config(R"("maxRequestMessageBytes": 4)");
  auto ch = f.dial();
  f.resolver->update({"10.0.0.1:1"});
  f.start(ch, {}, "12345");
  f.start(ch, {}, "1234");
  f.advance(1s);
  REQUIRE(f.results.size() == 2);
  CHECK(f.results[0].status.code == status_code::resource_exhausted);
  CHECK(f.results[0].status.message.find("maxRequestMessageBytes") != std::string::npos);
  CHECK(f.results[1].status.ok());
}

TEST_CASE("service_config: the resolver's config applies to calls made before it answered") {
  config_fixture f;
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, {}, true, 1s});
  auto ch = f.dial();
  f.start(ch);  // waits: the resolver has not answered
  f.run();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, echo_config(R"("timeout": "0.2s")"));
  f.advance(300ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
}

TEST_CASE("service_config: an invalid resolver config keeps the previous one") {
  config_fixture f;
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, {}, true, 1s});
  auto ch = f.dial();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, echo_config(R"("timeout": "0.2s")"));
  ch.connect();
  f.run();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, R"({"methodConfig": 3})");
  f.run();
  f.start(ch);
  f.advance(300ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
}

TEST_CASE("service_config: an invalid first config without a default fails calls UNAVAILABLE") {
  config_fixture f;
  auto ch = f.dial();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, R"({"methodConfig": [)");
  ch.connect();
  f.run();
  CHECK(ch.state() == cs::transient_failure);
  f.start(ch);
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.results[0].status.message.find("invalid service config") != std::string::npos);
  // A valid one later brings the channel up.
  f.resolver->update_with_service_config({"10.0.0.1:1"}, "{}");
  f.run();
  CHECK(ch.state() == cs::ready);
}

TEST_CASE("service_config: an invalid first config with a default uses the default") {
  config_fixture f;
  f.opts.service_config = echo_config(R"("timeout": "0.1s")");
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, {}, true, 1s});
  auto ch = f.dial();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, "not json");
  f.start(ch);
  f.advance(200ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
}

TEST_CASE("service_config: disable_resolver_service_config keeps the default") {
  config_fixture f;
  f.opts.disable_resolver_service_config = true;
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, {}, true, 100ms});
  auto ch = f.dial();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, echo_config(R"("timeout": "0.01s")"));
  f.start(ch);
  f.advance(1s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
}

TEST_CASE("service_config: loadBalancingConfig from the resolver switches the policy") {
  config_fixture f;
  auto ch = f.dial();
  f.resolver->update_with_service_config(
      {"10.0.0.1:1", "10.0.0.2:1"},
      R"({"loadBalancingConfig": [{"no_such": {}}, {"round_robin": {}}]})");
  ch.connect();
  f.run();
  for (int i = 0; i < 10; ++i)
    f.start(ch);
  f.run();
  CHECK(f.sim->stats("10.0.0.1:1").calls == 5);
  CHECK(f.sim->stats("10.0.0.2:1").calls == 5);
}

TEST_CASE("service_config: a config change applies to new calls only") {
  config_fixture f;
  f.sim->set_behavior("10.0.0.1:1", {mode::accept, {}, true, 500ms});
  auto ch = f.dial();
  f.resolver->update_with_service_config({"10.0.0.1:1"}, "{}");
  ch.connect();
  f.run();
  f.start(ch);  // no timeout
  f.resolver->update_with_service_config({"10.0.0.1:1"}, echo_config(R"("timeout": "0.1s")"));
  f.run();
  f.start(ch);
  f.advance(1s);
  REQUIRE(f.results.size() == 2);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);  // the new call, at 100 ms
  CHECK(f.results[1].status.ok());                                    // the old one, at 500 ms
}
