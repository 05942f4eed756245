// `achan bench`, spawned against `achan serve` backends.
#include <doctest/doctest.h>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"

using namespace achan::test;
using json = nlohmann::json;

namespace {

std::vector<std::string> bench_args(const std::string& target, std::vector<std::string> extra) {
  std::vector<std::string> a{"bench",      target, "/achan.test.Echo/Unary", "--proto",
                             echo_proto(), "-d",   R"({"payload":"aGk="})",  "--json"};
  a.insert(a.end(), extra.begin(), extra.end());
  return a;
}

}  // namespace

TEST_CASE("achan bench: --total calls over three backends with round_robin - exact JSON counts") {
  served a{"a"}, b{"b"}, c{"c"};
  auto target = "ipv4:" + a.address + "," + b.address + "," + c.address;
  // The warm-up lets all three connect first: calls picked while only one is READY all go
  // to it (seen under a loaded ASan run as one backend with fewer than 75).
  auto r = run_achan(bench_args(target, {"--lb", "round_robin", "--total", "300", "--concurrency",
                                         "8", "--wait-for-ready", "--warmup", "500ms"}));
  REQUIRE(r.exit_code == 0);
  auto j = json::parse(r.out);  // stdout is exactly one JSON object
  CHECK(j["count"] == 300);
  CHECK(j["ok"] == 300);
  CHECK(j["errors"].empty());
  CHECK(j["qps"].get<double>() > 0);
  CHECK(j["duration_s"].get<double>() > 0);
  for (auto k : {"p50", "p90", "p99", "p999", "max"})
    CHECK(j["latency_us"][k].get<double>() > 0);
  CHECK(j["latency_us"]["p50"].get<double>() <= j["latency_us"]["p99"].get<double>());
  REQUIRE(j["per_backend"].size() == 3);
  int sum = 0;
  for (auto& [addr, n] : j["per_backend"].items()) {
    CHECK(n.get<int>() >= 75);  // round_robin: 100 each, give or take start-up order
    sum += n.get<int>();
  }
  CHECK(sum == 300);
}

TEST_CASE("achan bench: every started call counted once - errors by code with one backend down") {
  served a{"a"};
  // 127.0.0.1:1 refuses connections: fail-fast calls picked while it is the only choice
  // fail, the rest succeed; ok + errors must equal count whatever the split.
  auto r = run_achan(bench_args("ipv4:" + a.address + ",127.0.0.1:1",
                                {"--lb", "round_robin", "--total", "200", "--concurrency", "4"}));
  REQUIRE(r.exit_code == 0);
  auto j = json::parse(r.out);
  CHECK(j["count"] == 200);
  std::int64_t errors = 0;
  for (auto& [code, n] : j["errors"].items()) {
    CHECK(code == "UNAVAILABLE");
    errors += n.get<std::int64_t>();
  }
  CHECK(j["ok"].get<std::int64_t>() + errors == 200);
  CHECK(j["per_backend"].contains(a.address));
  CHECK_FALSE(j["per_backend"].contains("127.0.0.1:1"));
}

TEST_CASE("achan bench: --rate starts calls at a fixed rate for --duration") {
  served a{"a"};
  auto r = run_achan(bench_args("ipv4:" + a.address, {"--rate", "200", "--duration", "1s"}));
  REQUIRE(r.exit_code == 0);
  auto j = json::parse(r.out);
  CHECK(j["count"].get<int>() >= 180);
  CHECK(j["count"].get<int>() <= 202);
  CHECK(j["ok"] == j["count"]);
}

TEST_CASE("achan bench: the text summary has percentiles a histogram and backends") {
  served a{"a"};
  auto args = bench_args("ipv4:" + a.address, {"--total", "50"});
  args.erase(std::find(args.begin(), args.end(), "--json"));
  auto r = run_achan(args);
  REQUIRE(r.exit_code == 0);
  for (auto s : {"Count:", "p99", "Histogram", "Status codes:", a.address.c_str()})
    CHECK(r.out.find(s) != std::string::npos);
}

TEST_CASE("achan bench: usage errors exit 2") {
  auto target = std::string{"ipv4:127.0.0.1:1"};
  for (auto extra : std::vector<std::vector<std::string>>{{"--concurrency", "0"},
                                                          {"--duration", "soon"},
                                                          {"--rate", "-3"},
                                                          {"--connections", "0"}}) {
    auto r = run_achan(bench_args(target, extra));
    CHECK(r.exit_code == 2);
  }
  auto streaming = run_achan({"bench", target, "/achan.test.Echo/Bidi", "--proto", echo_proto()});
  CHECK(streaming.exit_code == 2);
  CHECK(streaming.err.find("streaming") != std::string::npos);
}
