// `achan serve --register`: the server's key in a real etcd lives with the process —
// gone at once on SIGTERM, gone within the lease TTL after SIGKILL — and `achan watch`
// shows it appear; a running `achan bench` over etcd:// follows servers that come and go.
#include <doctest/doctest.h>

#include <csignal>
#include <thread>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/process.hpp"

using namespace achan::test;
using namespace std::chrono_literals;

namespace {
/// Polls etcd until `key` is present (`want`) or absent, up to `limit`. True on success.
bool await_key(const etcd_cluster& etcd, const std::string& key, bool want,
               std::chrono::milliseconds limit) {
  auto deadline = std::chrono::steady_clock::now() + limit;
  while (std::chrono::steady_clock::now() < deadline) {
    if (etcd.get(key).has_value() == want)
      return true;
    std::this_thread::sleep_for(50ms);  // a bounded poll of an external store
  }
  return false;
}
std::string port_of(const std::string& line) {
  return line.substr(line.rfind(':') + 1);
}
}  // namespace

TEST_CASE("achan serve --register: SIGTERM removes the key at once and SIGKILL within the TTL") {
  etcd_cluster etcd(1);
  auto target = "etcd://" + etcd.authority() + "/svc/echo";
  {
    child_process watch(test_binary("achan"), {"watch", target, "--duration", "20s"});
    child_process serve(test_binary("achan"), {"serve", "--register", target});
    auto l = serve.wait_for_line("listening on ", 10s);
    REQUIRE(l);
    auto key = "svc/echo/127.0.0.1:" + port_of(*l);
    REQUIRE(serve.wait_for_line("registering " + key, 10s));
    REQUIRE(await_key(etcd, key, true, 10s));
    CHECK(etcd.get(key) == R"({"Op":0,"Addr":"127.0.0.1:)" + port_of(*l) + "\"}");
    bool listed = false;  // `achan watch` prints the resolver's list with the new server
    auto want = "resolver    1 address: 127.0.0.1:" + port_of(*l);
    for (int i = 0; i < 50 && !listed; ++i)
      if (auto line = watch.wait_for_line("", 10s))
        listed = line->find(want) != std::string::npos;
      else
        break;
    CHECK(listed);
    serve.signal(SIGTERM);
    CHECK(serve.wait_exit(10s) == 0);
    CHECK_FALSE(etcd.get(key));  // revoked before the process exited
  }
  child_process killed(test_binary("achan"), {"serve", "--register", target, "--lease-ttl", "2s"});
  auto l = killed.wait_for_line("listening on ", 10s);
  REQUIRE(l);
  auto key = "svc/echo/127.0.0.1:" + port_of(*l);
  REQUIRE(await_key(etcd, key, true, 10s));
  killed.signal(SIGKILL);
  killed.wait_exit(5s);
  CHECK(etcd.get(key));                     // no revoke: the lease still holds it
  CHECK(await_key(etcd, key, false, 10s));  // and it expires with the lease
}

TEST_CASE("achan serve --register: a bad registration target is a usage error") {
  child_process serve(test_binary("achan"), {"serve", "--register", "dns:///x"});
  CHECK(serve.wait_exit(10s) == 2);
}

TEST_CASE("achan bench over etcd: servers registering and leaving under load fail no call") {
  etcd_cluster etcd(1);
  auto target = "etcd://" + etcd.authority() + "/svc/echo";
  auto a = std::make_unique<served>("a", std::vector<std::string>{"--register", target});
  served b{"b", {"--register", target}};
  REQUIRE(await_key(etcd, "svc/echo/" + a->address, true, 10s));
  REQUIRE(await_key(etcd, "svc/echo/" + b.address, true, 10s));
  child_process bench(
      achan_bin(), {"bench", target, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d",
                    R"({"payload":"aGk="})", "--json", "--lb", "round_robin", "--concurrency", "4",
                    "--duration", "8s", "--wait-for-ready"});
  std::this_thread::sleep_for(1500ms);  // the load runs on the first two (bounded: 8 s in all)
  served c{"c", {"--register", target}};
  REQUIRE(await_key(etcd, "svc/echo/" + c.address, true, 10s));
  std::this_thread::sleep_for(1500ms);  // ... and on the third
  auto a_address = a->address;
  a->proc->signal(SIGTERM);  // revokes its key, then drains its calls
  CHECK(a->proc->wait_exit(10s) == 0);
  a.reset();
  std::string out;
  while (auto line = bench.wait_for_line("", 20s))
    out += *line;
  REQUIRE(bench.wait_exit(10s) == 0);
  auto j = nlohmann::json::parse(out);
  INFO(out);
  CHECK(j["errors"].empty());
  CHECK(j["ok"] == j["count"]);
  auto& per = j["per_backend"];
  for (const auto& addr : {a_address, b.address, c.address}) {
    REQUIRE_MESSAGE(per.contains(addr), addr);
    CHECK(per[addr].get<std::int64_t>() > 0);
  }
}
