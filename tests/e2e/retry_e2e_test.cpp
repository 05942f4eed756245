// Retries on the wire (gRFC A6): achan's channel against achan's own server and against
// grpc++ servers, on loopback.
#include <doctest/doctest.h>

#include <atomic>
#include <csignal>
#include <future>
#include <mutex>
#include <set>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/server.hpp>
#include "tests/support/echo_messages.hpp"
#include "tests/support/process.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

const std::string unary = "/achan.test.Echo/Unary";

std::string retry_on_unavailable(int attempts, const std::string& backoff = "0.05s") {
  return R"({"methodConfig": [{"name": [{"service": "achan.test.Echo"}],
      "retryPolicy": {"maxAttempts": )" +
         std::to_string(attempts) + R"(, "initialBackoff": ")" + backoff +
         R"(", "maxBackoff": "0.2s", "backoffMultiplier": 2,
      "retryableStatusCodes": ["UNAVAILABLE"]}}]})";
}

/// An achan server whose Unary fails the first `failures` calls with UNAVAILABLE (and
/// `trailers`), then echoes; it records each call's grpc-previous-rpc-attempts and time.
struct flaky_server {
  transport::h2_server server;
  std::atomic<int> calls{0};
  std::mutex mx;
  std::vector<std::string> previous;
  std::vector<std::chrono::steady_clock::time_point> at;
  std::string address;

  flaky_server(int failures, metadata trailers = {}) {
    server.add_unary(unary, [this, failures, trailers](transport::server_call_info info,
                                                       std::string req, transport::responder r) {
      {
        std::lock_guard lk{mx};
        std::string p;
        for (auto& [k, v] : info.request_metadata)
          if (k == "grpc-previous-rpc-attempts")
            p = v;
        previous.push_back(p);
        at.push_back(std::chrono::steady_clock::now());
      }
      if (calls.fetch_add(1) < failures)
        r.fail({status_code::unavailable, "not yet"}, trailers);
      else
        r.reply(std::move(req));
    });
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    address = "127.0.0.1:" + std::to_string(*l);
  }
};

/// A grpcpp_echo_server child process.
struct grpcpp_server {
  test::child_process proc;
  std::string address;
  explicit grpcpp_server(const std::string& name)
      : proc(test::test_binary("grpcpp_echo_server"),
             {"--port", "0", "--host", "127.0.0.1", "--name", name, "--log-calls", "1"}) {
    auto line = proc.wait_for_line("listening on ", 20s);
    REQUIRE_MESSAGE(line, "grpcpp_echo_server did not start");
    address = line->substr(std::string_view{"listening on "}.size());
  }
};

struct client {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  channel dial(const std::string& target, dial_options o) {
    o.block_until_ready = 10s;
    auto ch = achan::dial(sys, target, std::move(o));
    REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
    return *ch;
  }
};

}  // namespace

TEST_CASE("retry e2e: a server that fails the first 2 attempts is answered on the third") {
  flaky_server s{2};
  client c;
  dial_options o;
  o.service_config = retry_on_unavailable(4);
  auto ch = c.dial("ipv4:" + s.address, o);
  auto r = ch.call(unary, "payload", {.timeout = 10s}).get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(r.payload == "payload");
  std::lock_guard lk{s.mx};
  CHECK(s.previous == std::vector<std::string>{"", "1", "2"});
  CHECK(ch.stats().retries == 2);
}

TEST_CASE("retry e2e: maxAttempts exhausted returns the last UNAVAILABLE") {
  flaky_server s{100};
  client c;
  dial_options o;
  o.service_config = retry_on_unavailable(3);
  auto ch = c.dial("ipv4:" + s.address, o);
  auto r = ch.call(unary, "x", {.timeout = 10s}).get();
  CHECK(r.status.code == status_code::unavailable);
  CHECK(r.status.message == "not yet");
  CHECK(s.calls.load() == 3);
}

TEST_CASE("retry e2e: server pushback delays the retry and a negative one stops it") {
  {
    flaky_server s{1, {{"grpc-retry-pushback-ms", "300"}}};
    client c;
    dial_options o;
    o.service_config = retry_on_unavailable(3, "0.01s");
    auto ch = c.dial("ipv4:" + s.address, o);
    auto r = ch.call(unary, "x", {.timeout = 10s}).get();
    REQUIRE(r.status.ok());
    std::lock_guard lk{s.mx};
    REQUIRE(s.at.size() == 2);
    CHECK(s.at[1] - s.at[0] >= 300ms);  // never before the pushback (a lower bound only)
  }
  flaky_server s{1, {{"grpc-retry-pushback-ms", "-1"}}};
  client c;
  dial_options o;
  o.service_config = retry_on_unavailable(3, "0.01s");
  auto ch = c.dial("ipv4:" + s.address, o);
  auto r = ch.call(unary, "x", {.timeout = 10s}).get();
  CHECK(r.status.code == status_code::unavailable);
  CHECK(s.calls.load() == 1);
}

TEST_CASE("retry e2e: grpc++ server failing every attempt sees maxAttempts calls") {
  grpcpp_server s{"fails"};
  client c;
  dial_options o;
  o.service_config = retry_on_unavailable(3);
  auto ch = c.dial("ipv4:" + s.address, o);
  auto r = ch.call(unary, test::echo_request("x", 0, 14, "go away"), {.timeout = 10s}).get();
  CHECK(r.status.code == status_code::unavailable);
  CHECK(r.status.message == "go away");
  auto st = ch.stats();
  CHECK(st.retries == 2);
  CHECK(st.attempts_by_code[static_cast<int>(status_code::unavailable)] == 3);
  // A status that is not retryable is not retried.
  auto n = ch.call(unary, test::echo_request("x", 0, 13, "internal"), {.timeout = 10s}).get();
  CHECK(n.status.code == status_code::internal);
  CHECK(ch.stats().retries == 2);
}

TEST_CASE("retry e2e: a grpc++ backend killed under load fails no wait-for-ready call") {
  auto doomed = std::make_unique<grpcpp_server>("doomed");
  grpcpp_server survivor{"survivor"};
  client c;
  dial_options o;
  o.lb_policy = "round_robin";
  o.wait_for_ready = true;
  o.service_config = retry_on_unavailable(5);
  auto ch = c.dial("ipv4:" + doomed->address + "," + survivor.address, o);
  // Both backends READY: every call of a round has been answered by both.
  std::set<std::string> seen;
  for (int i = 0; i < 100 && seen.size() < 2; ++i)
    seen.insert(
        test::echo_reply(ch.call(unary, test::echo_request("w"), {.timeout = 5s}).get()).server());
  REQUIRE(seen.size() == 2);
  std::vector<std::future<call_result>> calls;
  for (int i = 0; i < 300; ++i)
    calls.push_back(ch.call(unary, test::echo_request("x", 30), {.timeout = 20s}));
  doomed->proc.signal(SIGKILL);
  for (int i = 0; i < 300; ++i)
    calls.push_back(ch.call(unary, test::echo_request("y", 5), {.timeout = 20s}));
  int failed = 0;
  std::string first_error;
  for (auto& f : calls) {
    auto r = f.get();
    if (!r.status.ok() && failed++ == 0)
      first_error = r.status.to_string();
  }
  CHECK_MESSAGE(failed == 0, first_error);
  auto st = ch.stats();
  MESSAGE("retries " << st.retries << ", transparent retries " << st.transparent_retries);
  CHECK(st.retries + st.transparent_retries > 0);  // the kill did hit calls in flight
}
