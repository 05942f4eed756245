// Client-side health checking through a whole channel (gRFC A17 with a service config's
// healthCheckConfig): round_robin drains a backend that reports NOT_SERVING and takes it
// back when it is SERVING again; achan servers with cli/health_service on loopback.
#include <doctest/doctest.h>

#include <map>
#include <thread>

#include <achan/channel.hpp>
#include "cli/health_service.hpp"
#include "testkit/echo_service.hpp"
#include "tests/cli/loopback.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cli::serving_status;

namespace {

struct backend {
  transport::h2_server server;
  std::shared_ptr<void> echo;
  std::shared_ptr<cli::health_service> health;
  std::string address;
  explicit backend(const std::string& name)
      : echo(testkit::add_echo_service(server, name)),
        health(cli::health_service::add(server, {"achan.test.Echo"})),
        address(test::listen_loopback(server)) {}
};

/// Calls until `want` (a set of server names) is exactly who answers 20 calls in a row,
/// within 10 s (bounded; the channel moves at its own pace). Returns the last counts.
std::map<std::string, int> settle(channel& ch, const std::map<std::string, int>& shape) {
  std::map<std::string, int> counts;
  auto until = std::chrono::steady_clock::now() + 10s;
  while (std::chrono::steady_clock::now() < until) {
    counts.clear();
    for (int i = 0; i < 20; ++i) {
      auto r = ch.call("/achan.test.Echo/Unary", test::echo_request("x"), test::within(5s)).get();
      REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
      ++counts[test::echo_reply(r).server()];
    }
    bool same = counts.size() == shape.size();
    for (auto& [name, _] : shape)
      same = same && counts.count(name);
    if (same)
      return counts;
    std::this_thread::sleep_for(20ms);  // give the Watch streams a moment, bounded above
  }
  return counts;
}

}  // namespace

TEST_CASE("health: a NOT_SERVING backend is drained by round_robin and comes back") {
  backend a{"a"}, b{"b"};
  test::dialer d;
  dial_options o;
  o.block_until_ready = 10s;
  o.service_config = R"({"loadBalancingConfig": [{"round_robin": {}}],
                         "healthCheckConfig": {"serviceName": "achan.test.Echo"}})";
  auto ch = achan::dial(*d.sys, "ipv4:" + a.address + "," + b.address, o);
  REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
  CHECK(settle(*ch, {{"a", 1}, {"b", 1}}).size() == 2);
  a.health->set_status("achan.test.Echo", serving_status::not_serving);
  auto drained = settle(*ch, {{"b", 1}});
  CHECK(drained == std::map<std::string, int>{{"b", 20}});
  a.health->set_status("achan.test.Echo", serving_status::serving);
  CHECK(settle(*ch, {{"a", 1}, {"b", 1}}).size() == 2);
  std::map<std::string, int> even;  // both READY again: strict alternation
  for (int i = 0; i < 20; ++i)
    ++even[test::echo_reply(
               ch->call("/achan.test.Echo/Unary", test::echo_request("x"), test::within(5s)).get())
               .server()];
  CHECK(even == std::map<std::string, int>{{"a", 10}, {"b", 10}});
}

TEST_CASE("health: pick_first ignores healthCheckConfig") {
  backend a{"a"};
  a.health->set_status("achan.test.Echo", serving_status::not_serving);
  test::dialer d;
  dial_options o;
  o.block_until_ready = 10s;
  o.service_config = R"({"healthCheckConfig": {"serviceName": "achan.test.Echo"}})";
  auto ch = achan::dial(*d.sys, "ipv4:" + a.address, o);
  REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
  auto r = ch->call("/achan.test.Echo/Unary", test::echo_request("x"), test::within(5s)).get();
  CHECK(r.status.ok());
}
