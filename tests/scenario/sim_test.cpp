// run_sim: a seed fixes the trace; each fault does what docs/scenarios.md says; an
// expectation that does not hold fails the run.
#include <doctest/doctest.h>

#include <achan/scenario.hpp>

#include <sstream>

using namespace achan;
using namespace std::chrono_literals;
using kind = scenario::trace_event::kind;

namespace {

scenario::scenario parsed(const std::string& yaml) {
  auto r = scenario::parse_text(yaml, "test.yaml");
  REQUIRE_MESSAGE(r, r.error().message);
  return *r;
}

/// Three round-robin backends with random latency, 4 calls in flight for 3 s, and `rest`.
std::string three(const std::string& rest, const std::string& channel = "") {
  return "duration: 3s\n"
         "backends:\n"
         "  - name: b\n"
         "    count: 3\n"
         "    latency: {exponential: {mean: 5ms}}\n"
         "channel: {policy: round_robin" +
         channel +
         "}\n"
         "load: {concurrency: 4, deadline: 1s}\n" +
         rest;
}

std::size_t count(const scenario::run_result& r, kind k, status_code c = status_code::ok,
                  bool any_code = true) {
  std::size_t n = 0;
  for (const auto& e : r.trace.events)
    n += e.what == k && (any_code || e.code == c);
  return n;
}

const scenario::verdict& verdict_at(const scenario::run_result& r, std::size_t i) {
  REQUIRE(r.verdicts.size() > i);
  return r.verdicts[i];
}

}  // namespace

TEST_CASE("scenario sim: the same seed gives the same trace and another seed another") {
  auto sc = parsed(three("timeline:\n  - at: 1s\n    kill: b-0\n  - at: 2s\n    restart: b-0\n"));
  auto a = scenario::run_sim(sc, 1);
  auto b = scenario::run_sim(sc, 1);
  auto c = scenario::run_sim(sc, 2);
  REQUIRE_FALSE(a.error);
  CHECK(a.trace.events.size() > 1000);
  std::ostringstream ta, tb;
  a.trace.write_jsonl(ta);
  b.trace.write_jsonl(tb);
  CHECK(ta.str() == tb.str());
  CHECK(a.trace.digest() == b.trace.digest());
  CHECK(a.trace.digest() != c.trace.digest());  // latencies are drawn from the seed
  // Every call that started ended, exactly once.
  CHECK(count(a, kind::call_start) == count(a, kind::call_end));
  CHECK(a.figures.calls == count(a, kind::call_end));
  // Virtual time: the whole scenario, in much less wall time than it covers.
  CHECK(a.figures.simulated >= 3s);
}

TEST_CASE("scenario sim: a kill fails the calls on the wire and round_robin moves on") {
  auto sc =
      parsed(three("timeline:\n  - at: 1s\n    kill: b-0\n"
                   "expect:\n"
                   "  - failed_calls: {max: 0, to: 1s}\n"
                   "  - share: {backend: b-0, max: 0, from: 1100ms}\n"
                   "  - subchannel: {backend: b-0, passes: [READY, TRANSIENT_FAILURE]}\n"));
  auto r = scenario::run_sim(sc, 3);
  REQUIRE_FALSE(r.error);
  CHECK(r.passed());
  // Without retries the calls in flight on b-0 at the kill fail UNAVAILABLE.
  auto failed = count(r, kind::call_end, status_code::unavailable, false);
  CHECK(failed >= 1);
  CHECK(failed <= 4);
  CHECK(r.figures.ok_by_backend[0] > 0);
  CHECK(count(r, kind::timeline) == 1);
}

TEST_CASE("scenario sim: an expectation that does not hold fails the run") {
  auto sc =
      parsed(three("expect:\n"
                   "  - share: {backend: b-1, max: 0.1}\n"
                   "  - latency: {p99: 1ms}\n"
                   "  - failed_calls: 0\n"));
  auto r = scenario::run_sim(sc, 1);
  REQUIRE_FALSE(r.error);
  CHECK_FALSE(r.passed());
  CHECK_FALSE(verdict_at(r, 0).pass);  // round robin gives b-1 a third
  CHECK(verdict_at(r, 0).detail.find("(0.33") != std::string::npos);
  CHECK_FALSE(verdict_at(r, 1).pass);
  CHECK(verdict_at(r, 2).pass);
  std::ostringstream summary;
  scenario::write_summary(summary, sc, r);
  CHECK(summary.str().find("FAIL share: {backend: b-1, max: 0.1}") != std::string::npos);
  CHECK(summary.str().find("FAILED") != std::string::npos);
}

TEST_CASE("scenario sim: a partition without keepalive holds calls until their deadline") {
  auto sc = parsed(three("timeline:\n  - at: 1s\n    partition: b-2\n  - at: 2s\n    heal: b-2\n"));
  auto r = scenario::run_sim(sc, 5);
  REQUIRE_FALSE(r.error);
  auto expired = count(r, kind::call_end, status_code::deadline_exceeded, false);
  CHECK(expired >= 1);
  // Calls stuck on b-2 do not come back before the 1 s deadline: the load stalls on them.
  for (const auto& e : r.trace.events)
    if (e.what == kind::call_end && e.code == status_code::deadline_exceeded)
      CHECK(e.latency >= 1s);
}

TEST_CASE("scenario sim: keepalive closes a partitioned connection") {
  auto sc =
      parsed(three("timeline:\n  - at: 1s\n    partition: b-2\n"
                   "expect:\n  - subchannel: {backend: b-2, passes: [READY, IDLE]}\n",
                   ", keepalive_time: 200ms, keepalive_timeout: 100ms"));
  auto r = scenario::run_sim(sc, 5);
  REQUIRE_FALSE(r.error);
  CHECK(r.passed());
  bool closed = false;
  for (const auto& e : r.trace.events)
    if (e.what == kind::subchannel_state && e.backend == 2 && e.from == connectivity_state::ready) {
      closed = true;
      CHECK(e.t >= 1300ms);
      CHECK(e.t < 1400ms);
      CHECK(r.trace.texts[e.text].find("keepalive") != std::string::npos);
    }
  CHECK(closed);
  CHECK(count(r, kind::call_end, status_code::deadline_exceeded, false) == 0);
}

TEST_CASE("scenario sim: health NOT_SERVING takes a backend out of rotation") {
  auto sc =
      parsed(three("timeline:\n  - at: 1s\n    health: {backend: b-1, status: NOT_SERVING}\n"
                   "expect:\n"
                   "  - share: {backend: b-1, min: 0.2, to: 1s}\n"
                   "  - share: {backend: b-1, max: 0, from: 1100ms}\n"
                   "  - failed_calls: 0\n",
                   R"(, service_config: {healthCheckConfig: {serviceName: achan.test.Echo}})"));
  auto r = scenario::run_sim(sc, 2);
  REQUIRE_FALSE(r.error);
  for (const auto& v : r.verdicts)
    CHECK_MESSAGE(v.pass, v.expectation << ": " << v.detail);
}

TEST_CASE("scenario sim: set changes latency and errors and a latency toxic adds delay") {
  auto sc = parsed(
      "duration: 4s\n"
      "backends: [{name: b, latency: 2ms}]\n"
      "load: {concurrency: 2}\n"
      "timeline:\n"
      "  - at: 1s\n    set: {backend: b, latency: 10ms}\n"
      "  - at: 2s\n    add_toxic: {backend: b, type: latency, latency: 30, name: lag}\n"
      "  - at: 3s\n    set: {backend: b, error_rate: 1, error_status: INTERNAL}\n"
      "expect:\n"
      "  - latency: {p50: 2ms, to: 1s}\n"
      "  - latency: {p50: 10ms, from: 1020ms, to: 2s}\n"
      "  - latency: {p50: 40ms, from: 2050ms, to: 3s}\n"
      "  - failed_calls: {min: 10, status: INTERNAL, from: 3050ms}\n"
      "  - failed_calls: {max: 0, to: 3s}\n");
  auto r = scenario::run_sim(sc, 1);
  REQUIRE_FALSE(r.error);
  for (const auto& v : r.verdicts)
    CHECK_MESSAGE(v.pass, v.expectation << ": " << v.detail);
  // p50 bounds hold from above; and the toxic's 30 ms is really there.
  for (const auto& e : r.trace.events)
    if (e.what == kind::call_end && e.t > 2100ms && e.t < 3s)
      CHECK(e.latency == 40ms);
}

TEST_CASE("scenario sim: goaway drains without failing calls and the resolver drives the list") {
  auto sc =
      parsed(three("timeline:\n"
                   "  - at: 1s\n    goaway: b-0\n"
                   "  - at: 2s\n    resolver: [b-1]\n"
                   "expect:\n"
                   "  - failed_calls: 0\n"
                   "  - share: {backend: b-1, min: 1, from: 2100ms}\n"
                   "  - count: {event: resolver_update, min: 2}\n"));
  auto r = scenario::run_sim(sc, 4);
  REQUIRE_FALSE(r.error);
  for (const auto& v : r.verdicts)
    CHECK_MESSAGE(v.pass, v.expectation << ": " << v.detail);
}

TEST_CASE("scenario sim: rate mode starts calls at the rate and skips beyond max_in_flight") {
  auto sc = parsed(
      "duration: 2s\n"
      "backends: [{name: b, latency: 50ms}]\n"
      "load: {rate: 100, max_in_flight: 3}\n");
  auto r = scenario::run_sim(sc, 1);
  REQUIRE_FALSE(r.error);
  // 200 ticks; 50 ms calls at 10 ms spacing would need 5 in flight: 3 of every 5 start.
  CHECK(r.figures.calls + r.figures.skipped == 200);
  CHECK(r.figures.skipped >= 70);
  CHECK(r.figures.skipped <= 90);
}

TEST_CASE("scenario sim: toxics the simulation does not model are refused up front") {
  auto sc = parsed(
      "duration: 2s\n"
      "backends: [{name: b}]\n"
      "load: {concurrency: 1}\n"
      "timeline:\n  - at: 1s\n    add_toxic: {backend: b, type: bandwidth, rate: 10}\n");
  auto r = scenario::run_sim(sc, 1);
  REQUIRE(r.error);
  CHECK(r.error->code == status_code::invalid_argument);
  CHECK(r.error->message.find("bandwidth is not modelled by --sim") != std::string::npos);
  CHECK_FALSE(r.passed());
}

TEST_CASE("scenario sim: wait_for_ready calls with no backend left end at their deadline") {
  auto sc = parsed(
      "duration: 3s\n"
      "backends: [{name: b, latency: 1ms}]\n"
      "channel: {backoff_base: 100ms}\n"
      "load: {concurrency: 2, deadline: 500ms, wait_for_ready: true}\n"
      "timeline:\n  - at: 1s\n    kill: b\n"
      "expect:\n  - failed_calls: {min: 1, status: DEADLINE_EXCEEDED}\n"
      "  - state: {channel: TRANSIENT_FAILURE, by: 2s, after: 1s}\n");
  auto r = scenario::run_sim(sc, 1);
  REQUIRE_FALSE(r.error);
  for (const auto& v : r.verdicts)
    CHECK_MESSAGE(v.pass, v.expectation << ": " << v.detail);
  CHECK(count(r, kind::call_start) == count(r, kind::call_end));
}

TEST_CASE("scenario sim: a zero-latency closed loop ends at the call budget with an error") {
  auto sc = parsed(
      "duration: 10s\n"
      "backends: [{name: b, latency: 0ms}]\n"
      "load: {concurrency: 2}\n"
      "expect:\n  - failed_calls: {max: 0}\n");
  sc.load.call_limit = 500;
  auto r = scenario::run_sim(sc, 1);
  REQUIRE(r.error);
  CHECK(r.error->code == status_code::resource_exhausted);
  CHECK(r.error->message.find("the load reached 500 calls") != std::string::npos);
  CHECK(r.figures.calls == 500);
  CHECK(r.verdicts.empty());
  CHECK_FALSE(r.passed());
  // Without a latency key a backend answers in 1 ms: 2 in flight for 1 s is ~2000 calls.
  sc = parsed("duration: 1s\nbackends: [{name: b}]\nload: {concurrency: 2}\n");
  r = scenario::run_sim(sc, 1);
  REQUIRE_FALSE(r.error);
  CHECK(r.figures.calls >= 1900);
  CHECK(r.figures.calls <= 2002);
}
