// Load-aware balancing on real sockets (issue 14): four `achan serve` backends on loopback,
// one slow (--delay) or failing (--fail-rate); `achan bench --lb` and an in-process
// channel show where calls went.
#include <doctest/doctest.h>

#include <chrono>
#include <condition_variable>
#include <mutex>
#include <vector>

#include <nlohmann/json.hpp>

#include <achan/channel.hpp>
#include "tests/cli/command_support.hpp"
#include "tests/cli/loopback.hpp"
#include "tests/support/echo_messages.hpp"

using namespace achan;
using namespace achan::test;
using namespace std::chrono_literals;
using json = nlohmann::json;

namespace {

struct bench_figures {
  double slow_share = 0;
  double p90_us = 0;
  double p99_us = 0;
  int errors = 0;
};

/// `achan bench --lb POLICY -c 32 -n 1600` over `backends`; the last one is the slow one.
bench_figures bench(const std::vector<served*>& backends, const std::string& policy) {
  std::string target = "ipv4:";
  for (auto* b : backends)
    target += (target.size() > 5 ? "," : "") + b->address;
  auto r = run_achan({"bench", target, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d",
                      R"({"payload":"aGk="})", "--json", "--lb", policy, "--concurrency", "32",
                      "--total", "1600", "--warmup", "300ms", "--deadline", "10s"});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  auto j = json::parse(r.out);
  bench_figures f;
  auto slow = backends.back()->address;
  auto count = j["count"].get<double>();
  f.slow_share = j["per_backend"].contains(slow) ? j["per_backend"][slow].get<double>() / count : 0;
  f.p90_us = j["latency_us"]["p90"].get<double>();
  f.p99_us = j["latency_us"]["p99"].get<double>();
  f.errors = static_cast<int>(count - j["ok"].get<double>());
  REQUIRE(j.contains("per_backend_latency_us"));
  if (j["per_backend_latency_us"].contains(slow))
    CHECK(j["per_backend_latency_us"][slow]["p50"].get<double>() >= 100000);  // its delay
  return f;
}

}  // namespace

// The issue's scenario has a 20 ms backend (bench/balancing.sh measures it in the release
// build); here the delay is 100 ms, well above what the sanitizer build's fast backends take
// on a loaded 2-core machine (up to ~30 ms at p90 with other tests running), so the test
// checks the policies, not the machine's load.
TEST_CASE("balancing e2e: least_request and peak_ewma keep 32 in flight off a slow backend") {
  served a{"a"}, b{"b"}, c{"c"}, slow{"slow", {"--delay", "100ms"}};
  std::vector<served*> all{&a, &b, &c, &slow};
  auto rr = bench(all, "round_robin");
  auto lr = bench(all, "least_request");
  auto pe = bench(all, "peak_ewma");
  MESSAGE("slow share: round_robin " << rr.slow_share << ", least_request " << lr.slow_share
                                     << ", peak_ewma " << pe.slow_share);
  MESSAGE("p90 us: round_robin " << rr.p90_us << ", least_request " << lr.p90_us << ", peak_ewma "
                                 << pe.p90_us);
  MESSAGE("p99 us: round_robin " << rr.p99_us << ", least_request " << lr.p99_us << ", peak_ewma "
                                 << pe.p99_us);
  CHECK(rr.errors + lr.errors + pe.errors == 0);
  CHECK(rr.slow_share == doctest::Approx(0.25).epsilon(0.02));
  CHECK(lr.slow_share < 0.10);
  CHECK(pe.slow_share < 0.10);
  // round_robin's p90 is the slow backend's delay; the others' is a fast backend's. (p99
  // drops too when the slow share is under 1 %, as peak_ewma's is on a quiet machine:
  // bench/balancing.sh reports it; under load here it is not reliably so.)
  CHECK(lr.p90_us < rr.p90_us / 2);
  CHECK(pe.p90_us < rr.p90_us / 2);
}

namespace {

/// When each call ended and which backend answered it.
struct call_log {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::pair<std::chrono::steady_clock::time_point, std::string>> ends;
  int in_flight = 0;
};

}  // namespace

TEST_CASE(
    "balancing e2e: outlier_detection ejects a backend failing half its calls and readmits it") {
  served a{"a"}, b{"b"}, c{"c"}, bad{"bad", {"--fail-rate", "0.5", "--seed", "7"}};
  dialer d;
  dial_options o;
  o.lb_policy = "outlier_detection";
  o.lb_policy_config = R"({"interval": "1s", "baseEjectionTime": "3s", "maxEjectionPercent": 25,
      "failurePercentageEjection": {"threshold": 30, "minimumHosts": 4, "requestVolume": 20,
                                    "enforcementPercentage": 100},
      "childPolicy": [{"round_robin": {}}]})";
  o.block_until_ready = 10s;
  auto ch = achan::dial(
      *d.sys, "ipv4:" + a.address + "," + b.address + "," + c.address + "," + bad.address, o);
  REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
  auto log = std::make_shared<call_log>();
  auto t0 = std::chrono::steady_clock::now();
  auto until = t0 + 8s;
  // 8 calls in flight, each replaced when it ends, for 8 s.
  std::function<void()> start = [&, log] {
    {
      std::lock_guard lk{log->mx};
      ++log->in_flight;
    }
    ch->call("/achan.test.Echo/Unary", echo_request("x"), within(5s), [&, log](call_result&& r) {
      auto now = std::chrono::steady_clock::now();
      bool again = now < until;
      {
        std::lock_guard lk{log->mx};
        log->ends.emplace_back(now, r.peer);
        --log->in_flight;
      }
      log->cv.notify_all();
      if (again)
        start();
    });
  };
  for (int i = 0; i < 8; ++i)
    start();
  {
    std::unique_lock lk{log->mx};
    REQUIRE(log->cv.wait_for(lk, 30s, [&] { return log->in_flight == 0; }));
  }
  // The longest stretch in which the bad backend answered nothing, and when it began.
  std::vector<double> bad_at;
  for (auto& [t, peer] : log->ends)
    if (peer == bad.address)
      bad_at.push_back(std::chrono::duration<double>(t - t0).count());
  REQUIRE(bad_at.size() >= 2);
  double gap = 0, gap_start = 0;
  for (std::size_t i = 1; i < bad_at.size(); ++i)
    if (bad_at[i] - bad_at[i - 1] > gap) {
      gap = bad_at[i] - bad_at[i - 1];
      gap_start = bad_at[i - 1];
    }
  MESSAGE("calls: " << log->ends.size() << ", to the bad backend: " << bad_at.size()
                    << "; ejected from " << gap_start << " s for " << gap << " s");
  CHECK(gap_start < 2.5);  // within two intervals (plus slack for a loaded machine)
  CHECK(gap >= 2.5);       // baseEjectionTime 3 s
  // Readmitted: the gap ended with an answer from it before the load stopped (a gap that
  // lasted to the end would not have been measured as one).
  CHECK(gap_start + gap < 8.0);
}

TEST_CASE("balancing e2e: a bad --lb-config exits 2 naming the field") {
  auto r = run_achan({"bench", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto",
                      echo_proto(), "-d", R"({"payload":"aGk="})", "--lb", "least_request",
                      "--lb-config", R"({"choiceCount": "x"})", "--total", "1"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("lb_policy_config.choiceCount: must be a non-negative integer") !=
        std::string::npos);
  auto unknown = run_achan({"bench", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto",
                            echo_proto(), "-d", R"({"payload":"aGk="})", "--lb", "fastest"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown load-balancing policy 'fastest'") != std::string::npos);
}
