#include "cli/json_codec.hpp"

#include <google/protobuf/descriptor.h>
#include <google/protobuf/dynamic_message.h>
#include <google/protobuf/util/json_util.h>
#include <nlohmann/json.hpp>

namespace achan::cli {
namespace {

namespace pb = google::protobuf;

/// Collapses whitespace runs (newlines included) to single spaces.
std::string one_line(std::string_view text) {
  std::string out;
  bool space = false;
  for (char c : text) {
    if (c == '\n' || c == '\r' || c == '\t' || c == ' ') {
      space = !out.empty();
      continue;
    }
    if (space)
      out += ' ';
    space = false;
    out += c;
  }
  return out;
}

/// protobuf's JSON parse errors: the first line only (later ones draw a caret under the
/// input), without the ": " an empty field path leaves in front.
std::string parse_reason(std::string_view message) {
  message = message.substr(0, message.find('\n'));
  while (message.starts_with(':') || message.starts_with(' '))
    message.remove_prefix(1);
  auto reason = one_line(message);
  return reason.empty() ? "not a valid JSON message" : reason;
}

bool is_space(char c) {
  return c == ' ' || c == '\t' || c == '\n' || c == '\r';
}

/// 1-based line and column of byte `pos` in `text`.
std::pair<std::size_t, std::size_t> line_column(std::string_view text, std::size_t pos) {
  std::size_t line = 1, column = 1;
  for (std::size_t i = 0; i < pos && i < text.size(); ++i) {
    if (text[i] == '\n') {
      ++line;
      column = 1;
    } else {
      ++column;
    }
  }
  return {line, column};
}

/// The end (one past) of the JSON value starting at `i`, found by bracket and string
/// matching only (validation comes after); npos if the input ends inside it.
std::size_t value_end(std::string_view text, std::size_t i) {
  const std::size_t n = text.size();
  if (text[i] == '"') {
    for (++i; i < n; ++i) {
      if (text[i] == '\\')
        ++i;
      else if (text[i] == '"')
        return i + 1;
    }
    return std::string_view::npos;
  }
  if (text[i] != '{' && text[i] != '[') {
    // A bare scalar (number, true, false, null, or junk validation will name).
    while (i < n && !is_space(text[i]) && text[i] != '{' && text[i] != '[' && text[i] != '"')
      ++i;
    return i;
  }
  int depth = 0;
  bool in_string = false;
  for (; i < n; ++i) {
    char c = text[i];
    if (in_string) {
      if (c == '\\')
        ++i;
      else if (c == '"')
        in_string = false;
    } else if (c == '"') {
      in_string = true;
    } else if (c == '{' || c == '[') {
      ++depth;
    } else if ((c == '}' || c == ']') && --depth == 0) {
      return i + 1;
    }
  }
  return std::string_view::npos;
}

}  // namespace

json_codec::json_codec(const pb::Descriptor& type)
    : type_(&type), factory_(std::make_unique<pb::DynamicMessageFactory>()) {
  prototype_ = factory_->GetPrototype(type_);
}
json_codec::json_codec(json_codec&&) noexcept = default;
json_codec& json_codec::operator=(json_codec&&) noexcept = default;
json_codec::~json_codec() = default;

result<std::string> json_codec::to_binary(std::string_view json) const {
  std::unique_ptr<pb::Message> msg{prototype_->New()};
  pb::util::JsonParseOptions opts;
  opts.ignore_unknown_fields = false;
  auto st =
      pb::util::JsonStringToMessage(pb::StringPiece(json.data(), json.size()), msg.get(), opts);
  if (!st.ok())
    return failure{"invalid JSON for " + type_->full_name() + ": " +
                   parse_reason({st.message().data(), st.message().size()})};
  std::string out;
  if (!msg->SerializeToString(&out))
    return failure{"cannot serialize " + type_->full_name() + " (missing required fields?)"};
  return out;
}

result<std::string> json_codec::to_json(std::string_view bytes, const json_format& format) const {
  std::unique_ptr<pb::Message> msg{prototype_->New()};
  if (!msg->ParseFromArray(bytes.data(), static_cast<int>(bytes.size())))
    return failure{"cannot parse " + type_->full_name() + " from " + std::to_string(bytes.size()) +
                   " bytes"};
  pb::util::JsonPrintOptions opts;
  opts.add_whitespace = false;  // re-indented below: protobuf's own indent is 1 space
  opts.always_print_primitive_fields = format.emit_defaults;
  opts.preserve_proto_field_names = format.proto_names;
  std::string out;
  auto st = pb::util::MessageToJsonString(*msg, &out, opts);
  if (!st.ok())
    return failure{"cannot print " + type_->full_name() +
                   " as JSON: " + one_line(std::string(st.message()))};
  if (!format.pretty)
    return out;
  // Re-indented by nlohmann: ordered_json keeps protobuf's field order, 64-bit integers
  // are already strings, and invalid UTF-8 (which protobuf should never print) is
  // replaced rather than thrown about. Should parsing fail anyway, print it unindented.
  auto tree = nlohmann::ordered_json::parse(out, nullptr, false);
  if (tree.is_discarded())
    return out;
  return tree.dump(2, ' ', false, nlohmann::ordered_json::error_handler_t::replace);
}

result<std::vector<std::string>> split_json_objects(std::string_view text) {
  std::vector<std::string> out;
  std::size_t i = 0;
  while (true) {
    while (i < text.size() && is_space(text[i]))
      ++i;
    if (i == text.size())
      return out;
    const std::size_t start = i;
    const std::size_t end = value_end(text, start);
    const auto [line, column] = line_column(text, start);
    const std::string number = std::to_string(out.size() + 1);
    if (end == std::string_view::npos)
      return failure{"unterminated JSON value at end of input (message " + number +
                     " starts at line " + std::to_string(line) + " column " +
                     std::to_string(column) + ")"};
    std::string piece{text.substr(start, end - start)};
    try {
      [[maybe_unused]] auto parsed = nlohmann::json::parse(piece);
    } catch (const nlohmann::json::parse_error& e) {
      // e.byte: 1-based offset in `piece` where parsing stopped.
      std::size_t at = start + (e.byte > 0 ? e.byte - 1 : 0);
      auto [eline, ecolumn] = line_column(text, std::min(at, text.size()));
      std::string reason = e.what();
      if (auto colon = reason.find(": "); colon != std::string::npos)
        reason = reason.substr(colon + 2);  // drops "[json.exception...] parse error at ..."
      return failure{"malformed JSON at line " + std::to_string(eline) + " column " +
                     std::to_string(ecolumn) + " (message " + number + "): " + one_line(reason)};
    }
    out.push_back(std::move(piece));
    i = end;
  }
}

}  // namespace achan::cli
