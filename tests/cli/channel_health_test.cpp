// Client-side health checking through a whole channel (gRFC A17 with a service config's
// healthCheckConfig): round_robin drains a backend that reports NOT_SERVING and takes it
// back when it is SERVING again; achan servers with testkit/health_service on loopback.
#include <doctest/doctest.h>

#include <condition_variable>
#include <map>
#include <memory>
#include <mutex>
#include <vector>

#include <achan/channel.hpp>
#include "testkit/echo_service.hpp"
#include "testkit/health_service.hpp"
#include "tests/cli/loopback.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace std::chrono_literals;
using testkit::serving_status;

namespace {

struct backend {
  transport::h2_server server;
  std::shared_ptr<void> echo;
  std::shared_ptr<testkit::health_service> health;
  std::string address;
  explicit backend(const std::string& name)
      : echo(testkit::add_echo_service(server, name)),
        health(testkit::health_service::add(server, {"achan.test.Echo"})),
        address(test::listen_loopback(server)) {}
};

/// The subchannel states the channel's observer reports, handed to the test thread.
struct state_log : std::enable_shared_from_this<state_log> {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<channel_event> events;

  /// The observer keeps the log alive: the balancer may report after the test's scope.
  channel_observer observer() {
    return [self = shared_from_this()](const channel_event& e) {
      std::lock_guard lk{self->mx};
      self->events.push_back(e);
      self->cv.notify_all();
    };
  }
  /// Waits (at most 10 s) until `address` has gone to `to` since event number `from`.
  bool wait_for(const std::string& address, connectivity_state to, std::size_t from) {
    std::unique_lock lk{mx};
    return cv.wait_for(lk, 10s, [&] {
      for (auto i = from; i < events.size(); ++i)
        if (events[i].what == channel_event::kind::subchannel_state &&
            events[i].address == address && events[i].to == to)
          return true;
      return false;
    });
  }
  std::size_t size() {
    std::lock_guard lk{mx};
    return events.size();
  }
};

/// Rounds of answers() until one equals `want` (at most 20 rounds): the observer hears of a
/// state change just before the channel installs the picker built from it, so the first
/// calls after the event may still use the previous picker.
std::map<std::string, int> settle(channel& ch, const std::map<std::string, int>& want);

/// Which server answers each of 20 calls.
std::map<std::string, int> answers(channel& ch) {
  std::map<std::string, int> counts;
  for (int i = 0; i < 20; ++i) {
    auto r = ch.call("/achan.test.Echo/Unary", test::echo_request("x"), test::within(5s)).get();
    REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
    ++counts[test::echo_reply(r).server()];
  }
  return counts;
}

std::map<std::string, int> settle(channel& ch, const std::map<std::string, int>& want) {
  std::map<std::string, int> got;
  for (int round = 0; round < 20 && got != want; ++round)
    got = answers(ch);
  return got;
}

}  // namespace

TEST_CASE("health: a NOT_SERVING backend is drained by round_robin and comes back") {
  backend a{"a"}, b{"b"};
  test::dialer d;
  auto logp = std::make_shared<state_log>();
  auto& log = *logp;
  dial_options o;
  o.observer = log.observer();
  o.service_config = R"({"loadBalancingConfig": [{"round_robin": {}}],
                         "healthCheckConfig": {"serviceName": "achan.test.Echo"}})";
  auto ch = achan::dial(*d.sys, "ipv4:" + a.address + "," + b.address, o);
  REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
  ch->connect();
  REQUIRE(log.wait_for(a.address, connectivity_state::ready, 0));
  REQUIRE(log.wait_for(b.address, connectivity_state::ready, 0));
  CHECK(settle(*ch, {{"a", 10}, {"b", 10}}) == std::map<std::string, int>{{"a", 10}, {"b", 10}});

  auto mark = log.size();
  a.health->set_status("achan.test.Echo", serving_status::not_serving);
  REQUIRE(log.wait_for(a.address, connectivity_state::transient_failure, mark));
  CHECK(settle(*ch, {{"b", 20}}) == std::map<std::string, int>{{"b", 20}});

  mark = log.size();
  a.health->set_status("achan.test.Echo", serving_status::serving);
  REQUIRE(log.wait_for(a.address, connectivity_state::ready, mark));
  CHECK(settle(*ch, {{"a", 10}, {"b", 10}}) == std::map<std::string, int>{{"a", 10}, {"b", 10}});
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
