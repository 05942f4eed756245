// cli/proto_catalog: .proto files parsed at run time and descriptors from elsewhere,
// and method lookup by the names a user types.
#include <doctest/doctest.h>

#include <google/protobuf/descriptor.h>
#include <google/protobuf/descriptor.pb.h>

#include "cli/proto_catalog.hpp"
#include "proto/echo.pb.h"
#include "tests/support/temp_dir.hpp"

using achan::cli::proto_catalog;
using achan::test::temp_dir;

namespace {

const char* const greeter_proto = R"(syntax = "proto3";
package demo;
message HelloRequest { string name = 1; }
message HelloReply { string text = 1; }
service Greeter {
  rpc Hello(HelloRequest) returns (HelloReply);
  rpc Chat(stream HelloRequest) returns (stream HelloReply);
  rpc Feed(HelloRequest) returns (stream HelloReply);
}
)";

}  // namespace

TEST_CASE("proto_catalog: loads a .proto file and resolves its methods") {
  temp_dir dir;
  auto file = dir.write("greeter.proto", greeter_proto);
  auto cat = proto_catalog::from_files({file}, {});
  REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
  CHECK(cat->services() == std::vector<std::string>{"demo.Greeter"});
  CHECK(cat->origin() == "greeter.proto");

  auto hello = cat->find_method("/demo.Greeter/Hello");
  REQUIRE_MESSAGE(hello, (hello ? "" : hello.error().message));
  CHECK(hello->path == "/demo.Greeter/Hello");
  CHECK(hello->input->full_name() == "demo.HelloRequest");
  CHECK(hello->output->full_name() == "demo.HelloReply");
  CHECK_FALSE(hello->client_streaming);
  CHECK_FALSE(hello->server_streaming);

  auto chat = cat->find_method("/demo.Greeter/Chat");
  REQUIRE(chat);
  CHECK(chat->client_streaming);
  CHECK(chat->server_streaming);
  auto feed = cat->find_method("/demo.Greeter/Feed");
  REQUIRE(feed);
  CHECK_FALSE(feed->client_streaming);
  CHECK(feed->server_streaming);
  CHECK(cat->find_message("demo.HelloReply") == hello->output);
  CHECK(cat->find_message("demo.Nope") == nullptr);
}

TEST_CASE("proto_catalog: a syntax error is one line with file line and column") {
  temp_dir dir;
  auto file = dir.write("bad.proto",
                        "syntax = \"proto3\";\npackage demo;\nmessage A {\n  string x = 1\n}\n");
  auto cat = proto_catalog::from_files({file}, {});
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "bad.proto:5:1: Expected \";\".");
  CHECK(cat.error().message.find('\n') == std::string::npos);
}

TEST_CASE("proto_catalog: a semantic error names the file and place") {
  temp_dir dir;
  auto file = dir.write("types.proto",
                        "syntax = \"proto3\";\npackage demo;\nmessage A {\n  Missing m = 1;\n}\n");
  auto cat = proto_catalog::from_files({file}, {});
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message.starts_with("types.proto:4:3: "));
  CHECK(cat.error().message.find("\"Missing\" is not defined") != std::string::npos);
}

TEST_CASE("proto_catalog: a missing file names the file and the reason") {
  temp_dir dir;
  auto missing = dir.str() + "/nope.proto";
  auto cat = proto_catalog::from_files({missing}, {});
  REQUIRE_FALSE(cat);
  CHECK(cat.error().message == "cannot read '" + missing + "': No such file or directory");

  auto none = proto_catalog::from_files({}, {});
  REQUIRE_FALSE(none);
  CHECK(none.error().message == "no .proto file given");
}

TEST_CASE("proto_catalog: imports resolve through the -I directories in order") {
  temp_dir dir;
  dir.write("common/demo/types.proto",
            "syntax = \"proto3\";\npackage demo.types;\nmessage Name { string v = 1; }\n");
  auto main_file = dir.write("api/main.proto", R"(syntax = "proto3";
package demo;
import "demo/types.proto";
message Req { demo.types.Name name = 1; }
service Api { rpc Get(Req) returns (demo.types.Name); }
)");
  auto api = dir.str() + "/api", common = dir.str() + "/common";

  SUBCASE("a disk path under an import path") {
    auto cat = proto_catalog::from_files({main_file}, {api, common});
    REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
    auto m = cat->find_method("demo.Api/Get");
    REQUIRE(m);
    CHECK(m->output->full_name() == "demo.types.Name");
    CHECK(m->input->field(0)->message_type() == m->output);
    CHECK(cat->services() == std::vector<std::string>{"demo.Api"});  // not the imports'
  }
  SUBCASE("a name relative to an import path") {
    auto cat = proto_catalog::from_files({"main.proto"}, {api, common});
    REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
    CHECK(cat->find_method("demo.Api.Get"));
  }
  SUBCASE("an import not in the import path") {
    auto cat = proto_catalog::from_files({main_file}, {api});
    REQUIRE_FALSE(cat);
    CHECK(cat.error().message == "cannot read 'demo/types.proto': not found in import path " + api);
  }
}

TEST_CASE("proto_catalog: google/protobuf well-known imports load without an include dir") {
  temp_dir dir;
  auto file = dir.write("event.proto", R"(syntax = "proto3";
package demo;
import "google/protobuf/timestamp.proto";
import "google/protobuf/wrappers.proto";
message Event {
  google.protobuf.Timestamp at = 1;
  google.protobuf.StringValue note = 2;
}
service Events { rpc Put(Event) returns (google.protobuf.Timestamp); }
)");
  // Only the temp directory is searched: the well-known files come from libprotobuf.
  auto cat = proto_catalog::from_files({file}, {dir.str()});
  REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
  auto m = cat->find_method("/demo.Events/Put");
  REQUIRE(m);
  CHECK(m->output->full_name() == "google.protobuf.Timestamp");
  CHECK(m->input->FindFieldByName("note")->message_type()->full_name() ==
        "google.protobuf.StringValue");
}

TEST_CASE("proto_catalog: method lookup accepts slash and dot forms and rejects others") {
  temp_dir dir;
  auto cat = proto_catalog::from_files({dir.write("greeter.proto", greeter_proto)}, {});
  REQUIRE(cat);
  for (const char* name : {"/demo.Greeter/Hello", "demo.Greeter/Hello", "demo.Greeter.Hello"}) {
    CAPTURE(name);
    auto m = cat->find_method(name);
    REQUIRE_MESSAGE(m, (m ? "" : m.error().message));
    CHECK(m->path == "/demo.Greeter/Hello");
  }
  for (const char* name : {"Hello", "/demo.Greeter/", "/demo.Greeter/Hello/x", "", "/"}) {
    CAPTURE(name);
    auto m = cat->find_method(name);
    REQUIRE_FALSE(m);
    CHECK(m.error().message ==
          "invalid method name '" + std::string(name) + "': expected /package.Service/Method");
  }
  auto parts = achan::cli::split_method_name("/a.b.Svc/Do");
  REQUIRE(parts);
  CHECK(parts->service == "a.b.Svc");
  CHECK(parts->method == "Do");
}

TEST_CASE("proto_catalog: an unknown service or method says what exists") {
  temp_dir dir;
  auto cat = proto_catalog::from_files({dir.write("greeter.proto", greeter_proto)}, {});
  REQUIRE(cat);
  auto svc = cat->find_method("/demo.Nope/Hello");
  REQUIRE_FALSE(svc);
  CHECK(svc.error().message ==
        "service 'demo.Nope' not found in greeter.proto (it has: demo.Greeter)");
  auto method = cat->find_method("/demo.Greeter/Bye");
  REQUIRE_FALSE(method);
  CHECK(method.error().message ==
        "method 'Bye' not found in service demo.Greeter (it has: Hello, Chat, Feed)");
}

TEST_CASE("proto_catalog: from_descriptors builds files in any order and names missing imports") {
  google::protobuf::FileDescriptorProto echo;
  achan::test::EchoRequest::descriptor()->file()->CopyTo(&echo);

  auto cat = proto_catalog::from_descriptors({echo}, "the server's reflection");
  REQUIRE_MESSAGE(cat, (cat ? "" : cat.error().message));
  auto m = cat->find_method("/achan.test.Echo/ClientStream");
  REQUIRE(m);
  CHECK(m->client_streaming);
  CHECK_FALSE(m->server_streaming);
  CHECK(m->input->full_name() == "achan.test.EchoRequest");
  // Its own pool: not the generated descriptors.
  CHECK(m->input != achan::test::EchoRequest::descriptor());

  google::protobuf::FileDescriptorProto user;
  user.set_name("user.proto");
  user.set_package("demo");
  user.add_dependency("echo.proto");
  user.add_dependency("google/protobuf/empty.proto");
  auto* msg = user.add_message_type();
  msg->set_name("Wrap");
  auto* f = msg->add_field();
  f->set_name("req");
  f->set_number(1);
  f->set_label(google::protobuf::FieldDescriptorProto::LABEL_OPTIONAL);
  f->set_type(google::protobuf::FieldDescriptorProto::TYPE_MESSAGE);
  f->set_type_name(".achan.test.EchoRequest");

  auto both = proto_catalog::from_descriptors({user, echo}, "the server's reflection");
  REQUIRE_MESSAGE(both, (both ? "" : both.error().message));
  CHECK(both->find_message("demo.Wrap") != nullptr);

  auto missing = proto_catalog::from_descriptors({user}, "the server's reflection");
  REQUIRE_FALSE(missing);
  CHECK(missing.error().message ==
        "invalid descriptor from the server's reflection: 'user.proto' imports 'echo.proto', "
        "which is missing");
}
