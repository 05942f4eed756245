// cli/json_codec: JSON <-> wire bytes for run-time message types, and splitting -d input
// holding several messages.
#include <doctest/doctest.h>

#include "cli/json_codec.hpp"
#include "proto/echo.pb.h"

using achan::cli::json_codec;
using achan::cli::json_format;
using achan::cli::split_json_objects;

namespace {

json_codec request_codec() {
  return json_codec{*achan::test::EchoRequest::descriptor()};
}

}  // namespace

TEST_CASE("json_codec: EchoRequest JSON round trip with base64 bytes and camelCase names") {
  auto codec = request_codec();
  CHECK(codec.type().full_name() == "achan.test.EchoRequest");
  auto bytes = codec.to_binary(R"({"payload": "AAH+/w==", "delayMs": 5, "failMessage": "x"})");
  REQUIRE_MESSAGE(bytes, (bytes ? "" : bytes.error().message));
  achan::test::EchoRequest req;
  REQUIRE(req.ParseFromString(*bytes));
  CHECK(req.payload() == std::string("\x00\x01\xfe\xff", 4));
  CHECK(req.delay_ms() == 5);
  CHECK(req.fail_message() == "x");

  auto compact = codec.to_json(*bytes, {.pretty = false});
  REQUIRE(compact);
  CHECK(*compact == R"({"payload":"AAH+/w==","delayMs":5,"failMessage":"x"})");

  auto pretty = codec.to_json(*bytes);  // grpcurl's default: indented, defaults left out
  REQUIRE(pretty);
  CHECK(*pretty ==
        "{\n  \"payload\": \"AAH+/w==\",\n  \"delayMs\": 5,\n  \"failMessage\": \"x\"\n}");

  auto back = codec.to_binary(*pretty);
  REQUIRE(back);
  CHECK(*back == *bytes);
}

TEST_CASE("json_codec: proto field names are accepted and printed on request") {
  auto codec = request_codec();
  auto bytes = codec.to_binary(R"({"reply_count": 3})");
  REQUIRE_MESSAGE(bytes, (bytes ? "" : bytes.error().message));
  auto proto_names = codec.to_json(*bytes, {.pretty = false, .proto_names = true});
  REQUIRE(proto_names);
  CHECK(*proto_names == R"({"reply_count":3})");

  auto defaults = codec.to_json(*bytes, {.pretty = false, .emit_defaults = true});
  REQUIRE(defaults);
  CHECK(*defaults ==
        R"({"payload":"","delayMs":0,"failCode":0,"failMessage":"","replyCount":3,"replySize":0})");

  auto empty = codec.to_json("");  // the empty message
  REQUIRE(empty);
  CHECK(*empty == "{}");
}

TEST_CASE("json_codec: bad JSON and unknown fields are one-line errors naming the type") {
  auto codec = request_codec();
  const std::string prefix = "invalid JSON for achan.test.EchoRequest: ";
  for (const char* bad : {R"({"payload": )", R"({"nope": 1})", R"({"delayMs": "soon"})",
                          R"({"payload": "not base64 !"})", "[1, 2]"}) {
    CAPTURE(bad);
    auto r = codec.to_binary(bad);
    REQUIRE_FALSE(r);
    CHECK(r.error().message.starts_with(prefix));
    CHECK(r.error().message.size() > prefix.size());
    CHECK(r.error().message.find('\n') == std::string::npos);
  }
  auto unknown = codec.to_binary(R"({"nope": 1})");
  REQUIRE_FALSE(unknown);
  CHECK(unknown.error().message == prefix + "nope: Cannot find field.");
  auto cut = codec.to_binary(R"({"payload": )");  // protobuf adds a caret line: dropped
  REQUIRE_FALSE(cut);
  CHECK(cut.error().message == prefix + "Unexpected end of string. Expected a value.");
}

TEST_CASE("json_codec: bytes that are not the message type are an error") {
  json_codec reply{*achan::test::EchoReply::descriptor()};
  auto r = reply.to_json(std::string("\xff\xff\xff", 3));
  REQUIRE_FALSE(r);
  CHECK(r.error().message == "cannot parse achan.test.EchoReply from 3 bytes");
}

TEST_CASE("split_json_objects: one per line concatenated and pretty-printed objects") {
  auto lines = split_json_objects("{\"a\":1}\n{\"b\":2}\n");
  REQUIRE(lines);
  CHECK(*lines == std::vector<std::string>{R"({"a":1})", R"({"b":2})"});

  auto glued = split_json_objects(R"({"a":1}{"b":[{"c":2}]})");
  REQUIRE(glued);
  CHECK(*glued == std::vector<std::string>{R"({"a":1})", R"({"b":[{"c":2}]})"});

  auto pretty = split_json_objects("  {\n  \"a\": 1,\n  \"b\": {}\n}\n\n{\n  \"c\": 3\n}  ");
  REQUIRE(pretty);
  CHECK(*pretty == std::vector<std::string>{"{\n  \"a\": 1,\n  \"b\": {}\n}", "{\n  \"c\": 3\n}"});

  // Braces and escaped quotes inside strings do not count.
  auto tricky = split_json_objects(R"({"s":"}{\"}"} {"t":"\\"})");
  REQUIRE(tricky);
  CHECK(*tricky == std::vector<std::string>{R"({"s":"}{\"}"})", R"({"t":"\\"})"});

  auto none = split_json_objects(" \n\t ");
  REQUIRE(none);
  CHECK(none->empty());
}

TEST_CASE("split_json_objects: malformed input gives the line column and message number") {
  auto bad = split_json_objects("{\"a\":1}\n{\"b\":2,}\n");
  REQUIRE_FALSE(bad);
  CHECK(bad.error().message.starts_with("malformed JSON at line 2 column 8 (message 2): "));
  CHECK(bad.error().message.find('\n') == std::string::npos);

  auto junk = split_json_objects("{\"a\":1} nope");
  REQUIRE_FALSE(junk);
  CHECK(junk.error().message.starts_with("malformed JSON at line 1 column "));
  CHECK(junk.error().message.find("(message 2)") != std::string::npos);

  auto open = split_json_objects("{\"a\":1}\n\n  {\"b\": {\"c\": 2}\n");
  REQUIRE_FALSE(open);
  CHECK(open.error().message ==
        "unterminated JSON value at end of input (message 2 starts at line 3 column 3)");
}
