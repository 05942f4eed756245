// grpc_proxy on real sockets: achan client -> proxy -> generic backends. What passes
// through (metadata split into headers and trailers, -bin values, status, messages),
// per-call spread, deadline and cancellation both ways, routes, and faults.
#include "tests/e2e/proxy_support.hpp"

#include <future>

using namespace proxy_test;

TEST_CASE("proxy: a unary call passes headers - messages - status and trailers through") {
  proxied p{1};
  auto r = p.unary("/any.Svc/Echo", "hi", {.md = {{"x-req", "v"}, {"x-req-bin", {"\0\7", 2}}}});
  REQUIRE_MESSAGE(r.status.ok(), r.status.message);
  CHECK(r.payload == "b0:hi");
  // Response headers stay headers and trailers stay trailers, -bin values intact.
  CHECK(value(r.trailers, "x-hdr", 0, r.header_count) == "b0");
  CHECK(value(r.trailers, "x-hdr-bin", 0, r.header_count) == std::string{"\0\1\2", 3});
  CHECK(value(r.trailers, "x-trl", r.header_count) == "b0");
  CHECK(value(r.trailers, "x-trl-bin", r.header_count) == std::string{"\xff\0", 2});
  CHECK(value(r.trailers, "x-trl", 0, r.header_count).empty());
  auto& b = *p.backends[0];
  std::lock_guard lk{b.mx};
  REQUIRE(b.seen.size() == 1);
  CHECK(b.seen[0].method == "/any.Svc/Echo");
  CHECK(value(b.seen[0].md, "x-req") == "v");
  CHECK(value(b.seen[0].md, "x-req-bin") == std::string{"\0\7", 2});
  CHECK(value(b.seen[0].md, "via").empty());  // only when asked
}

TEST_CASE("proxy: statuses and Trailers-Only answers pass through unchanged") {
  proxied p{1};
  auto r = p.unary("/any.Svc/Echo", "x", {.md = {{"x-status", "5"}}});
  CHECK(r.status.code == status_code::not_found);
  CHECK(r.status.message == "asked for 5");
  CHECK(r.header_count == 0);
  CHECK(value(r.trailers, "x-trl") == "b0");
  auto u = p.unary("/t.S/Unknown", "x");
  CHECK(u.status.code == status_code::unimplemented);
  CHECK(u.status.message == "unknown method /t.S/Unknown");
  auto k = p.unary("/t.S/Known", "x");  // a registered unary method of the backend
  CHECK(k.status.ok());
  CHECK(k.payload == "b0");
}

TEST_CASE("proxy: calls from one client connection spread across the backends") {
  proxied p{3};
  std::map<std::string, int> by_backend;
  for (int i = 0; i < 90; ++i) {
    auto r = p.unary("/any.Svc/Echo", "x");
    REQUIRE_MESSAGE(r.status.ok(), r.status.message);
    ++by_backend[r.payload];
  }
  CHECK(by_backend.size() == 3);
  for (auto& [b, n] : by_backend)
    CHECK_MESSAGE(n >= 20, b << " got " << n << " of 90 calls");
  auto s = p.proxy->stats();
  REQUIRE(s.size() == 1);
  CHECK(s[0].calls == 90);
  CHECK(s[0].by_code[0] == 90);
  CHECK(s[0].in_flight == 0);
  CHECK(s[0].backends.size() == 3);
}

TEST_CASE("proxy: a bidi stream keeps its messages in order") {
  proxied p{1};
  std::mutex mx;
  std::vector<std::string> got;
  std::promise<call_result> ended;
  metadata headers;
  call_options o{.timeout = 5s};
  o.on_headers = [&](const metadata& h) {
    std::lock_guard lk{mx};
    headers = h;
  };
  auto st = p.client->bidi_stream(
      "/chat.Svc/Talk", std::move(o),
      [&](std::string&& m) {
        std::lock_guard lk{mx};
        got.push_back(std::move(m));
      },
      [&](call_result&& r) { ended.set_value(std::move(r)); });
  for (int i = 0; i < 50; ++i)
    CHECK(st.write(std::to_string(i)));
  st.writes_done();
  auto r = ended.get_future().get();
  CHECK(r.status.ok());
  std::lock_guard lk{mx};
  REQUIRE(got.size() == 50);
  for (int i = 0; i < 50; ++i)
    CHECK(got[i] == "b0:" + std::to_string(i));
  CHECK(value(headers, "x-hdr") == "b0");  // arrived before the messages
}

TEST_CASE("proxy: the deadline goes on to the backend - and its passing cancels the backend call") {
  proxied p{1};
  auto before = std::chrono::steady_clock::now();
  auto r = p.unary("/t.S/Hang", "x", {.timeout = 400ms});
  CHECK(r.status.code == status_code::deadline_exceeded);
  auto& b = *p.backends[0];
  REQUIRE(b.wait([&] { return b.cancelled.load() == 1; }));
  std::lock_guard lk{b.mx};
  REQUIRE(b.seen.size() == 1);
  REQUIRE(b.seen[0].deadline);
  // The backend's deadline is the client's (grpc-timeout less the time spent getting
  // there; its clock starts when the headers arrive, so allow for rounding up).
  CHECK(*b.seen[0].deadline <= before + 450ms);
  CHECK(*b.seen[0].deadline > before + 200ms);
}

namespace {

/// A /t.S/Hang stream through `p` that backend 0 has received; `ended` gets its result.
stream_call open_hanging(proxied& p, std::promise<call_result>& ended) {
  auto st = p.client->bidi_stream(
      "/t.S/Hang", {.timeout = 5s}, [](std::string&&) {},
      [&ended](call_result&& r) { ended.set_value(std::move(r)); });
  st.write("x");
  auto& b = *p.backends[0];
  REQUIRE(b.wait([&] { return b.seen.size() == 1; }));
  return st;
}

}  // namespace

TEST_CASE("proxy: a client's cancel reaches the backend as RST_STREAM") {
  proxied p{1};
  std::promise<call_result> ended;
  auto st = open_hanging(p, ended);
  auto& b = *p.backends[0];
  st.cancel();
  CHECK(ended.get_future().get().status.code == status_code::cancelled);
  CHECK(b.wait([&] { return b.cancelled.load() == 1; }));
}

TEST_CASE("proxy: a backend that goes away fails the client's call with UNAVAILABLE") {
  proxied p{1};
  std::promise<call_result> ended;
  auto st = open_hanging(p, ended);
  auto& b = *p.backends[0];
  b.server.shutdown(0ms);  // the backend dies mid-stream
  auto r = ended.get_future().get();
  CHECK(r.status.code == status_code::unavailable);
}

TEST_CASE("proxy: routes by method prefix - longest first - and no route is UNIMPLEMENTED") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  backend a{"a"}, b{"b"};
  proxy::proxy_options o;
  o.routes.push_back({.name = "svc", .prefix = "/pkg.Svc/", .target = "ipv4:" + a.address});
  o.routes.push_back({.name = "get", .prefix = "/pkg.Svc/Get", .target = "ipv4:" + b.address});
  o.add_via = true;
  auto px = proxy::grpc_proxy::start(sys, std::move(o), "127.0.0.1", 0);
  REQUIRE(px.ok());
  auto ch = dial(sys, "ipv4:127.0.0.1:" + std::to_string((*px)->port()));
  REQUIRE(ch);
  auto r1 = ch->call("/pkg.Svc/Put", "1", {.timeout = 5s}).get();
  auto r2 = ch->call("/pkg.Svc/GetAll", "2", {.timeout = 5s}).get();
  auto r3 = ch->call("/other.Svc/X", "3", {.timeout = 5s}).get();
  CHECK(r1.payload == "a:1");
  CHECK(r2.payload == "b:2");
  CHECK(r3.status.code == status_code::unimplemented);
  CHECK(r3.status.message == "achan proxy: no route for /other.Svc/X");
  CHECK(value(r1.trailers, "via", 0, r1.header_count) == "achan-proxy");
  {
    std::lock_guard lk{a.mx};
    REQUIRE(a.seen.size() == 1);
    CHECK(value(a.seen[0].md, "via") == "achan-proxy");
  }
  ch->close();
}

TEST_CASE("proxy: invalid options are refused with a message naming the route") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto start = [&](proxy::proxy_options o) {
    return proxy::grpc_proxy::start(sys, std::move(o), "127.0.0.1", 0).error().message;
  };
  CHECK(start({}) == "the proxy needs at least one route");
  proxy::proxy_options dup;
  dup.routes = {{.name = "x", .target = "ipv4:127.0.0.1:1"},
                {.name = "x", .target = "ipv4:127.0.0.1:2"}};
  CHECK(start(dup) == "route 'x': the name is used twice");
  proxy::proxy_options bad_fault;
  bad_fault.routes = {{.name = "f", .target = "ipv4:127.0.0.1:1"}};
  bad_fault.routes[0].faults.push_back({.abort_percent = 150});
  CHECK(start(bad_fault) == "route 'f': fault rule: percentages must be within 0..100");
  proxy::proxy_options bad_target;
  bad_target.routes = {{.name = "t", .target = "nonsense:///"}};
  CHECK(start(bad_target).rfind("route 't': ", 0) == 0);
}
