#pragma once
/// Small helpers shared by the HTTP/2 client and server connections.
#include <nghttp2/nghttp2.h>

#include <cstdint>
#include <string>
#include <string_view>

namespace achan::transport::h2util {

/// A header for nghttp2's submit functions (which copy name and value).
inline nghttp2_nv header(std::string_view name, std::string_view value) {
  return {reinterpret_cast<std::uint8_t*>(const_cast<char*>(name.data())),
          reinterpret_cast<std::uint8_t*>(const_cast<char*>(value.data())), name.size(),
          value.size(), NGHTTP2_NV_FLAG_NONE};
}

/// nghttp2's byte pointers as text.
inline std::string_view view(const std::uint8_t* p, std::size_t n) {
  return {reinterpret_cast<const char*>(p), n};
}

/// Appends the frames nghttp2 has queued to `out`, stopping once `out` holds `limit`
/// bytes (one socket write at a time). Returns 0, or nghttp2's (negative) error.
inline long gather_output(nghttp2_session* session, std::string& out,
                          std::size_t limit = 256 * 1024) {
  while (out.size() < limit) {
    const std::uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(session, &data);
    if (n <= 0)
      return n;
    out.append(reinterpret_cast<const char*>(data), static_cast<std::size_t>(n));
  }
  return 0;
}

}  // namespace achan::transport::h2util
