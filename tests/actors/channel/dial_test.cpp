// dial(): clear errors for bad targets and options, and the scheme fallback.
#include <doctest/doctest.h>

#include <achan/channel.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;

namespace {
std::string dial_error(test::actor_fixture& f, std::string_view target, dial_options o = {}) {
  if (!o.transport)
    o.transport = f.sim;
  auto ch = achan::dial(f.sys, target, o);
  return ch ? std::string{} : to_string_with_message(ch.error());
}
}  // namespace

TEST_CASE("dial: malformed targets are rejected at dial time with a message") {
  test::actor_fixture f;
  CHECK(dial_error(f, "").find("invalid_target") == 0);
  CHECK(dial_error(f, "ipv4:1.2.3:80").find("invalid_target") == 0);
  CHECK(dial_error(f, "ipv4:1.2.3.4:99999").find("99999") != std::string::npos);
  CHECK(dial_error(f, "ipv6:[::1").find("invalid_target") == 0);
  CHECK(dial_error(f, "unix://host/path").find("invalid_target") == 0);
  CHECK(dial_error(f, "dns:///host:notaport").find("invalid_target") == 0);
}

TEST_CASE("dial: valid targets of every built-in scheme dial") {
  test::actor_fixture f;
  for (auto t : {"dns:///localhost:50051", "localhost:50051", "127.0.0.1:1", "[::1]:1",
                 "ipv4:127.0.0.1:1,127.0.0.2:2", "ipv6:[::1]:1", "unix:/tmp/s.sock",
                 "unix:///tmp/s.sock", "unix-abstract:name", "passthrough:///anything:1"})
    CHECK_MESSAGE(dial_error(f, t).empty(), t);
}

TEST_CASE("dial: an unregistered scheme falls back to dns with the whole target") {
  test::actor_fixture f;
  dial_options o;
  o.transport = f.sim;
  auto ch = achan::dial(f.sys, "localhost:50051", o);
  REQUIRE(ch);
  CHECK(ch->target().scheme == "dns");
  CHECK(ch->target().endpoint == "localhost:50051");
}

TEST_CASE("dial: unknown balancer and bad backoff are errors") {
  test::actor_fixture f;
  dial_options o;
  o.lb_policy = "weighted_magic";
  CHECK(dial_error(f, "127.0.0.1:1", o) ==
        "unknown_policy: unknown load-balancing policy 'weighted_magic'");
  dial_options b;
  b.backoff.multiplier = 0.5;
  CHECK(dial_error(f, "127.0.0.1:1", b).find("invalid_option") == 0);
  dial_options t;
  t.idle_timeout = -std::chrono::seconds(1);
  CHECK(dial_error(f, "127.0.0.1:1", t) == "invalid_option: idle_timeout must not be negative");
}
