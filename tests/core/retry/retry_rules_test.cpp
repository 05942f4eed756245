// The pure retry rules: backoff, pushback, throttle (core/retry/retry_rules.hpp), and the
// per-method settings applied to a call (core/config/call_settings.hpp).
#include <doctest/doctest.h>

#include <achan/call.hpp>
#include "core/config/call_settings.hpp"
#include "core/retry/retry_rules.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {
retry_policy sample_policy() {
  retry_policy p;
  p.max_attempts = 5;
  p.initial_backoff = 100ms;
  p.max_backoff = 1s;
  p.backoff_multiplier = 3;
  p.retryable_status_codes = {status_code::unavailable};
  return p;
}
}  // namespace

TEST_CASE("retry rules: backoff grows by the multiplier up to maxBackoff with 20 percent jitter") {
  auto p = sample_policy();
  CHECK(retry_backoff(p, 1, 0.5) == 100ms);
  CHECK(retry_backoff(p, 2, 0.5) == 300ms);
  CHECK(retry_backoff(p, 3, 0.5) == 900ms);
  CHECK(retry_backoff(p, 4, 0.5) == 1s);  // capped
  CHECK(retry_backoff(p, 1, 0.0) == 80ms);
  CHECK(retry_backoff(p, 4, 1.0) == 1200ms);
}

TEST_CASE("retry rules: pushback is a delay a stop or nothing") {
  CHECK(read_pushback({}).what == pushback::kind::none);
  CHECK(read_pushback({{"other", "1"}}).what == pushback::kind::none);
  auto d = read_pushback({{"grpc-retry-pushback-ms", "250"}});
  CHECK(d.what == pushback::kind::delay);
  CHECK(d.after == 250ms);
  CHECK(read_pushback({{"grpc-retry-pushback-ms", "0"}}).after == 0ms);
  for (const char* bad : {"-1", "1.5", "abc", "", "12345678901", " 5"}) {
    CAPTURE(bad);
    CHECK(read_pushback({{"grpc-retry-pushback-ms", bad}}).what == pushback::kind::stop);
  }
  // The last one wins (trailers come after headers).
  CHECK(read_pushback({{"grpc-retry-pushback-ms", "-1"}, {"grpc-retry-pushback-ms", "10"}}).what ==
        pushback::kind::delay);
}

TEST_CASE("retry rules: the throttle stops retries at half its tokens and refills by tokenRatio") {
  retry_throttle t{{10, 0.25}};
  CHECK(t.tokens() == 10);
  CHECK(t.allows_retry());
  for (int i = 0; i < 4; ++i)
    t.record_failure();
  CHECK(t.tokens() == 6);
  CHECK(t.allows_retry());
  t.record_failure();
  CHECK(t.tokens() == 5);
  CHECK(!t.allows_retry());  // 5 is not above 10 / 2
  t.record_success();
  CHECK(t.tokens() == doctest::Approx(5.25));
  CHECK(t.allows_retry());
  for (int i = 0; i < 100; ++i)
    t.record_success();
  CHECK(t.tokens() == 10);  // never above maxTokens
  for (int i = 0; i < 100; ++i)
    t.record_failure();
  CHECK(t.tokens() == 0);  // never below zero
}

TEST_CASE("call settings: timeout tightens the deadline and the call's own choice wins") {
  auto start = time_point{} + 10s;
  call c{1, "/s/m", "abc", {}, start + 5s, false, [](call_result&&) {}, start};
  method_config mc;
  mc.timeout = 1s;
  mc.wait_for_ready = true;
  mc.max_response_message_bytes = 100;
  REQUIRE(apply_method_config(c, mc));
  CHECK(c.deadline() == start + 1s);
  CHECK(c.wait_for_ready());
  CHECK(c.max_response_bytes == 100);
  call own{2, "/s/m", "abc", {}, start + 500ms, false, [](call_result&&) {}, start};
  own.explicit_wait_for_ready = true;
  REQUIRE(apply_method_config(own, mc));
  CHECK(own.deadline() == start + 500ms);
  CHECK(!own.wait_for_ready());
  call none{3, "/s/m", "abc", {}, time_point::max(), false, [](call_result&&) {}, start};
  method_config huge;
  huge.timeout = clock_duration::max();
  REQUIRE(apply_method_config(none, huge));  // no overflow
  CHECK(none.deadline() == time_point::max());
}

TEST_CASE("call settings: a request over maxRequestMessageBytes ends the call") {
  status got;
  call c{1,
         "/s/m",
         "abcdef",
         {},
         time_point::max(),
         false,
         [&got](call_result&& r) { got = r.status; }};
  method_config mc;
  mc.max_request_message_bytes = 5;
  CHECK(!apply_method_config(c, mc));
  CHECK(got.code == status_code::resource_exhausted);
  CHECK(got.message.find("6 bytes") != std::string::npos);
}
