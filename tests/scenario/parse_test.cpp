// The scenario schema: a full file reads into the model; every kind of bad input is an
// INVALID_ARGUMENT naming the line and column, never a crash.
#include <doctest/doctest.h>

#include <achan/scenario_model.hpp>

using namespace achan;
using namespace std::chrono_literals;

namespace {

const char* full = R"(name: full
description: every section
duration: 20s
seed: 4
backends:
  - name: api
    count: 3
    latency: {lognormal: {median: 2ms, sigma: 0.3}}
  - name: solo
    latency: 5ms
    error_rate: 0.1
    error_status: RESOURCE_EXHAUSTED
    health: NOT_SERVING
channel:
  policy: least_request
  policy_config: {choiceCount: 3}
  service_config: '{"loadBalancingConfig": [{"round_robin": {}}]}'
  wait_for_ready: true
  keepalive_time: 1s
  initial: [api]
load:
  concurrency: 8
  deadline: 500ms
  start: 1s
  duration: 15s
timeline:
  - at: 5s
    kill: api-1
  - at: 2s
    add_toxic: {backend: solo, type: latency, latency: 100, jitter: 10, name: lag}
  - at: 6s
    resolver: [api, solo]
  - at: 7s
    set: {backend: api, error_rate: 0.5}
  - at: 8s
    health: {backend: solo, status: SERVING}
expect:
  - failed_calls: {max: 3, status: UNAVAILABLE}
  - latency: {p50: 10ms, p99: 50ms, from: 2s}
  - share: {backend: solo, max: 0.5}
  - state: {channel: READY, by: 2s}
  - subchannel: {backend: api-1, passes: [READY, TRANSIENT_FAILURE]}
  - count: {event: timeline, min: 5}
)";

/// The error message of parsing `yaml` (which must fail).
std::string error_of(const std::string& yaml) {
  auto r = scenario::parse_text(yaml, "t.yaml");
  REQUIRE_FALSE(r);
  CHECK(r.error().code == status_code::invalid_argument);
  return r.error().message;
}

std::string minimal(const std::string& extra, const std::string& load = "concurrency: 1") {
  return "duration: 5s\nbackends:\n  - name: a\n    count: 2\nload: {" + load + "}\n" + extra;
}

}  // namespace

TEST_CASE("scenario: a full file reads into the model with its timeline sorted by time") {
  auto r = scenario::parse_text(full, "full.yaml");
  REQUIRE_MESSAGE(r, r.error().message);
  const auto& sc = *r;
  CHECK(sc.name == "full");
  CHECK(sc.length == 20s);
  CHECK(sc.seed == 4);
  REQUIRE(sc.backends.size() == 2);
  CHECK(sc.instances() == std::vector<std::string>{"api-0", "api-1", "api-2", "solo"});
  CHECK(sc.backends[0].latency.kind == scenario::latency_dist::shape::lognormal);
  CHECK(sc.backends[1].error_status == status_code::resource_exhausted);
  CHECK_FALSE(sc.backends[1].serving);
  CHECK(sc.channel.policy == "least_request");
  CHECK(sc.channel.policy_config == R"({"choiceCount":3})");
  CHECK(sc.channel.initial == std::vector<std::string>{"api-0", "api-1", "api-2"});
  CHECK(sc.load.deadline == std::optional<scenario::duration>{500ms});
  REQUIRE(sc.timeline.size() == 5);
  CHECK(sc.timeline[0].what == scenario::event::kind::add_toxic);  // at 2s, written second
  CHECK(sc.timeline[0].toxic.attributes.at("latency") == 100);
  CHECK(sc.timeline[1].instances == std::vector<std::string>{"api-1"});
  CHECK(sc.timeline[2].instances.size() == 4);
  REQUIRE(sc.expect.size() == 7);  // latency's p50 and p99 are two
  CHECK(sc.expect[1].quantile == 0.5);
  CHECK(sc.expect[2].quantile == 0.99);
  CHECK(sc.expect[1].from == 2s);
}

TEST_CASE("scenario: durations status codes and states") {
  CHECK(scenario::parse_duration("150ms") == std::optional<scenario::duration>{150ms});
  CHECK(scenario::parse_duration("1.5s") == std::optional<scenario::duration>{1500ms});
  CHECK(scenario::parse_duration("2m") == std::optional<scenario::duration>{120s});
  CHECK(scenario::parse_duration("500us") == std::optional<scenario::duration>{500us});
  CHECK(scenario::parse_duration("0") == std::optional<scenario::duration>{0s});
  for (auto bad : {"5", "s", "-1s", "1x", "", "1.2.3s", "9999999h"})
    CHECK_FALSE(scenario::parse_duration(bad));
  CHECK(scenario::parse_status_code("unavailable") == status_code::unavailable);
  CHECK(scenario::parse_status_code("4") == status_code::deadline_exceeded);
  CHECK_FALSE(scenario::parse_status_code("NOPE"));
  CHECK(scenario::parse_state("transient_failure") == connectivity_state::transient_failure);
}

TEST_CASE("scenario: errors name the line and column") {
  CHECK(
      error_of(minimal("bogus: 1\n")).rfind("t.yaml:6:1: unknown key 'bogus' in the scenario", 0) ==
      0);
  CHECK(error_of("duration: 5x\nbackends: [{name: a}]\nload: {concurrency: 1}\n")
            .rfind("t.yaml:1:11: bad duration '5x'", 0) == 0);
  CHECK(error_of(minimal("timeline:\n  - at: 1s\n    kill: b\n"))
            .find("t.yaml:8:11: unknown backend 'b'") != std::string::npos);
  CHECK(error_of(minimal("", "concurrency: 1, rate: 5"))
            .find("exactly one of concurrency and rate") != std::string::npos);
  CHECK(error_of(minimal("timeline:\n  - at: 1s\n    add_toxic: {backend: a, type: warp}\n"))
            .find("warp") != std::string::npos);
  CHECK(error_of(minimal("expect:\n  - count: {event: nope, min: 1}\n"))
            .find("unknown trace event 'nope'") != std::string::npos);
  CHECK(error_of(minimal("expect:\n  - share: {backend: a}\n")).find("needs min or max") !=
        std::string::npos);
  CHECK(
      error_of(minimal("timeline:\n  - at: 9s\n    kill: a\n")).find("after the scenario's end") !=
      std::string::npos);
  CHECK(error_of(minimal("timeline:\n  - at: 1s\n    kill: a\n    restart: a\n"))
            .find("exactly one action") != std::string::npos);
  CHECK(error_of("duration: 5s\nbackends: [{name: a, count: 300}]\nload: {concurrency: 1}\n")
            .find("count must be in 1..256") != std::string::npos);
  CHECK(error_of("duration: 5s\nbackends: [{name: a}, {name: a}]\nload: {concurrency: 1}\n")
            .find("defined twice") != std::string::npos);
  CHECK(error_of(minimal("expect:\n  - latency: {p50: 1ms, backend: a}\n"))
            .find("unknown key 'backend' in latency") != std::string::npos);
  CHECK(error_of(minimal("channel: {service_config: '{not json'}\n"))
            .find("JSON object or a YAML map") != std::string::npos);
}

TEST_CASE("scenario: malformed YAML and wrong shapes are errors too") {
  CHECK(error_of("duration: [5s\n").rfind("t.yaml:", 0) == 0);
  CHECK(error_of("- just\n- a list\n").find("a scenario is a YAML map") != std::string::npos);
  CHECK(error_of("").find("a scenario is a YAML map") != std::string::npos);
  CHECK(error_of("duration: 5s\nbackends: a\nload: {concurrency: 1}\n")
            .find("backends must be a non-empty list") != std::string::npos);
  CHECK(error_of(minimal("expect: {calls: 1}\n")).find("expect must be a list") !=
        std::string::npos);
  CHECK(error_of("duration: 5s\nbackends: [{name: a, latency: {uniform: [5ms, 1ms]}}]\n"
                 "load: {concurrency: 1}\n")
            .find("max is below min") != std::string::npos);
  auto missing = scenario::parse_file("/nonexistent/scenario.yaml");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().code == status_code::not_found);
}
