#pragma once
/// JSON <-> protobuf wire bytes for message types known only at run time (from a
/// proto_catalog), in protobuf's canonical JSON mapping, with grpcurl's defaults:
/// lowerCamelCase names, default values left out, bytes as base64, 64-bit integers as
/// strings; and splitting of `-d` input holding several messages.
///
///   json_codec in{*method.input}, out{*method.output};
///   auto bytes = in.to_binary(R"({"payload": "aGk="})");      // result<std::string>
///   auto text = out.to_json(reply.payload);                   // pretty, like grpcurl
#include <memory>
#include <string>
#include <string_view>
#include <vector>

#include "cli/result.hpp"

namespace google::protobuf {
class Descriptor;
class DynamicMessageFactory;
class Message;
}  // namespace google::protobuf

namespace achan::cli {

/// How to_json() prints.
struct json_format {
  bool pretty = true;          ///< one field per line, 2-space indent; false: one line
  bool emit_defaults = false;  ///< also print fields holding their default value
  bool proto_names = false;    ///< proto field names (snake_case) instead of lowerCamelCase
};

/// Converts one message type. The Descriptor (and the catalog owning it) must outlive the
/// codec. Conversions are const and safe to run on several threads at once.
class json_codec {
 public:
  explicit json_codec(const google::protobuf::Descriptor& type);
  json_codec(json_codec&&) noexcept;
  json_codec& operator=(json_codec&&) noexcept;
  ~json_codec();

  /// JSON text (one value; both lowerCamelCase and proto field names accepted) to the
  /// serialized message. Unknown fields are errors. Error: "invalid JSON for
  /// achan.test.EchoRequest: <protobuf's reason, on one line>".
  result<std::string> to_binary(std::string_view json) const;

  /// A serialized message to JSON text (no trailing newline). Error: "cannot parse
  /// achan.test.EchoReply from 12 bytes" for bytes that are not such a message.
  result<std::string> to_json(std::string_view bytes, const json_format& format = {}) const;

  /// The message type converted.
  const google::protobuf::Descriptor& type() const noexcept { return *type_; }

 private:
  const google::protobuf::Descriptor* type_;
  std::unique_ptr<google::protobuf::DynamicMessageFactory> factory_;
  const google::protobuf::Message* prototype_;
};

/// Splits `text` holding any number of JSON values (objects, one per message) separated
/// by optional whitespace — one per line, concatenated, or pretty-printed over several
/// lines, as grpcurl's -d takes them — into one text per value, in order. Only
/// whitespace: "" gives no values. Error (first problem): "malformed JSON at line 3
/// column 9 (message 2): <reason>" or "unterminated JSON value at end of input
/// (message 2 starts at line 3 column 1)".
result<std::vector<std::string>> split_json_objects(std::string_view text);

}  // namespace achan::cli
