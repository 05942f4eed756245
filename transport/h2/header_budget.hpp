#pragma once
/// Counting a header block's decoded size as nghttp2 hands over its fields, so that a peer
/// cannot make a connection store (or spend time on) more than the advertised limit.
#include <cstddef>
#include <cstdint>

namespace achan::transport::h2util {

/// The decoded size of the header block being received, counted as RFC 9113 section 6.5.2
/// defines it for SETTINGS_MAX_HEADER_LIST_SIZE: name + value + 32 bytes per field.
/// Header blocks of different streams never interleave on a connection, so one budget
/// per connection, reset at each block's first frame, serves every stream.
/// Single-threaded (the connection's strand).
class header_budget {
 public:
  /// What the field just counted means for the block.
  enum class verdict : std::uint8_t {
    ok,     ///< within the limit: keep the field
    over,   ///< over the limit: keep nothing more of this block, refuse its stream
    abuse,  ///< over abuse_factor times the limit: end the connection
  };
  /// A block of decoded size above abuse_factor × limit is treated as an attack (an
  /// HPACK "bomb" repeating one dynamic-table entry), not as an oversized request.
  static constexpr std::uint64_t abuse_factor = 4;

  explicit header_budget(std::uint32_t limit) noexcept : limit_(limit) {}

  /// A new header block starts (nghttp2's on_begin_headers).
  void begin() noexcept { used_ = 0; }
  /// Counts one decoded field.
  verdict add(std::size_t name_len, std::size_t value_len) noexcept {
    used_ += name_len + value_len + 32;
    if (used_ <= limit_)
      return verdict::ok;
    return used_ > abuse_factor * limit_ ? verdict::abuse : verdict::over;
  }
  /// Decoded bytes of the current block so far.
  std::uint64_t used() const noexcept { return used_; }
  /// The limit (what the connection advertises as SETTINGS_MAX_HEADER_LIST_SIZE).
  std::uint32_t limit() const noexcept { return limit_; }

 private:
  std::uint32_t limit_;
  std::uint64_t used_ = 0;
};

/// The size of a header list to be sent, counted the same way (name + value + 32 each).
template <class Fields>
std::uint64_t header_list_size(const Fields& nva) noexcept {
  std::uint64_t n = 0;
  for (auto& f : nva)
    n += f.namelen + f.valuelen + 32;
  return n;
}

}  // namespace achan::transport::h2util
