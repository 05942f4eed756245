// grpc_proxy's fault filter on real sockets: seeded percentages within binomial bounds
// and repeatable, request headers, and rules changed at run time.
#include "tests/e2e/proxy_support.hpp"

using namespace proxy_test;

namespace {

/// Which of `n` sequential calls the fault filter aborted.
std::vector<bool> aborted_pattern(proxied& p, int n) {
  std::vector<bool> out;
  for (int i = 0; i < n; ++i) {
    auto r = p.unary("/any.Svc/Echo", "x");
    REQUIRE((r.status.ok() || r.status.code == status_code::resource_exhausted));
    out.push_back(!r.status.ok());
  }
  return out;
}

proxy::proxy_options with_abort(double percent, std::uint64_t seed) {
  proxy::proxy_options o;
  o.seed = seed;
  proxy::route_config r{.name = "default", .target = "BACKENDS"};
  r.faults.push_back({.abort_percent = percent,
                      .abort_code = status_code::resource_exhausted,
                      .abort_message = "injected"});
  o.routes.push_back(std::move(r));
  return o;
}

}  // namespace

TEST_CASE("proxy faults: an abort percentage holds within binomial bounds and repeats by seed") {
  std::vector<bool> first, second, other;
  {
    proxied p{1, with_abort(30, 7)};
    first = aborted_pattern(p, 600);
    auto s = p.proxy->stats()[0];
    CHECK(s.aborted == static_cast<std::uint64_t>(std::count(first.begin(), first.end(), true)));
    CHECK(s.by_code[static_cast<int>(status_code::resource_exhausted)] == s.aborted);
    CHECK(p.backends[0]->calls.load() == 600 - static_cast<int>(s.aborted));
  }
  {
    proxied p{1, with_abort(30, 7)};
    second = aborted_pattern(p, 600);
  }
  {
    proxied p{1, with_abort(30, 8)};
    other = aborted_pattern(p, 600);
  }
  auto n = std::count(first.begin(), first.end(), true);
  // 600 draws at p = 0.3: mean 180, sd 11.2; +-5 sd.
  CHECK(n > 124);
  CHECK(n < 236);
  CHECK(first == second);  // same seed, same call order: the same calls
  CHECK(first != other);
}

TEST_CASE("proxy faults: request headers abort or delay a call when the route allows them") {
  proxy::proxy_options o;
  o.routes.push_back({.name = "default", .target = "BACKENDS", .fault_headers = true});
  proxied p{1, std::move(o)};
  auto r = p.unary("/any.Svc/Echo", "x", {.md = {{"x-achan-fault-abort-code", "8"}}});
  CHECK(r.status.code == status_code::resource_exhausted);
  CHECK(r.status.message == "fault injected by achan proxy (x-achan-fault-abort-code)");
  auto bad = p.unary("/any.Svc/Echo", "x", {.md = {{"x-achan-fault-abort-code", "0"}}});
  CHECK(bad.status.code == status_code::invalid_argument);
  CHECK(bad.status.message == "x-achan-fault-abort-code '0' is not a gRPC status code 1..16");
  auto t0 = std::chrono::steady_clock::now();
  auto d = p.unary("/any.Svc/Echo", "x", {.md = {{"x-achan-fault-delay-ms", "150"}}});
  CHECK(d.status.ok());
  CHECK(std::chrono::steady_clock::now() - t0 >= 150ms);  // a lower bound: never flaky
  // A delay longer than the call's deadline: the client sees DEADLINE_EXCEEDED.
  auto late =
      p.unary("/any.Svc/Echo", "x", {.timeout = 200ms, .md = {{"x-achan-fault-delay-ms", "2000"}}});
  CHECK(late.status.code == status_code::deadline_exceeded);
  std::lock_guard lk{p.backends[0]->mx};
  REQUIRE(p.backends[0]->seen.size() == 1);  // the delayed call; the late one never started
  CHECK(value(p.backends[0]->seen[0].md, "x-achan-fault-delay-ms").empty());  // not forwarded
}

TEST_CASE("proxy faults: headers pass through as metadata where the route does not allow them") {
  proxied p{1};
  auto r = p.unary("/any.Svc/Echo", "x", {.md = {{"x-achan-fault-abort-code", "8"}}});
  CHECK(r.status.ok());
  std::lock_guard lk{p.backends[0]->mx};
  CHECK(value(p.backends[0]->seen[0].md, "x-achan-fault-abort-code") == "8");
}

TEST_CASE("proxy faults: rules changed at run time apply to the calls that follow") {
  proxied p{1};
  CHECK(p.unary("/any.Svc/Echo", "x").status.ok());
  CHECK(p.proxy->set_faults("default", {{.method = "/any.Svc/", .abort_percent = 100}}).ok());
  auto r = p.unary("/any.Svc/Echo", "x");
  CHECK(r.status.code == status_code::unavailable);
  CHECK(r.status.message == "fault injected by achan proxy");
  CHECK(p.unary("/other.Svc/Echo", "x").status.ok());  // the rule's method prefix only
  CHECK(p.proxy->set_faults("nope", {}).code == status_code::not_found);
  CHECK(p.proxy->set_faults("default", {{.delay_percent = -1}}).code ==
        status_code::invalid_argument);
  CHECK(p.proxy->set_faults("default", {}).ok());
  CHECK(p.unary("/any.Svc/Echo", "x").status.ok());
}
