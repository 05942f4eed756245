// `achan serve` and `achan watch`, spawned.
#include <doctest/doctest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"
#include "tests/support/dnsmasq.hpp"

using namespace achan::test;
using json = nlohmann::json;

TEST_CASE("achan serve: prints its address and serves and exits 0 on SIGTERM") {
  served s{"srv"};
  auto r =
      run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Unary", "--proto", echo_proto()});
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out)["server"] == "srv");
  CHECK(s.proc->stop(std::chrono::seconds(10)) == 0);
}

TEST_CASE("achan serve: several at once and a taken port fails with exit 1") {
  served a{"a"}, b{"b"};
  CHECK(a.address != b.address);
  auto port = a.address.substr(a.address.rfind(':') + 1);
  auto taken = run_achan({"serve", "--port", port});
  CHECK(taken.exit_code == 1);
  CHECK_FALSE(taken.err.empty());
  auto bad = run_achan({"serve", "--port", "70000"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("achan watch: prints channel and subchannel transitions as JSON and sees a backend die") {
  auto backend = std::make_unique<served>("w");
  auto address = backend->address;
  child_process watch{achan_bin(), {"watch", "ipv4:" + address, "--json", "--duration", "20s"}};
  REQUIRE(watch.wait_for_line(R"({"time")", std::chrono::seconds(10)));
  // Wait until the channel is READY, then stop the backend.
  bool ready = false;
  for (int i = 0; i < 100 && !ready; ++i) {
    watch.wait_for_line("{", std::chrono::milliseconds(200));
    for (auto& l : watch.lines())
      if (l.find(R"("event":"channel")") != std::string::npos &&
          l.find(R"("to":"READY")") != std::string::npos)
        ready = true;
  }
  REQUIRE(ready);
  backend.reset();  // SIGTERM: GOAWAY, then the port refuses connections
  bool left_ready = false;
  for (int i = 0; i < 100 && !left_ready; ++i) {
    watch.wait_for_line("{", std::chrono::milliseconds(200));
    for (auto& l : watch.lines()) {
      auto j = json::parse(l);
      if (j["event"] == "subchannel" && j["from"] == "READY")
        left_ready = j["address"] == address;
    }
  }
  CHECK(left_ready);
  bool saw_resolver = false;
  for (auto& l : watch.lines())
    saw_resolver |= json::parse(l)["event"] == "resolver";
  CHECK(saw_resolver);
  watch.signal(SIGINT);
  CHECK(watch.wait_exit(std::chrono::seconds(10)) == 0);
}

TEST_CASE("achan watch: text lines and --duration ends it with exit 0") {
  served s{"w"};
  auto r = run_achan({"watch", "ipv4:" + s.address, "--duration", "700ms"});
  CHECK(r.exit_code == 0);
  CHECK(r.out.find("channel     CONNECTING -> READY") != std::string::npos);
  CHECK(r.out.find("subchannel  " + s.address) != std::string::npos);
  auto bad = run_achan({"watch", "nope:///x", "--lb", "weird"});
  CHECK(bad.exit_code == 2);
}

TEST_CASE("achan watch: --dns-refresh shows a record added to the DNS server") {
  dnsmasq dns{{{"127.0.0.1", "svc.test"}}};
  child_process watch{achan_bin(),
                      {"watch", "dns://" + dns.server() + "/svc.test:50999", "--json",
                       "--dns-refresh", "300ms", "--duration", "20s"}};
  auto resolver_sizes = [&] {
    std::vector<std::size_t> sizes;
    for (auto& l : watch.lines())
      if (auto j = json::parse(l); j["event"] == "resolver")
        sizes.push_back(j["addresses"].size());
    return sizes;
  };
  auto wait_for_size = [&](std::size_t n) {
    for (int i = 0; i < 100; ++i) {
      auto s = resolver_sizes();
      if (!s.empty() && s.back() == n)
        return true;
      watch.wait_for_line("{", std::chrono::milliseconds(100));
    }
    return false;
  };
  REQUIRE(wait_for_size(1));
  dns.set_records({{"127.0.0.1", "svc.test"}, {"127.0.0.2", "svc.test"}});
  CHECK(wait_for_size(2));
  watch.signal(SIGTERM);
  CHECK(watch.wait_exit(std::chrono::seconds(10)) == 0);
}
