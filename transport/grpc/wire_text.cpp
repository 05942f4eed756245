#include "transport/grpc/wire_text.hpp"

#include <array>
#include <cstdint>

namespace achan::grpc {

namespace {

constexpr char hex_digits[] = "0123456789ABCDEF";
constexpr char b64_alphabet[] = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";

int hex_value(char c) noexcept {
  if (c >= '0' && c <= '9') {
    return c - '0';
  }
  if (c >= 'a' && c <= 'f') {
    return c - 'a' + 10;
  }
  if (c >= 'A' && c <= 'F') {
    return c - 'A' + 10;
  }
  return -1;
}

/// Reverse alphabet: 0-63 for valid characters, -1 otherwise.
constexpr std::array<std::int8_t, 256> make_b64_table() {
  std::array<std::int8_t, 256> t{};
  for (auto& v : t) {
    v = -1;
  }
  for (int i = 0; i < 64; ++i) {
    t[static_cast<unsigned char>(b64_alphabet[i])] = static_cast<std::int8_t>(i);
  }
  return t;
}
constexpr auto b64_table = make_b64_table();

}  // namespace

std::string percent_encode_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (char ch : text) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e || c == '%') {
      out += '%';
      out += hex_digits[c >> 4];
      out += hex_digits[c & 0xf];
    } else {
      out += ch;
    }
  }
  return out;
}

std::string percent_decode_message(std::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (std::size_t i = 0; i < text.size(); ++i) {
    if (text[i] == '%' && i + 2 < text.size() && hex_value(text[i + 1]) >= 0 &&
        hex_value(text[i + 2]) >= 0) {
      out += static_cast<char>(hex_value(text[i + 1]) * 16 + hex_value(text[i + 2]));
      i += 2;
    } else {
      out += text[i];
    }
  }
  return out;
}

std::string base64_encode(std::string_view bytes) {
  std::string out;
  out.reserve((bytes.size() + 2) / 3 * 4);
  std::size_t i = 0;
  auto at = [&](std::size_t k) { return std::uint32_t{static_cast<unsigned char>(bytes[k])}; };
  for (; i + 3 <= bytes.size(); i += 3) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8) | at(i + 2);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
    out += b64_alphabet[v & 63];
  }
  const std::size_t rest = bytes.size() - i;
  if (rest == 1) {
    const std::uint32_t v = at(i) << 16;
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
  } else if (rest == 2) {
    const std::uint32_t v = (at(i) << 16) | (at(i + 1) << 8);
    out += b64_alphabet[(v >> 18) & 63];
    out += b64_alphabet[(v >> 12) & 63];
    out += b64_alphabet[(v >> 6) & 63];
  }
  return out;
}

std::optional<std::string> base64_decode(std::string_view text) {
  if (!text.empty() && text.back() == '=') {
    if (text.size() % 4 != 0) {
      return std::nullopt;
    }
    text.remove_suffix(1);
    if (!text.empty() && text.back() == '=') {
      text.remove_suffix(1);
    }
  }
  // Unpadded (or padding stripped): a trailing group of 1 character encodes no whole byte.
  if (text.size() % 4 == 1) {
    return std::nullopt;
  }
  std::string out;
  out.reserve(text.size() / 4 * 3 + 2);
  std::uint32_t acc = 0;
  int bits = 0;
  for (char ch : text) {
    const int v = b64_table[static_cast<unsigned char>(ch)];
    if (v < 0) {
      return std::nullopt;  // also rejects '=' anywhere but the end
    }
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

bool is_binary_header(std::string_view key) noexcept {
  return key.ends_with("-bin");
}

bool valid_header_key(std::string_view key) noexcept {
  if (key.empty()) {
    return false;
  }
  for (char c : key) {
    const bool ok =
        (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.';
    if (!ok) {
      return false;
    }
  }
  return true;
}

bool reserved_header(std::string_view key) noexcept {
  static constexpr std::string_view reserved[] = {
      "te",          "content-type", "grpc-timeout", "grpc-encoding", "grpc-accept-encoding",
      "grpc-status", "grpc-message"};
  if (key.starts_with(':')) {
    return true;
  }
  for (auto r : reserved) {
    if (key == r) {
      return true;
    }
  }
  return false;
}

bool valid_ascii_header_value(std::string_view value) noexcept {
  for (char ch : value) {
    const auto c = static_cast<unsigned char>(ch);
    if (c < 0x20 || c > 0x7e) {
      return false;
    }
  }
  return true;
}

std::string metadata_error(const std::vector<std::pair<std::string, std::string>>& md) {
  for (auto& [k, v] : md) {
    if (!valid_header_key(k))
      return "invalid metadata key '" + k + "': keys are lower-case a-z, 0-9, '-', '_' or '.'";
    if (reserved_header(k))
      return "metadata key '" + k + "' is reserved for the transport";
    if (!is_binary_header(k) && !valid_ascii_header_value(v))
      return "metadata value of '" + k +
             "' is not printable ASCII (binary values need a key ending in -bin)";
  }
  return {};
}

}  // namespace achan::grpc
