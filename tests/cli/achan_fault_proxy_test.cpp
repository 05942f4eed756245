// `achan fault-proxy` spawned for real: a --config proxy in front of `achan serve`, driven
// over its toxiproxy API, its log lines, its exit codes.
#include <doctest/doctest.h>

#include <csignal>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace achan::test;
using namespace std::chrono_literals;

namespace {

bool any_line(const child_process& p, const std::string& needle) {
  for (auto& l : p.lines())
    if (l.find(needle) != std::string::npos)
      return true;
  return false;
}

}  // namespace

TEST_CASE(
    "achan fault-proxy: a --config proxy in front of achan serve passes calls and logs them") {
  served backend{"behind"};
  temp_dir dir;
  auto config = dir.write("proxies.json", R"([{"name":"echo","listen":"127.0.0.1:0","upstream":")" +
                                              backend.address + R"("}])");
  child_process proxy(achan_bin(), {"fault-proxy", "--api", "127.0.0.1:0", "--config", config});
  auto up = proxy.wait_for_line("api listening on ", 10s);
  REQUIRE(up);
  auto api_port = std::stoi(up->substr(up->rfind(':') + 1));
  httplib::Client api("127.0.0.1", api_port);
  auto got = api.Get("/proxies/echo");
  REQUIRE(got);
  CHECK(got->status == 200);
  auto listen = nlohmann::json::parse(got->body).at("listen").get<std::string>();

  auto call = run_achan({"call", "ipv4:" + listen, "/achan.test.Echo/Unary", "--proto",
                         echo_proto(), "-d", R"({"payload":"aGk="})"});
  CHECK(call.exit_code == 0);
  CHECK(call.out.find("behind") != std::string::npos);

  auto added = api.Post("/proxies/echo/toxics",
                        R"({"type":"latency","attributes":{"latency":200}})", "application/json");
  REQUIRE(added);
  CHECK(added->status == 200);
  auto t0 = std::chrono::steady_clock::now();
  auto slow = run_achan(
      {"call", "ipv4:" + listen, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d", "{}"});
  CHECK(slow.exit_code == 0);
  CHECK(std::chrono::steady_clock::now() - t0 >= 200ms);

  proxy.wait_for_line("no such line", 300ms);  // let the log lines arrive
  CHECK(any_line(proxy, "proxy created proxy=echo"));
  CHECK(any_line(proxy, "toxic added proxy=echo toxic=latency_downstream"));
  CHECK(any_line(proxy, "connection opened proxy=echo"));
  CHECK(any_line(proxy, "connection closed proxy=echo"));
  CHECK(proxy.stop() == 0);  // SIGTERM: a clean exit
}

TEST_CASE("achan fault-proxy: --json logs one JSON object per line") {
  served backend{"behind"};
  temp_dir dir;
  auto config =
      dir.write("proxies.json", R"([{"name":"j","upstream":")" + backend.address + R"("}])");
  child_process proxy(achan_bin(),
                      {"fault-proxy", "--api", "127.0.0.1:0", "--config", config, "--json"});
  REQUIRE(proxy.wait_for_line("api listening on ", 10s));
  auto line = proxy.wait_for_line("{", 5s);
  REQUIRE(line);
  auto j = nlohmann::json::parse(*line);
  CHECK(j.at("kind") == "proxy");
  CHECK(j.at("proxy") == "j");
  CHECK(j.contains("time"));
  CHECK(proxy.stop() == 0);
}

TEST_CASE("achan fault-proxy: a bad --config or --api exits 2 with a message") {
  temp_dir dir;
  auto bad_json = dir.write("bad.json", "[{\"name\":");
  auto r = run_achan({"fault-proxy", "--api", "127.0.0.1:0", "--config", bad_json});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--config") != std::string::npos);
  auto no_upstream = dir.write("nou.json", R"([{"name":"x","listen":"127.0.0.1:0"}])");
  r = run_achan({"fault-proxy", "--api", "127.0.0.1:0", "--config", no_upstream});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("upstream") != std::string::npos);
  r = run_achan({"fault-proxy", "--api", "127.0.0.1:0", "--config", dir.str() + "/missing.json"});
  CHECK(r.exit_code == 2);
  r = run_achan({"fault-proxy", "--api", "nonsense"});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("--api") != std::string::npos);
  r = run_achan({"fault-proxy", "--max-buffered", "12"});
  CHECK(r.exit_code == 2);
}
