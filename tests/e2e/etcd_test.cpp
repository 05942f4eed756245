// The etcd resolver and registration against a real etcd (Debian's etcd-server) on
// loopback, started and stopped by each test (tests/support/etcd_cluster).
#include <doctest/doctest.h>

#include <sstream>

#include "tests/e2e/etcd_support.hpp"
#include "tests/support/etcd_cluster.hpp"

using namespace achan;
using namespace achan::test::etcd_e2e;
using namespace std::chrono_literals;

TEST_CASE("etcd resolver: initial list then additions removals and malformed values") {
  test::etcd_cluster etcd(1);
  backend a("a"), b("b"), c("c");
  etcd.put("svc/echo/a", a.address);
  etcd.put("svc/echo/b", R"({"Addr":")" + b.address + R"("})");
  etcd.put("svc/echo/bad", "not an address");
  etcd.put("svc/other/x", c.address);  // another prefix: never seen

  watched_channel w("etcd://" + etcd.authority() + "/svc/echo", {.lb_policy = "round_robin"});
  auto& s = w.s;
  REQUIRE(s.wait_list({a.address, b.address}));
  CHECK(calls_ok(*w.ch, 20) == 20);
  CHECK(s.any_note("etcd key 'svc/echo/bad' skipped"));
  // etcd's gRPC naming format, written by etcdctl as a Go service would.
  etcd.put("svc/echo/c", R"({"Op":0,"Addr":")" + c.address + R"(","Metadata":{"weight":2}})");
  REQUIRE(s.wait_list({a.address, b.address, c.address}));
  etcd.del("svc/echo/a");
  REQUIRE(s.wait_list({b.address, c.address}));
  etcd.put("svc/echo/b", R"({"Op":1,"Addr":")" + b.address + R"("})");
  REQUIRE(s.wait_list({c.address}));
  CHECK(calls_ok(*w.ch, 10) == 10);
  // The prefix's service config key: the channel adopts it.
  etcd.put("svc/echo/_grpc_config", R"({"methodConfig":[{"name":[{}],"timeout":"7s"}]})");
  CHECK(s.wait_config("\"7s\""));
  CHECK(calls_ok(*w.ch, 2) == 2);
}

TEST_CASE("etcd resolver: etcd down keeps the last list and the resolver recovers by itself") {
  test::etcd_cluster etcd(1);
  backend a("a"), b("b");
  etcd.put("svc/a", a.address);
  watched_channel w("etcd://" + etcd.authority() + "/svc", {.lb_policy = "round_robin"});
  auto& s = w.s;
  REQUIRE(s.wait_list({a.address}));
  etcd.stop_member(0);
  REQUIRE(s.wait_error(20s));
  CHECK(calls_ok(*w.ch, 10) == 10);  // the last list still serves
  etcd.restart_member(0);
  etcd.put("svc/b", b.address);
  REQUIRE(s.wait_list({a.address, b.address}, 30s));
}

TEST_CASE("etcd resolver: a compaction past the watched revision makes it list again") {
  test::etcd_cluster etcd(1);
  backend a("a"), b("b");
  etcd.put("svc/a", a.address);
  etcd_options eo;  // slow retries: the compaction lands before the watch resumes
  eo.retry.initial = 3s;
  watched_channel w("etcd://" + etcd.authority() + "/svc", {.resolvers = {make_etcd_resolver(eo)}});
  auto& s = w.s;
  REQUIRE(s.wait_list({a.address}));
  // While etcd is down the watch is gone; writes and a compaction happen meanwhile
  // (the member restarts with the same data and the history compacted).
  etcd.stop_member(0);
  REQUIRE(s.wait_error(20s));
  etcd.restart_member(0);
  etcd.put("svc/b", b.address);
  etcd.del("svc/a");
  etcd.put("svc/z", "filler:1");
  etcd.del("svc/z");
  etcd.compact(etcd.revision());
  REQUIRE(s.wait_list({b.address}, 30s));
  CHECK(s.any_note("listing again"));
}

TEST_CASE("etcd registration: the key lives with its lease and vanishes at once on stop") {
  test::etcd_cluster etcd(1);
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  etcd_registration_options ro;
  ro.ttl = 2s;
  auto reg = etcd_registration::start(sys, "etcd://" + etcd.authority() + "/svc/echo",
                                      "127.0.0.1:5555", ro);
  REQUIRE(reg);
  CHECK((*reg)->key() == "svc/echo/127.0.0.1:5555");
  REQUIRE(poll_until([&] { return (*reg)->registered(); }, 10s));
  auto v = etcd.get("svc/echo/127.0.0.1:5555");
  REQUIRE(v);
  CHECK(*v == R"({"Op":0,"Addr":"127.0.0.1:5555"})");
  // Revoking every lease behind its back: it registers again with a new lease.
  // `etcdctl lease list`: "found N leases" then one hex ID per line.
  auto leases = etcd.etcdctl({"lease", "list"});
  std::istringstream lines(leases.out);
  int revoked = 0;
  for (std::string line; std::getline(lines, line);)
    if (!line.empty() && line.find_first_not_of("0123456789abcdef") == std::string::npos)
      revoked += etcd.etcdctl({"lease", "revoke", line}).code == 0;
  REQUIRE(revoked == 1);
  CHECK(poll_until([&] { return (*reg)->registrations() >= 2; }, 15s));
  CHECK(poll_until([&] { return etcd.get("svc/echo/127.0.0.1:5555").has_value(); }, 10s));
  (*reg)->stop();
  CHECK_FALSE(etcd.get("svc/echo/127.0.0.1:5555"));
  CHECK_FALSE((*reg)->registered());
}

TEST_CASE("etcd targets and options: bad input fails at dial or start with a message") {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  auto no_prefix = dial(sys, "etcd://127.0.0.1:1/");
  REQUIRE_FALSE(no_prefix);
  CHECK(to_string_with_message(no_prefix.error()).find("has no key prefix") != std::string::npos);
  auto bad_member = dial(sys, "etcd://127.0.0.1:1,:x/svc");
  REQUIRE_FALSE(bad_member);
  CHECK(to_string_with_message(bad_member.error()).find("invalid etcd member") !=
        std::string::npos);
  auto reg = etcd_registration::start(sys, "dns:///x", "127.0.0.1:1");
  REQUIRE_FALSE(reg);
  CHECK(reg.error().message.find("is not etcd://") != std::string::npos);
  auto noport = etcd_registration::start(sys, "etcd://127.0.0.1:1/svc", "127.0.0.1");
  REQUIRE_FALSE(noport);
  CHECK(noport.error().message.find("expected HOST:PORT") != std::string::npos);
}
