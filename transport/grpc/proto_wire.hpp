#pragma once
/// The protobuf wire format by hand, for the few messages achan codes without linking
/// protobuf (ORCA load reports in core/orca, etcd's v3 API in core/etcd): field writers
/// and a bounded reader that never reads past its input, refuses malformed input with a
/// message naming what and where, and skips unknown fields (groups at most 100 deep, as
/// protobuf's recursion limit).
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>

#include <achan/status.hpp>

namespace achan::proto_wire {

enum wire_type : std::uint32_t {
  varint_wire = 0,
  fixed64_wire = 1,
  length_wire = 2,
  start_group = 3,
  end_group = 4,
  fixed32_wire = 5
};

/// protobuf's default recursion limit: deeper unknown groups are refused, not followed.
inline constexpr int max_group_depth = 100;

/// A base-128 varint.
void put_varint(std::string& out, std::uint64_t v);
/// Bytes put_varint writes for `v`.
std::size_t varint_size(std::uint64_t v);
/// A field key.
inline void put_tag(std::string& out, std::uint32_t number, wire_type w) {
  put_varint(out, std::uint64_t{number} << 3 | w);
}
/// 8 bytes little-endian.
void put_fixed64(std::string& out, std::uint64_t bits);
/// An int64/uint64/bool/enum field (negative: 10 bytes, two's complement); omitted when 0,
/// as proto3 does.
void put_int(std::string& out, std::uint32_t number, std::int64_t v);
/// A string/bytes/message field; omitted when empty.
void put_bytes(std::string& out, std::uint32_t number, std::string_view v);

/// Reads one message's fields. The first failure is kept (error()); every read after it
/// fails too. Offsets in messages count from the start of the outermost message.
class reader {
 public:
  /// `in` is message `message` ("RangeResponse"), starting at byte `base` of the outermost
  /// one; `context` prefixes failures ("in a utilization entry: ").
  reader(std::string_view in, const char* message, std::size_t base = 0, std::string context = {})
      : in_(in), message_(message), base_(base), context_(std::move(context)) {}

  /// Every byte read (or a failure: nothing more will be).
  bool done() const noexcept { return error_ || pos_ == in_.size(); }
  const std::optional<status>& error() const noexcept { return error_; }

  /// A varint of at most 10 bytes; `what` names the failure ("truncated varint").
  std::optional<std::uint64_t> varint(const char* what = "truncated varint");
  /// The next field's number (never 0) and wire type.
  std::optional<std::pair<std::uint32_t, std::uint32_t>> tag();
  /// A fixed64 field's bits.
  std::optional<std::uint64_t> fixed64();
  /// A length-delimited field's bytes and where they start in the outermost message (the
  /// `base` of a reader for them).
  std::optional<std::pair<std::string_view, std::size_t>> bytes();
  /// Skips the value of field `number` (a group up to its matching end tag); false if
  /// that failed.
  bool skip(std::uint32_t number, std::uint32_t wire_type, int depth = 0);

  /// Records the first failure: INTERNAL "malformed MESSAGE (CONTEXT what, at byte N)".
  /// Returns false, for `return r.fail(...)`.
  bool fail(std::string_view what);
  /// Takes a nested reader's failure as its own.
  bool fail(const status& nested);

 private:
  std::string_view in_;
  const char* message_;
  std::size_t base_;
  std::string context_;
  std::size_t pos_ = 0;
  std::optional<status> error_;
};

}  // namespace achan::proto_wire
