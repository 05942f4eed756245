// The proxy around the toxics: enable/disable, toxicity by seed, scope, bounds, failures.
#include <doctest/doctest.h>

#include <achan/fault_proxy.hpp>

#include "tests/fault_proxy/tcp_peers.hpp"

using namespace achan::fault;
using namespace achan::fault::test;

TEST_CASE("fault proxy: a disabled proxy refuses connections and drops the open ones") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client open(p.port());
  open.round_trip("hello");
  p.set_enabled(false);
  std::string got;
  auto end = open.read_some(got, 2s);
  CHECK((end == read_end::eof || end == read_end::reset));
  CHECK_FALSE(client::try_connect(p.port()).has_value());
  CHECK(p.stats().open == 0);
  p.set_enabled(true);  // the same port again
  client again(p.port());
  CHECK(again.round_trip("back").count() < 1000);
}

TEST_CASE("fault proxy: toxicity 0.5 hits a seeded share of 200 connections") {
  tcp_server echo;
  options o;
  o.seed = 42;
  fault_proxy p(echo.address(), o);
  auto t = limit_data(0);  // a hit connection closes on its first byte back
  t.toxicity = 0.5;
  p.add(t);
  int hit = 0;
  for (int i = 0; i < 200; ++i) {
    client c(p.port());
    c.send("?");
    std::string got;
    auto end = c.read_some(got, 5s);
    REQUIRE(end != read_end::timeout);
    hit += end != read_end::data;
  }
  MESSAGE("toxicity 0.5, seed 42: " << hit << " of 200 connections hit");
  CHECK(hit == 98);  // the seed fixes the draw: the same count on every run
}

TEST_CASE("fault proxy: a toxic scoped to fresh connections spares the established ones") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client old_conn(p.port());
  old_conn.round_trip("old");
  auto fresh = latency(150);
  fresh.scope = scope::fresh;
  p.add(fresh);
  auto established = latency(150, 0, stream::upstream);
  established.scope = scope::established;
  established.name = "on_old";
  p.add(established);
  client new_conn(p.port());
  auto t_new = new_conn.round_trip("new").count();
  auto t_old = old_conn.round_trip("old").count();
  MESSAGE("fresh connection " << t_new << " ms, established " << t_old << " ms");
  CHECK(t_new >= 140);
  CHECK(t_new < 280);  // only the fresh toxic
  CHECK(t_old >= 140);
  CHECK(t_old < 280);  // only the established one
}

TEST_CASE("fault proxy: a stalled server back-pressures the client instead of buffering") {
  tcp_server stalled(false);
  options o;
  o.max_buffered = 256 * 1024;
  fault_proxy p(stalled.address(), o);
  client c(p.port());
  auto sent = c.send_until_full(256u << 20);
  MESSAGE("the client could write " << sent / 1024 << " KiB before blocking");
  CHECK(sent < (64u << 20));  // kernel buffers on both hops plus max_buffered, not 256 MiB
  CHECK(p.stats().bytes_upstream < (48u << 20));
}

TEST_CASE("fault proxy: an unreachable upstream closes the client and counts a failure") {
  std::uint16_t dead_port;
  {
    tcp_server gone;
    dead_port = gone.port();
  }
  fault_proxy p("127.0.0.1:" + std::to_string(dead_port));
  client c(p.port());
  std::string got;
  auto end = c.read_some(got, 5s);
  CHECK((end == read_end::eof || end == read_end::reset));
  CHECK(p.stats().upstream_failures == 1);
  CHECK(p.stats().open == 0);
}

TEST_CASE("fault proxy: connections over max_connections are closed at once") {
  tcp_server echo;
  options o;
  o.max_connections = 2;
  fault_proxy p(echo.address(), o);
  client a(p.port()), b(p.port());
  a.round_trip("a");
  b.round_trip("b");
  client c(p.port());
  std::string got;
  auto end = c.read_some(got, 5s);
  CHECK((end == read_end::eof || end == read_end::reset));
  CHECK(p.stats().rejected == 1);
  CHECK(a.round_trip("still").count() < 1000);
}

TEST_CASE("fault proxy: bad toxics and duplicate names are refused with a message") {
  tcp_server echo;
  fault_proxy p(echo.address());
  auto& set = p.set();
  toxic unknown;
  unknown.type = "earthquake";
  auto r = set.add_toxic("proxy", unknown);
  REQUIRE_FALSE(r.ok());
  CHECK(r.error().code == achan::status_code::invalid_argument);
  CHECK(r.error().message.find("earthquake") != std::string::npos);
  auto neg = latency(-5);
  CHECK(set.add_toxic("proxy", neg).error().code == achan::status_code::invalid_argument);
  auto bad_attr = latency(5);
  bad_attr.attributes["rate"] = 1;
  CHECK(set.add_toxic("proxy", bad_attr).error().message.find("rate") != std::string::npos);
  auto over = latency(5);
  over.toxicity = 1.5;
  CHECK(set.add_toxic("proxy", over).error().code == achan::status_code::invalid_argument);
  CHECK(set.add_toxic("proxy", slicer(0, 0, 0)).error().code ==
        achan::status_code::invalid_argument);
  CHECK(set.add_toxic("proxy", latency(5)).ok());
  CHECK(set.add_toxic("proxy", latency(7)).error().code == achan::status_code::already_exists);
  CHECK(set.add_toxic("nope", latency(7)).error().code == achan::status_code::not_found);
  CHECK_THROWS_AS(p.add(latency(5)), std::invalid_argument);
}

TEST_CASE("fault proxy: a toxic update changes attributes of open connections") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client c(p.port());
  p.add(latency(150));
  CHECK(c.round_trip("slow").count() >= 140);
  toxic_update u;
  u.attributes["latency"] = 0;
  auto r = p.set().update_toxic("proxy", "latency_downstream", u);
  REQUIRE(r.ok());
  CHECK(r->attributes.at("latency") == 0);
  CHECK(c.round_trip("fast").count() < 100);
}
