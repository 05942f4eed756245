// `achan proxy` spawned for real in front of `achan serve` backends: per-call spread seen
// through its control API, faults set at run time, usage errors, SIGTERM.
#include <doctest/doctest.h>

#include <httplib.h>
#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"
#include "tests/support/temp_dir.hpp"

using namespace achan::test;
using namespace std::chrono_literals;

TEST_CASE("achan proxy: balances calls from one client across backends - faults over its API") {
  served a{"alpha"}, b{"beta"};
  child_process proxy(achan_bin(), {"proxy", "--target", "ipv4:" + a.address + "," + b.address,
                                    "--lb", "round_robin", "--api", "127.0.0.1:0"});
  auto up = proxy.wait_for_line("listening on ", 10s);
  REQUIRE(up);
  auto target = "ipv4:" + up->substr(std::string{"listening on "}.size());
  auto api_line = proxy.wait_for_line("api listening on ", 10s);
  REQUIRE(api_line);
  httplib::Client api("127.0.0.1", std::stoi(api_line->substr(api_line->rfind(':') + 1)));

  auto bench = run_achan({"bench", target, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d",
                          "{}", "--total", "400", "-c", "8", "--json"});
  CHECK(bench.exit_code == 0);
  auto stats = api.Get("/stats");
  REQUIRE(stats);
  CHECK(stats->status == 200);
  auto s = nlohmann::json::parse(stats->body).at(0);
  CHECK(s.at("name") == "default");
  CHECK(s.at("calls").get<int>() >= 400);
  CHECK(s.at("codes").size() == 1);  // OK only
  auto backends = s.at("backends");
  REQUIRE(backends.size() == 2);  // one client connection, calls on both backends
  for (auto& [addr, n] : backends.items())
    CHECK_MESSAGE(n.get<int>() > 100, addr << " got " << n);

  auto set = api.Put(
      "/routes/default/faults",
      R"({"rules":[{"abort_percent":100,"abort_code":"UNAVAILABLE","abort_message":"down for a test"}]})",
      "application/json");
  REQUIRE(set);
  CHECK(set->status == 200);
  auto failed =
      run_achan({"call", target, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d", "{}"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("down for a test") != std::string::npos);
  auto bad =
      api.Put("/routes/default/faults", R"({"rules":[{"abort_percent":101}]})", "application/json");
  REQUIRE(bad);
  CHECK(bad->status == 400);
  CHECK(bad->body.find("percentages must be within 0..100") != std::string::npos);
  auto missing = api.Get("/routes/nope/faults");
  REQUIRE(missing);
  CHECK(missing->status == 404);
  auto cleared = api.Delete("/routes/default/faults");
  REQUIRE(cleared);
  CHECK(cleared->status == 204);
  CHECK(run_achan({"call", target, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d", "{}"})
            .exit_code == 0);
  CHECK(proxy.stop() == 0);  // SIGTERM: a graceful exit
}

TEST_CASE("achan proxy: a route file sends method prefixes to their own targets") {
  served a{"alpha"}, b{"beta"};
  temp_dir dir;
  auto routes = dir.write("routes.json", R"({"routes":[
    {"name":"unary","prefix":"/achan.test.Echo/Unary","target":"ipv4:)" +
                                             a.address + R"("},
    {"name":"rest","prefix":"","target":"ipv4:)" +
                                             b.address + R"(",
     "faults":[{"method":"/achan.test.Echo/ServerStream","abort_percent":100,"abort_code":5}]}]})");
  child_process proxy(achan_bin(), {"proxy", "--routes", routes});
  auto up = proxy.wait_for_line("listening on ", 10s);
  REQUIRE(up);
  auto target = "ipv4:" + up->substr(std::string{"listening on "}.size());
  auto echo =
      run_achan({"call", target, "/achan.test.Echo/Unary", "--proto", echo_proto(), "-d", "{}"});
  CHECK(echo.exit_code == 0);
  CHECK(echo.out.find("alpha") != std::string::npos);
  auto aborted = run_achan(
      {"call", target, "/achan.test.Echo/ServerStream", "--proto", echo_proto(), "-d", "{}"});
  CHECK(aborted.exit_code == 1);
  CHECK(aborted.err.find("NOT_FOUND") != std::string::npos);
  // No .proto: the proxy passes reflection and health through to beta like any service.
  auto health = run_achan({"call", target, "/grpc.health.v1.Health/Check", "-d", "{}"});
  CHECK_MESSAGE(health.exit_code == 0, health.err);
  CHECK(health.out.find("SERVING") != std::string::npos);
}

TEST_CASE("achan proxy: usage errors exit 2 with a message") {
  auto none = run_achan({"proxy"});
  CHECK(none.exit_code == 2);
  CHECK(none.err.find("give either --target or --routes") != std::string::npos);
  temp_dir dir;
  auto bad =
      dir.write("routes.json", R"({"routes":[{"name":"x","target":"ipv4:127.0.0.1:1","wat":1}]})");
  auto r = run_achan({"proxy", "--routes", bad});
  CHECK(r.exit_code == 2);
  CHECK(r.err.find("routes[0]: unknown field 'wat'") != std::string::npos);
  auto listen = run_achan({"proxy", "--target", "ipv4:127.0.0.1:1", "--listen", "nohost"});
  CHECK(listen.exit_code == 2);
  CHECK(listen.err.find("--listen: 'nohost' is not HOST:PORT") != std::string::npos);
  auto pct = run_achan(
      {"proxy", "--target", "ipv4:127.0.0.1:1", "--abort-code", "14", "--abort-percent", "120"});
  CHECK(pct.exit_code == 2);
}
