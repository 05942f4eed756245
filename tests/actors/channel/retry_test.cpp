// Retries, pushback and throttling (gRFC A6) through the whole control plane over the
// simulated transport, in virtual time.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <achan/channel.hpp>
#include "tests/support/manual_channel.hpp"

using namespace achan;
using namespace std::chrono_literals;
using cs = connectivity_state;

namespace {

/// A methodConfig for echo.Echo with this retryPolicy body (and optional extra top level).
std::string retry_config(const std::string& policy, const std::string& extra = "") {
  return R"({"methodConfig": [{"name": [{"service": "echo.Echo"}], "retryPolicy": )" + policy +
         "}]" + extra + "}";
}

const std::string unavailable_x5 =
    R"({"maxAttempts": 5, "initialBackoff": "0.1s", "maxBackoff": "1s",
        "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]})";

/// One attempt as the simulated server saw it.
struct seen_attempt {
  time_point at;
  std::string previous;  // grpc-previous-rpc-attempts ("" if absent)
};

struct retry_fixture : test::manual_channel_fixture {
  std::vector<seen_attempt> attempts;

  retry_fixture() : manual_channel_fixture(7) {}

  /// The backend answers attempt i (0-based) with answers[min(i, last)].
  void script(std::vector<call_result> answers, const std::string& address = "10.0.0.1:1") {
    transport::sim_behavior b;
    b.responder = [this, answers](const call& c) {
      seen_attempt a{now(), ""};
      for (auto& [k, v] : c.request_metadata())
        if (k == "grpc-previous-rpc-attempts")
          a.previous = v;
      attempts.push_back(a);
      auto r = answers[std::min(attempts.size() - 1, answers.size() - 1)];
      if (r.status.ok())
        r.payload = c.payload();
      return r;
    };
    sim->set_behavior(address, b);
  }

  channel connected(const std::string& config, std::string balancer = "pick_first",
                    std::vector<std::string> addresses = {"10.0.0.1:1"}) {
    opts.service_config = config;
    opts.lb_policy = std::move(balancer);
    return manual_channel_fixture::connected(std::move(addresses));
  }

  void start(channel& ch, call_options o = {}, std::string method = "/echo.Echo/Unary") {
    ch.call(std::move(method), "hi", std::move(o), record());
  }
};

call_result failure(status_code c, metadata trailers = {}, bool headers = false) {
  call_result r;
  r.status = {c, "scripted"};
  r.trailers = std::move(trailers);
  r.headers_received = headers;
  return r;
}
call_result success() {
  return {};
}

}  // namespace

TEST_CASE("retry: UNAVAILABLE twice then OK succeeds on the third attempt") {
  retry_fixture f;
  f.script({failure(status_code::unavailable), failure(status_code::unavailable), success()});
  auto ch = f.connected(retry_config(unavailable_x5));
  f.start(ch);
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  CHECK(f.results[0].payload == "hi");
  REQUIRE(f.attempts.size() == 3);
  CHECK(f.attempts[0].previous.empty());
  CHECK(f.attempts[1].previous == "1");
  CHECK(f.attempts[2].previous == "2");
  auto st = ch.stats();
  CHECK(st.retries == 2);
  CHECK(st.attempts_by_code[static_cast<int>(status_code::unavailable)] == 2);
  CHECK(st.attempts_by_code[0] == 1);
}

TEST_CASE("retry: backoff follows initial times multiplier with 20 percent jitter") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)});
  auto ch = f.connected(retry_config(unavailable_x5));
  f.start(ch);
  f.advance(30s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  REQUIRE(f.attempts.size() == 5);
  double base = 0.1;
  for (std::size_t i = 1; i < f.attempts.size(); ++i, base = std::min(base * 2, 1.0)) {
    double gap = std::chrono::duration<double>(f.attempts[i].at - f.attempts[i - 1].at).count();
    CAPTURE(i);
    CHECK(gap >= base * 0.8 - 1e-9);
    CHECK(gap <= base * 1.2 + 1e-9);
  }
}

TEST_CASE("retry: the schedule is reproduced exactly for a fixed seed") {
  auto schedule = [](std::uint64_t seed) {
    retry_fixture f;
    f.opts.seed = seed;
    f.script({failure(status_code::unavailable)});
    auto ch = f.connected(retry_config(unavailable_x5));
    auto t0 = f.now();
    f.start(ch);
    f.advance(30s);
    std::vector<clock_duration> at;
    for (auto& a : f.attempts)
      at.push_back(a.at - t0);
    return at;
  };
  auto a = schedule(42);
  CHECK(a.size() == 5);
  CHECK(a == schedule(42));
  CHECK(a != schedule(43));
}

TEST_CASE("retry: maxAttempts above the cap is clamped to 5") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)});
  auto ch = f.connected(retry_config(R"({"maxAttempts": 9, "initialBackoff": "0.01s",
      "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": [14]})"));
  f.start(ch);
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.attempts.size() == 5);
}

TEST_CASE("retry: a status not in retryableStatusCodes ends the call at once") {
  retry_fixture f;
  f.script({failure(status_code::internal), success()});
  auto ch = f.connected(retry_config(unavailable_x5));
  f.start(ch);
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::internal);
  CHECK(f.attempts.size() == 1);
}

TEST_CASE("retry: calls to other services are not retried") {
  retry_fixture f;
  f.script({failure(status_code::unavailable), success()});
  auto ch = f.connected(retry_config(unavailable_x5));
  f.start(ch, {}, "/other.Svc/Unary");
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.attempts.size() == 1);
}

TEST_CASE("retry: an answer after response headers commits the call") {
  retry_fixture f;
  f.script({failure(status_code::unavailable, {}, true), success()});
  auto ch = f.connected(retry_config(unavailable_x5));
  f.start(ch);
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.attempts.size() == 1);
}

TEST_CASE("retry: server pushback sets the delay of the next attempt") {
  retry_fixture f;
  f.script({failure(status_code::unavailable, {{"grpc-retry-pushback-ms", "750"}}), success()});
  auto ch = f.connected(retry_config(unavailable_x5));
  f.start(ch);
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  REQUIRE(f.attempts.size() == 2);
  CHECK(f.attempts[1].at - f.attempts[0].at == 750ms);
}

TEST_CASE("retry: negative or malformed pushback means do not retry") {
  for (std::string v : {"-1", "abc", ""}) {
    CAPTURE(v);
    retry_fixture f;
    f.script({failure(status_code::unavailable, {{"grpc-retry-pushback-ms", v}}), success()});
    auto ch = f.connected(retry_config(unavailable_x5));
    f.start(ch);
    f.advance(10s);
    REQUIRE(f.results.size() == 1);
    CHECK(f.results[0].status.code == status_code::unavailable);
    CHECK(f.attempts.size() == 1);
  }
}

TEST_CASE("retry: throttling stops retries once tokens fall to half of maxTokens") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)});
  auto ch =
      f.connected(retry_config(R"({"maxAttempts": 2, "initialBackoff": "0.01s",
      "maxBackoff": "0.01s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]})",
                               R"(, "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.5})"));
  std::vector<std::size_t> per_call;
  for (int i = 0; i < 4; ++i) {
    auto before = f.attempts.size();
    f.start(ch);
    f.advance(1s);
    per_call.push_back(f.attempts.size() - before);
  }
  // Tokens 10 → 9 (retry) → 8; 7 (retry) → 6; 5: no retry; 4: no retry.
  CHECK(per_call == std::vector<std::size_t>{2, 2, 1, 1});
  // Successes refill by tokenRatio: 4 + 6 x 0.5 = 7; a failure leaves 6 > 5: retried.
  f.script({success()});
  for (int i = 0; i < 6; ++i)
    f.start(ch);
  f.advance(1s);
  f.script({failure(status_code::unavailable)});
  auto before = f.attempts.size();
  f.start(ch);
  f.advance(1s);
  CHECK(f.attempts.size() - before == 2);
}

TEST_CASE("retry: the call deadline covers every attempt and the backoff") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)});
  auto ch = f.connected(retry_config(R"({"maxAttempts": 5, "initialBackoff": "2s",
      "maxBackoff": "2s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]})"));
  call_options o;
  o.timeout = 1s;
  auto t0 = f.now();
  f.start(ch, o);
  f.advance(999ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.results[0].status.message.find("UNAVAILABLE") != std::string::npos);
  CHECK(f.now() - t0 == 1s);
  CHECK(f.attempts.size() == 1);
}

TEST_CASE("retry: cancelling during the backoff ends the call and starts no attempt") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)});
  auto ch = f.connected(retry_config(R"({"maxAttempts": 5, "initialBackoff": "1s",
      "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]})"));
  auto h = ch.call("/echo.Echo/Unary", "hi", {},
                   [&f](call_result&& r) { f.results.push_back(std::move(r)); });
  f.advance(100ms);
  h.cancel();
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
  CHECK(f.attempts.size() == 1);
}

TEST_CASE("retry: closing the channel during the backoff ends the call once") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)});
  auto ch = f.connected(retry_config(R"({"maxAttempts": 5, "initialBackoff": "1s",
      "maxBackoff": "1s", "backoffMultiplier": 1, "retryableStatusCodes": ["UNAVAILABLE"]})"));
  f.start(ch);
  f.advance(100ms);
  ch.close();
  f.advance(5s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
}

TEST_CASE("retry: each attempt is picked anew and may land on another backend") {
  retry_fixture f;
  f.script({failure(status_code::unavailable)}, "10.0.0.1:1");
  f.script({success()}, "10.0.0.2:1");
  auto ch = f.connected(retry_config(unavailable_x5), "round_robin", {"10.0.0.1:1", "10.0.0.2:1"});
  for (int i = 0; i < 10; ++i)
    f.start(ch);
  f.advance(10s);
  REQUIRE(f.results.size() == 10);
  for (auto& r : f.results) {
    CHECK(r.status.ok());
    CHECK(r.peer == "10.0.0.2:1");
  }
}

TEST_CASE("retry: a request larger than the per-call retry buffer is sent once") {
  retry_fixture f;
  f.opts.per_call_retry_buffer = 4;
  f.script({failure(status_code::unavailable), success()});
  auto ch = f.connected(retry_config(unavailable_x5));
  ch.call("/echo.Echo/Unary", "12345", {},
          [&f](call_result&& r) { f.results.push_back(std::move(r)); });
  f.advance(10s);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unavailable);
  CHECK(f.attempts.size() == 1);
  f.start(ch);  // "hi" fits: retried
  f.advance(10s);
  REQUIRE(f.results.size() == 2);
  CHECK(f.results[1].status.ok());
}

TEST_CASE("retry: the channel-wide retry buffer bounds the requests kept for retries") {
  retry_fixture f;
  f.opts.channel_retry_buffer = 5;  // room for two "hi" requests
  transport::sim_behavior slow;
  slow.latency = 1s;
  slow.reply = {status_code::unavailable, "slow failure"};
  f.sim->set_behavior("10.0.0.1:1", slow);
  auto ch = f.connected(retry_config(unavailable_x5));
  for (int i = 0; i < 3; ++i)
    f.start(ch);
  f.advance(1s);
  // The third call found no room: it was sent once and failed; the others are retrying.
  REQUIRE(f.results.size() == 1);
  f.advance(200ms);  // past the first backoff (at most 120 ms)
  CHECK(ch.stats().retries == 2);
  f.advance(60s);
  CHECK(f.results.size() == 3);
}
