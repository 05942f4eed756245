// cli/reflection_service and cli/reflection_client: the pure answering core, and both
// ends over loopback sockets with achan's own server.
#include <doctest/doctest.h>

#include <algorithm>
#include <mutex>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "cli/json_codec.hpp"
#include "cli/proto_catalog.hpp"
#include "cli/reflection_client.hpp"
#include "cli/reflection_service.hpp"
#include "proto/reflection.pb.h"
#include "testkit/echo_service.hpp"
#include "tests/cli/loopback.hpp"
#include "tests/support/temp_dir.hpp"

using namespace achan;
using namespace std::chrono_literals;
namespace rpb = grpc::reflection::v1alpha;

namespace {

const std::string echo_service = "achan.test.Echo";

/// A small world of .proto files: api.proto imports model.proto, which imports a
/// well-known type; ext.proto (proto2) extends a message.
struct demo_protos {
  test::temp_dir dir;
  cli::proto_catalog catalog = load();

  cli::proto_catalog load() {
    dir.write("model.proto", R"(syntax = "proto3";
package demo;
import "google/protobuf/timestamp.proto";
message Item { string id = 1; google.protobuf.Timestamp at = 2; }
)");
    dir.write("api.proto", R"(syntax = "proto3";
package demo;
import "model.proto";
service Store { rpc Get(Item) returns (Item); }
)");
    dir.write("ext.proto", R"(syntax = "proto2";
package demo;
message Base { extensions 100 to 200; }
extend Base { optional int32 level = 150; optional string tag = 160; }
)");
    auto cat = cli::proto_catalog::from_files({"api.proto", "ext.proto"}, {dir.str()});
    REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
    return std::move(*cat);
  }
};

std::vector<std::string> file_names(const rpb::FileDescriptorResponse& r) {
  std::vector<std::string> out;
  for (const auto& bytes : r.file_descriptor_proto()) {
    google::protobuf::FileDescriptorProto f;
    REQUIRE(f.ParseFromString(bytes));
    out.push_back(f.name());
  }
  return out;
}

/// An achan server with the echo service and, optionally, reflection.
struct echo_server {
  transport::h2_server server;
  std::shared_ptr<void> echo = testkit::add_echo_service(server, "reflected");
  std::string address;

  explicit echo_server(bool reflection) {
    if (reflection)
      cli::add_reflection_service(server,
                                  {echo_service, std::string(cli::reflection_service_name)});
    address = test::listen_loopback(server);
  }
};

}  // namespace

TEST_CASE("reflection service: file requests carry their transitive dependencies") {
  demo_protos p;
  const std::vector<std::string> services{"demo.Store"};
  rpb::ServerReflectionRequest req;
  req.set_host("h");
  req.set_file_containing_symbol("demo.Store");
  auto r = cli::answer_reflection_request(req, services, p.catalog.pool());
  CHECK(r.valid_host() == "h");
  CHECK(r.original_request().file_containing_symbol() == "demo.Store");
  REQUIRE(r.has_file_descriptor_response());
  CHECK(file_names(r.file_descriptor_response()) ==
        std::vector<std::string>{"api.proto", "model.proto", "google/protobuf/timestamp.proto"});

  req.set_file_containing_symbol("demo.Item.at");  // a field is a symbol too
  r = cli::answer_reflection_request(req, services, p.catalog.pool());
  REQUIRE(r.has_file_descriptor_response());
  CHECK(file_names(r.file_descriptor_response()) ==
        std::vector<std::string>{"model.proto", "google/protobuf/timestamp.proto"});

  req.set_file_by_filename("model.proto");
  r = cli::answer_reflection_request(req, services, p.catalog.pool());
  REQUIRE(r.has_file_descriptor_response());
  CHECK(file_names(r.file_descriptor_response()).front() == "model.proto");
}

TEST_CASE("reflection service: list_services extensions and NOT_FOUND errors") {
  demo_protos p;
  const std::vector<std::string> services{"demo.Store", "grpc.reflection.v1alpha.ServerReflection"};
  rpb::ServerReflectionRequest req;
  req.set_list_services("*");
  auto r = cli::answer_reflection_request(req, services, p.catalog.pool());
  REQUIRE(r.has_list_services_response());
  std::vector<std::string> listed;
  for (const auto& s : r.list_services_response().service())
    listed.push_back(s.name());
  CHECK(listed == services);

  req.mutable_file_containing_extension()->set_containing_type("demo.Base");
  req.mutable_file_containing_extension()->set_extension_number(160);
  r = cli::answer_reflection_request(req, services, p.catalog.pool());
  REQUIRE(r.has_file_descriptor_response());
  CHECK(file_names(r.file_descriptor_response()) == std::vector<std::string>{"ext.proto"});

  req.set_all_extension_numbers_of_type("demo.Base");
  r = cli::answer_reflection_request(req, services, p.catalog.pool());
  REQUIRE(r.has_all_extension_numbers_response());
  CHECK(r.all_extension_numbers_response().base_type_name() == "demo.Base");
  std::vector<int> numbers(r.all_extension_numbers_response().extension_number().begin(),
                           r.all_extension_numbers_response().extension_number().end());
  std::sort(numbers.begin(), numbers.end());
  CHECK(numbers == std::vector<int>{150, 160});

  struct unknown_case {
    rpb::ServerReflectionRequest req;
    std::string message;
  };
  std::vector<unknown_case> unknown(4);
  unknown[0].req.set_file_containing_symbol("demo.Nope");
  unknown[0].message = "symbol 'demo.Nope' not found";
  unknown[1].req.set_file_by_filename("nope.proto");
  unknown[1].message = "file 'nope.proto' not found";
  unknown[2].req.mutable_file_containing_extension()->set_containing_type("demo.Base");
  unknown[2].req.mutable_file_containing_extension()->set_extension_number(199);
  unknown[2].message = "extension 199 of 'demo.Base' not found";
  unknown[3].req.set_all_extension_numbers_of_type("demo.Nope");
  unknown[3].message = "type 'demo.Nope' not found";
  for (const auto& u : unknown) {
    CAPTURE(u.message);
    r = cli::answer_reflection_request(u.req, services, p.catalog.pool());
    REQUIRE(r.has_error_response());
    CHECK(r.error_response().error_code() == 5);
    CHECK(r.error_response().error_message() == u.message);
  }

  r = cli::answer_reflection_request(rpb::ServerReflectionRequest{}, services, p.catalog.pool());
  REQUIRE(r.has_error_response());
  CHECK(r.error_response().error_code() == 12);
}

TEST_CASE(
    "reflection: achan's client lists services and resolves achan.test.Echo from achan's server") {
  echo_server s{true};
  test::dialer d;
  auto ch = d.dial(s.address);

  auto answer = cli::fetch_reflection(ch, {.symbols = {echo_service}, .list_services = true}, 5s);
  REQUIRE_MESSAGE(answer, (answer ? "" : answer.error().message));
  CHECK(answer->services ==
        std::vector<std::string>{echo_service, "grpc.reflection.v1alpha.ServerReflection"});
  REQUIRE(answer->files.size() == 1);
  CHECK(answer->files[0].name() == "echo.proto");

  auto cat = cli::catalog_from_reflection(ch, {echo_service}, 5s);
  REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
  auto bidi = cat->find_method("/achan.test.Echo/Bidi");
  REQUIRE_MESSAGE(bidi, (bidi ? "" : bidi.error().message));
  CHECK(bidi->client_streaming);
  CHECK(bidi->server_streaming);
  CHECK(bidi->input->full_name() == "achan.test.EchoRequest");
  // The types are usable for the JSON mapping.
  auto bytes = cli::json_codec{*bidi->input}.to_binary(R"({"payload":"aGk=","replyCount":2})");
  REQUIRE_MESSAGE(bytes, (bytes ? "" : bytes.error().message));
  auto json = cli::json_codec{*bidi->input}.to_json(*bytes, {.pretty = false});
  REQUIRE(json);
  CHECK(*json == R"({"payload":"aGk=","replyCount":2})");
}

TEST_CASE("reflection: an unknown symbol is reported as not found on the server") {
  echo_server s{true};
  test::dialer d;
  auto ch = d.dial(s.address);
  auto cat = cli::catalog_from_reflection(ch, {"no.Such"}, 5s);
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "symbol 'no.Such' not found on the server");
}

TEST_CASE("reflection client: an UNIMPLEMENTED answer gives the pass --proto message") {
  // Answers UNIMPLEMENTED at once, as grpc++ and grpc-go do for a service they lack.
  transport::h2_server server;
  server.add_streaming(cli::reflection_method,
                       [](transport::server_call_info, transport::server_writer out) {
                         out.finish({status_code::unimplemented, "unknown service"});
                         return transport::stream_reader{[](std::string&&) {}, [] {}};
                       });
  auto address = test::listen_loopback(server);
  test::dialer d;
  auto ch = d.dial(address);
  auto cat = cli::catalog_from_reflection(ch, {echo_service}, 5s);
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "server does not support the reflection service; pass --proto");
}

// achan's h2_server answers an unregistered method at its HEADERS (as grpc++ does); a
// reflection client keeps its stream open until it has every answer, so answering only at
// the end of the request stream would make this wait for the deadline.
TEST_CASE("reflection: achan's server without reflection gives the pass --proto message") {
  echo_server s{false};
  test::dialer d;
  auto ch = d.dial(s.address);
  auto cat = cli::catalog_from_reflection(ch, {echo_service}, 2s);
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "server does not support the reflection service; pass --proto");
}

TEST_CASE("reflection client: asks by file name for dependencies the server left out") {
  demo_protos p;
  // A server that, like reflection servers may, sends only the file asked about.
  std::mutex mx;
  std::vector<std::string> asked;
  transport::h2_server server;
  server.add_streaming(cli::reflection_method, [&](transport::server_call_info,
                                                   transport::server_writer out) {
    return transport::stream_reader{
        [&, out](std::string&& bytes) {
          rpb::ServerReflectionRequest req;
          if (!req.ParseFromString(bytes))
            return out.finish({status_code::invalid_argument, "bad request"});
          {
            std::lock_guard lk{mx};
            asked.push_back(req.has_file_by_filename() ? "file " + req.file_by_filename()
                                                       : "symbol " + req.file_containing_symbol());
          }
          auto r = cli::answer_reflection_request(req, {"demo.Store"}, p.catalog.pool());
          auto* files = r.mutable_file_descriptor_response()->mutable_file_descriptor_proto();
          files->erase(files->begin() + 1, files->end());
          out.write(r.SerializeAsString());
        },
        [out] { out.finish(); }};
  });
  auto address = test::listen_loopback(server);
  test::dialer d;
  auto ch = d.dial(address);

  auto cat = cli::catalog_from_reflection(ch, {"demo.Store"}, 5s);
  REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
  auto m = cat->find_method("/demo.Store/Get");
  REQUIRE(m);
  CHECK(m->input->FindFieldByName("at")->message_type()->full_name() ==
        "google.protobuf.Timestamp");
  std::lock_guard lk{mx};
  // The well-known timestamp.proto is not asked for: libprotobuf has it.
  CHECK(asked == std::vector<std::string>{"symbol demo.Store", "file model.proto"});
}

TEST_CASE("reflection client: a silent server ends the session at its deadline") {
  transport::h2_server server;
  server.add_streaming(cli::reflection_method,
                       [](transport::server_call_info, transport::server_writer) {
                         return transport::stream_reader{[](std::string&&) {}, [] {}};
                       });
  auto address = test::listen_loopback(server);
  test::dialer d;
  auto ch = d.dial(address);
  auto t0 = std::chrono::steady_clock::now();
  auto answer = cli::fetch_reflection(ch, {.symbols = {echo_service}}, 300ms);
  CHECK(std::chrono::steady_clock::now() - t0 < 5s);
  REQUIRE_FALSE(answer);
  CHECK(answer.error().message ==
        "server reflection did not finish within 300ms; pass --proto if the "
        "server has no reflection service");
}
