#include "tests/support/raw_frames.hpp"

#include <stdexcept>

namespace achan::test {

namespace {

std::string be32(std::uint32_t v) {
  return {static_cast<char>(v >> 24), static_cast<char>((v >> 16) & 0xff),
          static_cast<char>((v >> 8) & 0xff), static_cast<char>(v & 0xff)};
}

std::uint32_t read_be32(std::string_view s, std::size_t at) {
  return (std::uint32_t(std::uint8_t(s[at])) << 24) |
         (std::uint32_t(std::uint8_t(s[at + 1])) << 16) |
         (std::uint32_t(std::uint8_t(s[at + 2])) << 8) | std::uint32_t(std::uint8_t(s[at + 3]));
}

void require(const frame& f, std::uint8_t type, const char* what) {
  if (f.type != type)
    throw std::invalid_argument(std::string("not a ") + what + " frame");
}

}  // namespace

// --- HPACK -----------------------------------------------------------------------------

namespace hpack {

std::string integer(std::uint8_t first_byte_bits, int prefix_bits, std::uint64_t value) {
  if (prefix_bits < 1 || prefix_bits > 8)
    throw std::invalid_argument("hpack::integer: prefix_bits must be 1..8");
  const std::uint64_t max = (1u << prefix_bits) - 1;
  auto first = static_cast<std::uint8_t>(first_byte_bits & ~max);
  std::string out;
  if (value < max) {
    out.push_back(static_cast<char>(first | value));
    return out;
  }
  out.push_back(static_cast<char>(first | max));
  value -= max;
  while (value >= 128) {
    out.push_back(static_cast<char>((value % 128) + 128));
    value /= 128;
  }
  out.push_back(static_cast<char>(value));
  return out;
}

std::string string_literal(std::string_view s) {
  return integer(0x00, 7, s.size()) + std::string(s);
}

std::string indexed(std::uint64_t index) {
  return integer(0x80, 7, index);
}

std::string literal_with_indexing(std::string_view name, std::string_view value) {
  return integer(0x40, 6, 0) + string_literal(name) + string_literal(value);
}

std::string literal(std::string_view name, std::string_view value) {
  return integer(0x00, 4, 0) + string_literal(name) + string_literal(value);
}

std::string literal_indexed_name(std::uint64_t index, std::string_view value) {
  return integer(0x00, 4, index) + string_literal(value);
}

std::string table_size_update(std::uint64_t size) {
  return integer(0x20, 5, size);
}

std::string grpc_request_block(std::string_view path, const header_list& extra_fields) {
  // Static table (RFC 7541 appendix A): 1 :authority, 3 :method POST, 4 :path,
  // 6 :scheme http, 31 content-type.
  auto b = indexed(3) + indexed(6) + literal_indexed_name(4, path) +
           literal_indexed_name(1, "localhost") + literal_indexed_name(31, "application/grpc") +
           literal("te", "trailers");
  for (auto& [k, v] : extra_fields)
    b += literal(k, v);
  return b;
}

}  // namespace hpack

// --- frames ------------------------------------------------------------------------------

std::string settings_frame(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& entries) {
  std::string p;
  for (auto& [id, value] : entries) {
    p.push_back(static_cast<char>(id >> 8));
    p.push_back(static_cast<char>(id & 0xff));
    p += be32(value);
  }
  return h2_frame(frame_type::settings, 0, 0, p);
}

std::string settings_ack() {
  return h2_frame(frame_type::settings, flag::ack, 0, {});
}

std::string ping(std::string_view opaque, bool ack) {
  return h2_frame(frame_type::ping, ack ? flag::ack : 0, 0, opaque);
}

std::string window_update(std::uint32_t stream, std::uint32_t increment) {
  return h2_frame(frame_type::window_update, 0, stream, be32(increment));
}

std::string rst_stream(std::uint32_t stream, std::uint32_t code) {
  return h2_frame(frame_type::rst_stream, 0, stream, be32(code));
}

std::string headers(std::uint32_t stream, std::string_view block, bool end_stream,
                    bool end_headers) {
  std::uint8_t f = (end_stream ? flag::end_stream : 0) | (end_headers ? flag::end_headers : 0);
  return h2_frame(frame_type::headers, f, stream, block);
}

std::string continuation(std::uint32_t stream, std::string_view block, bool end_headers) {
  return h2_frame(frame_type::continuation, end_headers ? flag::end_headers : 0, stream, block);
}

std::string data(std::uint32_t stream, std::string_view payload, bool end_stream) {
  return h2_frame(frame_type::data, end_stream ? flag::end_stream : 0, stream, payload);
}

std::string goaway(std::uint32_t last_stream, std::uint32_t code, std::string_view debug) {
  return h2_frame(frame_type::goaway, 0, 0, be32(last_stream) + be32(code) + std::string(debug));
}

std::string grpc_message(std::string_view payload, bool compressed) {
  std::string m(1, compressed ? '\1' : '\0');
  m += be32(static_cast<std::uint32_t>(payload.size()));
  m += payload;
  return m;
}

std::optional<std::string> grpc_message_payload(std::string_view bytes) {
  if (bytes.size() < 5)
    return std::nullopt;
  auto len = read_be32(bytes, 1);
  if (bytes.size() - 5 < len)
    return std::nullopt;
  return std::string(bytes.substr(5, len));
}

// --- parsers -----------------------------------------------------------------------------

goaway_info parse_goaway(const frame& f) {
  require(f, frame_type::goaway, "GOAWAY");
  if (f.payload.size() < 8)
    throw std::invalid_argument("GOAWAY shorter than 8 bytes");
  return {read_be32(f.payload, 0) & 0x7fffffff, read_be32(f.payload, 4), f.payload.substr(8)};
}

std::uint32_t rst_code(const frame& f) {
  require(f, frame_type::rst_stream, "RST_STREAM");
  if (f.payload.size() != 4)
    throw std::invalid_argument("RST_STREAM payload is not 4 bytes");
  return read_be32(f.payload, 0);
}

std::uint32_t window_increment(const frame& f) {
  require(f, frame_type::window_update, "WINDOW_UPDATE");
  if (f.payload.size() != 4)
    throw std::invalid_argument("WINDOW_UPDATE payload is not 4 bytes");
  return read_be32(f.payload, 0) & 0x7fffffff;
}

std::vector<std::pair<std::uint16_t, std::uint32_t>> settings_entries(const frame& f) {
  require(f, frame_type::settings, "SETTINGS");
  if (f.payload.size() % 6 != 0)
    throw std::invalid_argument("SETTINGS payload is not a multiple of 6 bytes");
  std::vector<std::pair<std::uint16_t, std::uint32_t>> out;
  for (std::size_t i = 0; i < f.payload.size(); i += 6)
    out.emplace_back(static_cast<std::uint16_t>((std::uint8_t(f.payload[i]) << 8) |
                                                std::uint8_t(f.payload[i + 1])),
                     read_be32(f.payload, i + 2));
  return out;
}

std::optional<std::string> field(const header_list& fields, std::string_view name) {
  std::optional<std::string> v;
  for (auto& [k, val] : fields)
    if (k == name)
      v = val;
  return v;
}

std::vector<frame> frames_on(const std::vector<frame>& frames, std::uint32_t stream) {
  std::vector<frame> out;
  for (auto& f : frames)
    if (f.stream == stream)
      out.push_back(f);
  return out;
}

std::string data_on(const std::vector<frame>& frames, std::uint32_t stream) {
  std::string out;
  for (auto& f : frames)
    if (f.stream == stream && f.type == frame_type::data)
      out += f.payload;
  return out;
}

std::function<bool(const frame&)> ends_stream(std::uint32_t stream) {
  return [stream](const frame& f) {
    return f.stream == stream && (f.type == frame_type::rst_stream ||
                                  ((f.type == frame_type::headers || f.type == frame_type::data) &&
                                   f.has(flag::end_stream)));
  };
}

}  // namespace achan::test
