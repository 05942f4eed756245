// `achan serve`'s behaviour flags for demos and tests of load-aware clients: --orca (a
// load report in every call's trailers), --delay, --fail-rate with --seed; called through
// achan's channel.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <optional>
#include <vector>

#include "core/orca/load_report.hpp"
#include "testkit/echo_service.hpp"
#include "tests/cli/command_support.hpp"
#include "tests/cli/loopback.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace achan::test;
using namespace std::chrono_literals;
using steady = std::chrono::steady_clock;

namespace {

const std::string unary = "/achan.test.Echo/Unary";

/// The decoded endpoint-load-metrics-bin trailer of `r` (fails the test without one).
orca_load_report report_of(const call_result& r) {
  const std::string* raw = nullptr;
  for (auto& [k, v] : r.trailers)
    if (k == orca_trailer)
      raw = &v;
  REQUIRE_MESSAGE(raw, "no " << orca_trailer << " trailer (" << r.status.to_string() << ")");
  auto decoded = decode_orca_report(*raw);
  REQUIRE_MESSAGE(decoded, decoded.error().message);
  return *decoded;
}

/// Calls Unary until the report's `field` is above 0 (each call an event; 20 s bound).
orca_load_report call_until_positive(channel& ch, double orca_load_report::*field) {
  auto until = steady::now() + 20s;
  int calls = 0;
  while (steady::now() < until) {
    auto rep = report_of(ch.call(unary, echo_request("x"), within(5s)).get());
    ++calls;
    if (rep.*field > 0)
      return rep;
  }
  FAIL("no report with a positive value after " << calls << " calls");
  return {};
}

/// Usage errors of `achan serve FLAGS`: exit 2 and a message naming `what`.
void check_refused(std::vector<std::string> flags, const std::string& what) {
  flags.insert(flags.begin(), "serve");
  auto r = run_achan(flags);
  CHECK(r.exit_code == 2);
  CHECK_MESSAGE(r.err.find(what) != std::string::npos, r.err);
}

}  // namespace

TEST_CASE("achan serve: --orca replies carry a load report whose qps turns positive") {
  served s{"orca", {"--orca"}};
  dialer d;
  auto ch = d.dial(s.address);
  auto rep = call_until_positive(ch, &orca_load_report::rps_fractional);
  CHECK(rep.cpu_utilization >= 0);
  CHECK(rep.cpu_utilization <= 1);
  CHECK(rep.eps == 0);
  // Every call, not only Echo's: the health service's answers carry one too.
  auto health = ch.call("/grpc.health.v1.Health/Check", "", within(5s)).get();
  REQUIRE(health.status.ok());
  CHECK(report_of(health).rps_fractional >= 0);
  CHECK(s.proc->stop(10s) == 0);
}

TEST_CASE("achan serve: --orca counts the failures it injects as errors per second") {
  served s{"orca", {"--orca", "--fail-rate", "1"}};
  dialer d;
  auto ch = d.dial(s.address);
  auto rep = call_until_positive(ch, &orca_load_report::eps);
  CHECK(rep.rps_fractional > 0);
  CHECK(s.proc->stop(10s) == 0);
}

TEST_CASE("achan serve: --delay 50ms makes a unary call and each bidi reply take that long") {
  served s{"slow", {"--delay", "50ms"}};
  dialer d;
  auto ch = d.dial(s.address);
  auto t0 = steady::now();
  auto r = ch.call(unary, echo_request("x"), within(10s)).get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(steady::now() - t0 >= 50ms);
  // Bidi: replies delayed each, in order, and the end after them.
  std::mutex mx;
  std::vector<std::uint32_t> order;
  std::promise<call_result> done;
  t0 = steady::now();
  auto call = ch.bidi_stream(
      "/achan.test.Echo/Bidi", within(10s),
      [&](std::string&& m) {
        achan::test::EchoReply reply;
        REQUIRE(reply.ParseFromString(m));
        std::lock_guard lk{mx};
        order.push_back(reply.index());
      },
      [&](call_result&& r) { done.set_value(std::move(r)); });
  for (int i = 0; i < 5; ++i)
    call.write(echo_request("m" + std::to_string(i)));
  call.writes_done();
  auto end = done.get_future().get();
  CHECK(steady::now() - t0 >= 50ms);
  REQUIRE_MESSAGE(end.status.ok(), end.status.to_string());
  std::lock_guard lk{mx};
  CHECK(order == std::vector<std::uint32_t>{0, 1, 2, 3, 4});
}

TEST_CASE("achan serve: --fail-rate fails the calls its seed picks with UNAVAILABLE") {
  auto failures = [](const std::string& rate, const std::string& seed) {
    served s{"flaky", {"--fail-rate", rate, "--seed", seed}};
    dialer d;
    auto ch = d.dial(s.address);
    int failed = 0;
    double p = std::stod(rate);
    for (std::uint64_t n = 0; n < 200; ++n) {
      auto r = ch.call(unary, echo_request("x"), within(5s)).get();
      CAPTURE(n);
      // One call at a time: call n is the service's n-th, so the seed decides exactly.
      CHECK(!r.status.ok() == testkit::injected_failure(std::stoull(seed), n, p));
      if (!r.status.ok()) {
        CHECK(r.status.code == status_code::unavailable);
        CHECK(r.status.message == "injected failure (--fail-rate)");
        ++failed;
      }
    }
    return failed;
  };
  auto half = failures("0.5", "1");
  CHECK(half >= 70);
  CHECK(half <= 130);
  CHECK(failures("0", "1") == 0);
  CHECK(failures("1", "7") == 200);
}

TEST_CASE("achan serve: bad --fail-rate --delay and --seed values exit 2 naming the flag") {
  check_refused({"--fail-rate", "2"}, "--fail-rate: '2' is not a number in [0, 1]");
  check_refused({"--fail-rate", "-0.5"}, "--fail-rate");
  check_refused({"--fail-rate", "half"}, "--fail-rate");
  check_refused({"--delay", "50"}, "--delay");
  check_refused({"--seed", "x"}, "--seed");
}
