// `achan call` and the top-level command, spawned against `achan serve` backends.
#include <doctest/doctest.h>

#include <unistd.h>

#include <cstdio>
#include <fstream>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"

using namespace achan::test;
using json = nlohmann::json;

TEST_CASE("achan: --help lists the commands and a command's --help lists its flags") {
  auto top = run_achan({"--help"});
  CHECK(top.exit_code == 0);
  for (auto cmd : {"call", "bench", "watch", "serve"})
    CHECK(top.out.find(cmd) != std::string::npos);
  auto call = run_achan({"call", "--help"});
  CHECK(call.exit_code == 0);
  for (auto flag : {"--proto", "--data", "--header", "--deadline", "--wait-for-ready", "--lb",
                    "--verbose", "--dns-refresh"})
    CHECK(call.out.find(flag) != std::string::npos);
  auto none = run_achan({});
  CHECK(none.exit_code == 2);
  auto unknown = run_achan({"frobnicate"});
  CHECK(unknown.exit_code == 2);
  CHECK(unknown.err.find("unknown command 'frobnicate'") != std::string::npos);
}

TEST_CASE("achan call: unary request from -d printed as JSON naming the server") {
  served s{"backend-a"};
  auto r = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Unary", "--proto",
                      echo_proto(), "-d", R"({"payload":"aGk="})"});
  CHECK(r.exit_code == 0);
  auto reply = json::parse(r.out);
  CHECK(reply["payload"] == "aGk=");
  CHECK(reply["server"] == "backend-a");
}

TEST_CASE("achan call: server streaming prints one JSON object per message") {
  served s{"b"};
  auto r = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/ServerStream", "--proto",
                      echo_proto(), "--compact", "-d", R"({"payload":"eA==","replyCount":3})"});
  CHECK(r.exit_code == 0);
  auto lines = r.out_lines();
  REQUIRE(lines.size() == 3);
  for (int i = 0; i < 3; ++i)
    CHECK(json::parse(lines[i]).value("index", 0) == i);
}

TEST_CASE("achan call: client and bidi streaming read one JSON object per line from stdin") {
  served s{"b"};
  std::string input = "{\"payload\":\"YQ==\"}\n{\"payload\":\"Yg==\"}\n{\"payload\":\"Yw==\"}\n";
  auto client = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/ClientStream", "--proto",
                           echo_proto(), "--compact", "-d", "@-"},
                          input);
  CHECK(client.exit_code == 0);
  auto reply = json::parse(client.out);
  CHECK(reply["received"] == 3);
  CHECK(reply["payload"] == "Yw==");
  auto bidi = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Bidi", "--proto",
                         echo_proto(), "--compact", "-d", "@-"},
                        input);
  CHECK(bidi.exit_code == 0);
  CHECK(bidi.out_lines().size() == 3);
}

TEST_CASE("achan call: -d @FILE and -H metadata shown by --verbose with the backend") {
  served s{"b"};
  auto path = std::string{"/tmp/achan-call-"} + std::to_string(::getpid()) + ".json";
  std::ofstream{path} << R"({"payload":"aGk="})";
  auto r = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Unary", "--proto",
                      echo_proto(), "-d", "@" + path, "-H", "x-echo-tag: blue", "--verbose"});
  std::remove(path.c_str());
  CHECK(r.exit_code == 0);
  CHECK(r.err.find("x-echo-tag: blue") != std::string::npos);
  CHECK(r.err.find("answered by: " + s.address) != std::string::npos);
}

TEST_CASE("achan call: a non-OK status prints ERROR CODE message on stderr and exits 1") {
  served s{"b"};
  auto failed = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Unary", "--proto",
                           echo_proto(), "-d", R"({"failCode":5,"failMessage":"no such thing"})"});
  CHECK(failed.exit_code == 1);
  CHECK(failed.err.find("ERROR: NOT_FOUND: no such thing") != std::string::npos);
  CHECK(failed.out.empty());
  auto late = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Unary", "--proto",
                         echo_proto(), "-d", R"({"delayMs":3000})", "--deadline", "200ms"});
  CHECK(late.exit_code == 1);
  CHECK(late.err.find("ERROR: DEADLINE_EXCEEDED") != std::string::npos);
  auto down =
      run_achan({"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", echo_proto()});
  CHECK(down.exit_code == 1);
  CHECK(down.err.find("ERROR: UNAVAILABLE") != std::string::npos);
}

TEST_CASE("achan call: usage errors name the problem on one line and exit 2") {
  auto proto = echo_proto();
  const std::vector<std::pair<std::vector<std::string>, std::string>> cases = {
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto, "--bogus"},
       "unknown flag '--bogus'"},
      {{"call", "ipv4:300.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto}, "300.0.0.1"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto, "--lb", "nope"},
       "unknown load-balancing policy 'nope'"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", "/nonexistent.proto"},
       "cannot read"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto, "-d", "{oops"},
       "--data"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto, "-d",
        R"({"nosuchfield":1})"},
       "nosuchfield"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Nope", "--proto", proto}, "Nope"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto, "--deadline", "5"},
       "invalid duration '5'"},
      {{"call", "ipv4:127.0.0.1:1", "/achan.test.Echo/Unary", "--proto", proto, "-H", "novalue"},
       "--header"},
      {{"call", "ipv4:127.0.0.1:1"}, "missing METHOD"},
  };
  for (auto& [args, needle] : cases) {
    CAPTURE(needle);
    auto r = run_achan(args);
    CHECK(r.exit_code == 2);
    CHECK(r.err.find(needle) != std::string::npos);
    CHECK(r.err.find('\n') == r.err.size() - 1);  // exactly one line
  }
}

TEST_CASE("achan call: without --proto the types come from the server's reflection") {
  served s{"refl"};
  auto r = run_achan({"call", "ipv4:" + s.address, "/achan.test.Echo/Unary", "--compact", "-d",
                      R"({"payload":"aGk="})"});
  CHECK(r.exit_code == 0);
  CHECK(json::parse(r.out)["server"] == "refl");
  auto health = run_achan({"call", "ipv4:" + s.address, "grpc.health.v1.Health/Check"});
  CHECK(health.exit_code == 0);
  CHECK(json::parse(health.out)["status"] == "SERVING");
  auto unknown = run_achan({"call", "ipv4:" + s.address, "/nope.Svc/Do"});
  CHECK(unknown.exit_code == 1);
  CHECK(unknown.err.find("nope.Svc") != std::string::npos);
}

TEST_CASE("achan call: a grpc++ server without reflection needs --proto - clear error then OK") {
  child_process peer{test_binary("grpcpp_echo_server"), {"--port", "0"}};
  auto line = peer.wait_for_line("listening on ", std::chrono::seconds(20));
  REQUIRE(line);
  auto address = line->substr(std::string{"listening on "}.size());
  auto without = run_achan({"call", "ipv4:" + address, "/achan.test.Echo/Unary"});
  CHECK(without.exit_code == 1);
  CHECK(without.err.find("pass --proto") != std::string::npos);
  auto with = run_achan({"call", "ipv4:" + address, "/achan.test.Echo/Unary", "--proto",
                         echo_proto(), "-d", R"({"payload":"aGk="})"});
  CHECK(with.exit_code == 0);
  CHECK(json::parse(with.out)["payload"] == "aGk=");
}
