#include "transport/grpc/proto_wire.hpp"

namespace achan::proto_wire {

void put_varint(std::string& out, std::uint64_t v) {
  for (; v >= 0x80; v >>= 7)
    out.push_back(static_cast<char>((v & 0x7F) | 0x80));
  out.push_back(static_cast<char>(v));
}

std::size_t varint_size(std::uint64_t v) {
  std::size_t n = 1;
  for (; v >= 0x80; v >>= 7)
    ++n;
  return n;
}

void put_fixed64(std::string& out, std::uint64_t bits) {
  for (int i = 0; i < 8; ++i)
    out.push_back(static_cast<char>((bits >> (8 * i)) & 0xFF));
}

void put_int(std::string& out, std::uint32_t number, std::int64_t v) {
  if (v == 0)
    return;
  put_tag(out, number, varint_wire);
  put_varint(out, static_cast<std::uint64_t>(v));
}

void put_bytes(std::string& out, std::uint32_t number, std::string_view v) {
  if (v.empty())
    return;
  put_tag(out, number, length_wire);
  put_varint(out, v.size());
  out.append(v);
}

std::optional<std::uint64_t> reader::varint(const char* what) {
  std::uint64_t v = 0;
  for (int shift = 0; !error_ && shift < 70 && pos_ < in_.size(); shift += 7) {
    auto b = static_cast<std::uint8_t>(in_[pos_++]);
    v |= static_cast<std::uint64_t>(b & 0x7F) << shift;
    if ((b & 0x80) == 0)
      return v;
  }
  fail(what);
  return std::nullopt;
}

std::optional<std::pair<std::uint32_t, std::uint32_t>> reader::tag() {
  auto at = pos_;
  auto k = varint("truncated field key");
  if (!k)
    return std::nullopt;
  if (*k > 0xFFFFFFFF || (*k >> 3) == 0) {
    pos_ = at;
    fail(*k > 0xFFFFFFFF ? "field key over 32 bits" : "field number 0");
    return std::nullopt;
  }
  return std::pair{static_cast<std::uint32_t>(*k >> 3), static_cast<std::uint32_t>(*k & 7)};
}

std::optional<std::uint64_t> reader::fixed64() {
  if (error_ || in_.size() - pos_ < 8) {
    fail("truncated fixed64 field");
    return std::nullopt;
  }
  std::uint64_t bits = 0;
  for (int i = 0; i < 8; ++i)
    bits |= static_cast<std::uint64_t>(static_cast<std::uint8_t>(in_[pos_ + i])) << (8 * i);
  pos_ += 8;
  return bits;
}

std::optional<std::pair<std::string_view, std::size_t>> reader::bytes() {
  auto n = varint("truncated length");
  if (!n)
    return std::nullopt;
  if (*n > in_.size() - pos_) {
    fail("length-delimited field past the end");
    return std::nullopt;
  }
  auto start = pos_;
  pos_ += static_cast<std::size_t>(*n);
  return std::pair{in_.substr(start, static_cast<std::size_t>(*n)), base_ + start};
}

bool reader::skip(std::uint32_t number, std::uint32_t wire_type, int depth) {
  switch (wire_type) {
    case varint_wire:
      return varint("truncated varint").has_value();
    case fixed64_wire:
    case fixed32_wire: {
      std::size_t n = wire_type == fixed64_wire ? 8 : 4;
      if (error_ || in_.size() - pos_ < n)
        return fail("truncated fixed-size field");
      pos_ += n;
      return true;
    }
    case length_wire:
      return bytes().has_value();
    case start_group:
      if (depth >= max_group_depth)
        return fail("groups nested too deep");
      for (;;) {
        if (done())
          return fail("unterminated group");
        auto t = tag();
        if (!t)
          return false;
        if (t->second == end_group)
          return t->first == number || fail("end of group with the wrong field number");
        if (!skip(t->first, t->second, depth + 1))
          return false;
      }
    case end_group:
      return fail("end of group without a start");
    default:
      return fail("wire type 6 or 7");
  }
}

bool reader::fail(std::string_view what) {
  if (!error_)
    error_ = status{status_code::internal, "malformed " + std::string{message_} + " (" + context_ +
                                               std::string{what} + ", at byte " +
                                               std::to_string(base_ + pos_) + ")"};
  return false;
}

bool reader::fail(const status& nested) {
  if (!error_)
    error_ = nested;
  return false;
}

}  // namespace achan::proto_wire
