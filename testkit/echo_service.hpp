#pragma once
/// The test service of proto/echo.proto served by achan's own server: echo with an
/// optional delay, a chosen failure status, a reply of a chosen size, and the server's
/// name in every reply. Request metadata starting with "x-echo-" comes back as
/// trailers. ServerStream sends reply_count replies (index 0..n-1); ClientStream
/// answers the half-close with the last request's payload and the count received;
/// Bidi answers each request as it arrives. Implemented on the generated stubs
/// (proto/echo.achan.pb.h, target achan_proto_stubs).
#include <chrono>
#include <cstdint>
#include <functional>
#include <memory>
#include <string>
#include <utility>

#include <achan/server.hpp>

namespace achan::testkit {

/// How the echo service behaves beyond what each request asks for (`achan serve`'s
/// --delay, --fail-rate and --seed, docs/cli.md).
struct echo_options {
  /// Runs on the I/O thread when a call reaches its handler, with the method path
  /// (tests use it to know a call is in progress).
  std::function<void(const std::string&)> on_call;
  /// Runs when the service ends a call with a status of its own choosing that is not OK
  /// (a request's fail_code, or an injected failure), with its code; on the I/O thread
  /// or the timers' thread.
  std::function<void(status_code)> on_failure;
  /// Every answer waits this long more (on top of a request's delay_ms), on the timers'
  /// thread, blocking none: Unary, ServerStream and ClientStream answer this much later,
  /// Bidi answers each request (and the half-close) this much later, in order.
  std::chrono::nanoseconds delay{0};
  /// The fraction of calls, in [0, 1], that fail with UNAVAILABLE "injected failure
  /// (--fail-rate)" (after `delay`): the service numbers its calls from 0 (all four
  /// methods together) and call n fails when splitmix64(seed + n) < fail_rate * 2^64,
  /// so a seed repeats its pattern and threads share one atomic counter, no lock.
  double fail_rate = 0;
  std::uint64_t seed = 1;
  /// Optional, Unary only: decides each call's extra delay (instead of `delay`) and a
  /// status to end it with (OK: answer as usual; otherwise reported to on_failure).
  /// Runs on the I/O thread as the call arrives; for backends whose behaviour a test
  /// changes while they serve (the scenario runner, docs/scenarios.md).
  std::function<std::pair<std::chrono::nanoseconds, status>()> unary_shape;
};

/// Registers achan.test.Echo (the generated achan::test::Echo::Service, which the server
/// keeps alive) on `server` as `name`. The returned object runs the delays (timers on one
/// thread of its own); keep it alive while the server serves (without it, delay_ms is
/// ignored). A request that does not parse is answered INVALID_ARGUMENT.
/// `on_call` (optional) runs on the I/O thread when a call reaches its handler, with
/// the method path (tests use it to know a call is in progress).
std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       std::function<void(const std::string&)> on_call = {});
/// The same with `opts`.
std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       echo_options opts);

/// Whether call `n` fails at `fail_rate` with `seed` (echo_options::fail_rate).
bool injected_failure(std::uint64_t seed, std::uint64_t n, double fail_rate) noexcept;

}  // namespace achan::testkit
