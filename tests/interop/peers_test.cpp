// Checks the grpc++ peers themselves (grpcpp_echo_server and grpcpp_echo_client) before
// achan is tested against them: every Echo method, the request knobs, metadata echo and
// a clean exit on SIGTERM.
#include <doctest/doctest.h>

#include <csignal>
#include <string>
#include <vector>

#include "tests/support/process.hpp"

namespace {

using namespace std::chrono_literals;
using achan::test::child_process;
using achan::test::test_binary;

/// A grpcpp_echo_server on a free loopback port.
struct echo_server {
  child_process proc;
  std::string address;  ///< "127.0.0.1:PORT"

  explicit echo_server(const std::string& name)
      : proc(test_binary("grpcpp_echo_server"), {"--port", "0", "--name", name}) {
    auto line = proc.wait_for_line("listening on ", 20s);
    REQUIRE_MESSAGE(line.has_value(), "grpcpp_echo_server did not report its port");
    address = line->substr(std::string("listening on ").size());
  }
};

/// Runs grpcpp_echo_client with `args`, requires exit 0 and returns its JSON line.
std::string run_client(std::vector<std::string> args) {
  child_process client(test_binary("grpcpp_echo_client"), args);
  auto line = client.wait_for_line("{", 30s);
  auto status = client.wait_exit(10s);
  REQUIRE_MESSAGE(line.has_value(), "grpcpp_echo_client printed no JSON line");
  REQUIRE(status.has_value());
  CHECK(*status == 0);
  return *line;
}

/// The raw text of member `key` of a flat JSON object line: a number, or a string
/// with its quotes (good enough for the lines the client prints).
std::string field(const std::string& json, const std::string& key) {
  auto at = json.find("\"" + key + "\":");
  if (at == std::string::npos)
    return "<missing>";
  auto start = at + key.size() + 3;
  if (json[start] == '"') {
    auto end = start + 1;
    while (end < json.size() && json[end] != '"')
      end += json[end] == '\\' ? 2 : 1;
    return json.substr(start, end - start + 1);
  }
  auto end = json.find_first_of(",}", start);
  return json.substr(start, end - start);
}

std::vector<std::string> client_args(const echo_server& s, const std::string& method) {
  return {"--target", s.address, "--method", method};
}

std::vector<std::string> operator+(std::vector<std::string> a, std::vector<std::string> b) {
  a.insert(a.end(), b.begin(), b.end());
  return a;
}

}  // namespace

TEST_CASE("interop grpcpp peers: unary echoes the payload and names the server") {
  echo_server server("alpha");
  auto json =
      run_client(client_args(server, "unary") + std::vector<std::string>{"--payload-size", "100"});
  INFO(json);
  CHECK(field(json, "code") == "0");
  CHECK(field(json, "message") == "\"\"");
  CHECK(field(json, "replies") == "1");
  CHECK(field(json, "bytes") == "100");
  CHECK(field(json, "server") == "\"alpha\"");
}

TEST_CASE("interop grpcpp peers: server_stream sends count replies") {
  echo_server server("beta");
  auto json = run_client(client_args(server, "server_stream") +
                         std::vector<std::string>{"--count", "5", "--payload-size", "10"});
  INFO(json);
  CHECK(field(json, "code") == "0");
  CHECK(field(json, "replies") == "5");
  CHECK(field(json, "bytes") == "50");
  CHECK(field(json, "server") == "\"beta\"");
}

TEST_CASE("interop grpcpp peers: reply_size replaces the echoed payload") {
  echo_server server("gamma");
  auto json = run_client(client_args(server, "server_stream") +
                         std::vector<std::string>{"--count", "3", "--reply-size", "1000"});
  INFO(json);
  CHECK(field(json, "code") == "0");
  CHECK(field(json, "replies") == "3");
  CHECK(field(json, "bytes") == "3000");
}

TEST_CASE("interop grpcpp peers: client_stream answers once after all requests") {
  echo_server server("delta");
  auto json = run_client(client_args(server, "client_stream") +
                         std::vector<std::string>{"--count", "7", "--payload-size", "20"});
  INFO(json);
  CHECK(field(json, "code") == "0");
  CHECK(field(json, "replies") == "1");
  CHECK(field(json, "bytes") == "20");
  CHECK(field(json, "server") == "\"delta\"");
}

TEST_CASE("interop grpcpp peers: bidi answers every request") {
  echo_server server("epsilon");
  auto json = run_client(client_args(server, "bidi") +
                         std::vector<std::string>{"--count", "4", "--payload-size", "8"});
  INFO(json);
  CHECK(field(json, "code") == "0");
  CHECK(field(json, "replies") == "4");
  CHECK(field(json, "bytes") == "32");
}

TEST_CASE("interop grpcpp peers: fail_code ends the call with that status and message") {
  echo_server server("zeta");
  for (std::string method : {"unary", "server_stream", "client_stream", "bidi"}) {
    auto json =
        run_client(client_args(server, method) +
                   std::vector<std::string>{"--fail-code", "9", "--fail-message", "no \"way\""});
    INFO(method << ": " << json);
    CHECK(field(json, "code") == "9");
    CHECK(field(json, "message") == "\"no \\\"way\\\"\"");
    CHECK(field(json, "replies") == "0");
  }
}

TEST_CASE("interop grpcpp peers: a deadline shorter than delay_ms gives DEADLINE_EXCEEDED") {
  echo_server server("eta");
  auto json = run_client(client_args(server, "unary") +
                         std::vector<std::string>{"--delay-ms", "2000", "--deadline-ms", "200"});
  INFO(json);
  CHECK(field(json, "code") == "4");
  CHECK(field(json, "replies") == "0");
}

TEST_CASE("interop grpcpp peers: x-echo- metadata comes back as headers and trailers") {
  echo_server server("theta");
  // "x-echo-data-bin" carries bytes 0x00 0xff 0x10 (base64 "AP8Q" on both command line
  // and output).
  auto json = run_client(client_args(server, "unary") +
                         std::vector<std::string>{"--metadata", "x-echo-one=1", "other=no",
                                                  "--metadata", "x-echo-data-bin=AP8Q"});
  INFO(json);
  CHECK(field(json, "code") == "0");
  auto initial = json.substr(json.find("\"initial\":"));
  auto trailing = json.substr(json.find("\"trailing\":"));
  initial = initial.substr(0, initial.find('}'));
  trailing = trailing.substr(0, trailing.find('}'));
  for (const auto& block : {initial, trailing}) {
    CHECK(block.find("\"x-echo-one\":\"1\"") != std::string::npos);
    CHECK(block.find("\"x-echo-data-bin\":\"AP8Q\"") != std::string::npos);
    CHECK(block.find("other") == std::string::npos);
  }
}

TEST_CASE("interop grpcpp peers: the server exits 0 on SIGTERM") {
  echo_server server("iota");
  run_client(client_args(server, "unary"));
  server.proc.signal(SIGTERM);
  auto status = server.proc.wait_exit(10s);
  REQUIRE(status.has_value());
  CHECK(*status == 0);
}

TEST_CASE("interop grpcpp peers: usage errors exit 2") {
  child_process bad_client(test_binary("grpcpp_echo_client"), {"--method", "nope"});
  CHECK(bad_client.wait_exit(10s) == std::optional<int>(2));
  child_process bad_server(test_binary("grpcpp_echo_server"), {"--port", "0", "--host", "0.0.0.0"});
  CHECK(bad_server.wait_exit(10s) == std::optional<int>(2));
  // TLS flags: half a key pair, a missing file, a flag without what it needs.
  const std::vector<std::vector<std::string>> bad_tls_servers{
      {"--port", "0", "--tls-cert", "/nonexistent/cert.pem"},
      {"--port", "0", "--tls-cert", "/nonexistent/c.pem", "--tls-key", "/nonexistent/k.pem"},
      {"--port", "0", "--tls-client-ca", "/nonexistent/ca.pem"}};
  for (const auto& args : bad_tls_servers) {
    child_process p(test_binary("grpcpp_echo_server"), args);
    CHECK(p.wait_exit(10s) == std::optional<int>(2));
  }
  const std::vector<std::vector<std::string>> bad_tls_clients{
      {"--target", "127.0.0.1:1", "--method", "unary", "--tls-key", "/nonexistent/k.pem"},
      {"--target", "127.0.0.1:1", "--method", "unary", "--tls-ca", "/nonexistent/ca.pem"},
      {"--target", "127.0.0.1:1", "--method", "unary", "--server-name", "x"},
      {"--target", "127.0.0.1:1", "--method", "raw"}};
  for (const auto& args : bad_tls_clients) {
    child_process p(test_binary("grpcpp_echo_client"), args);
    CHECK(p.wait_exit(10s) == std::optional<int>(2));
  }
}
