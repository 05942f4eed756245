// cli/reflection_client against grpc++'s own reflection service (grpcpp_echo_server
// --reflection 1), a peer no one here wrote. This binary links no grpc: achan's client
// is the only reflection client involved.
#include <doctest/doctest.h>

#include <algorithm>

#include "cli/json_codec.hpp"
#include "cli/reflection_client.hpp"
#include "tests/cli/loopback.hpp"
#include "tests/support/process.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

/// A grpcpp_echo_server child process, with or without grpc++'s reflection service.
struct grpcpp_server {
  test::child_process proc;
  std::string address;

  explicit grpcpp_server(bool reflection)
      : proc(test::test_binary("grpcpp_echo_server"), {"--port", "0", "--name", "grpcpp-reflected",
                                                       "--reflection", reflection ? "1" : "0"}) {
    auto line = proc.wait_for_line("listening on ", 20s);
    REQUIRE_MESSAGE(line, "grpcpp_echo_server did not start");
    address = line->substr(std::string_view{"listening on "}.size());
  }
};

bool contains(const std::vector<std::string>& v, const std::string& x) {
  return std::find(v.begin(), v.end(), x) != v.end();
}

}  // namespace

TEST_CASE("reflection client: resolves achan.test.Echo from grpc++'s reflection service") {
  grpcpp_server server{true};
  test::dialer d;
  auto ch = d.dial(server.address);

  auto answer = cli::fetch_reflection(ch, {.symbols = {"achan.test.Echo"}}, 10s);
  REQUIRE_MESSAGE(answer, (answer ? "" : answer.error().message));
  CHECK(contains(answer->services, "achan.test.Echo"));
  CHECK(contains(answer->services, "grpc.reflection.v1alpha.ServerReflection"));
  REQUIRE_FALSE(answer->files.empty());
  CHECK(answer->files[0].name() == "echo.proto");

  auto cat = cli::catalog_from_reflection(ch, {"achan.test.Echo"}, 10s);
  REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
  auto unary = cat->find_method("achan.test.Echo.Unary");
  REQUIRE_MESSAGE(unary, (unary ? "" : unary.error().message));
  CHECK_FALSE(unary->client_streaming);
  CHECK_FALSE(unary->server_streaming);

  // What `achan call` will do with it: JSON in, a real call, JSON out.
  auto req = cli::json_codec{*unary->input}.to_binary(R"({"payload": "aGVsbG8="})");
  REQUIRE_MESSAGE(req, (req ? "" : req.error().message));
  auto r = ch.call(unary->path, *req, test::within(5s)).get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  auto json = cli::json_codec{*unary->output}.to_json(r.payload, {.pretty = false});
  REQUIRE_MESSAGE(json, (json ? "" : json.error().message));
  CHECK(*json == R"({"payload":"aGVsbG8=","server":"grpcpp-reflected","received":1})");
}

TEST_CASE("reflection client: grpc++ reports an unknown symbol as not found") {
  grpcpp_server server{true};
  test::dialer d;
  auto ch = d.dial(server.address);
  auto cat = cli::catalog_from_reflection(ch, {"achan.test.Nope"}, 10s);
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "symbol 'achan.test.Nope' not found on the server");
}

TEST_CASE("reflection client: a grpc++ server without reflection gives the pass --proto message") {
  grpcpp_server server{false};
  test::dialer d;
  auto ch = d.dial(server.address);
  auto cat = cli::catalog_from_reflection(ch, {"achan.test.Echo"}, 10s);
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "server does not support the reflection service; pass --proto");
}
