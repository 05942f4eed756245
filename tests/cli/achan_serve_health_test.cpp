// `achan serve`'s health at run time: SIGUSR1 and --not-serving, seen through
// grpc.health.v1.Health/Check with `achan call`.
#include <doctest/doctest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"

using namespace achan::test;
using json = nlohmann::json;

namespace {

/// The status grpc.health.v1.Health/Check of `service` answers ("" = the whole server).
std::string check(const served& s, const std::string& service) {
  std::vector<std::string> args{"call", "ipv4:" + s.address, "grpc.health.v1.Health/Check"};
  if (!service.empty())
    args.insert(args.end(), {"-d", json{{"service", service}}.dump()});
  auto r = run_achan(args);
  REQUIRE(r.exit_code == 0);
  auto j = json::parse(r.out);
  return j.contains("status") ? j["status"].get<std::string>() : "UNKNOWN";  // proto3 JSON
}

}  // namespace

TEST_CASE("achan serve: SIGUSR1 toggles health between NOT_SERVING and SERVING") {
  served s{"h"};
  CHECK(check(s, "") == "SERVING");
  s.proc->signal(SIGUSR1);
  REQUIRE(s.proc->wait_for_line("health: ", std::chrono::seconds(10)) == "health: NOT_SERVING");
  CHECK(check(s, "") == "NOT_SERVING");
  CHECK(check(s, "achan.test.Echo") == "NOT_SERVING");
  s.proc->signal(SIGUSR1);
  REQUIRE(s.proc->wait_for_line("health: ", std::chrono::seconds(10)) == "health: SERVING");
  CHECK(check(s, "") == "SERVING");
  CHECK(check(s, "achan.test.Echo") == "SERVING");
  CHECK(s.proc->stop(std::chrono::seconds(10)) == 0);
}

TEST_CASE("achan serve: --not-serving starts NOT_SERVING and SIGUSR1 makes it SERVING") {
  served s{"h", {"--not-serving"}};
  CHECK(check(s, "") == "NOT_SERVING");
  CHECK(check(s, "achan.test.Echo") == "NOT_SERVING");
  s.proc->signal(SIGUSR1);
  REQUIRE(s.proc->wait_for_line("health: ", std::chrono::seconds(10)) == "health: SERVING");
  CHECK(check(s, "achan.test.Echo") == "SERVING");
  CHECK(s.proc->stop(std::chrono::seconds(10)) == 0);
}
