#pragma once
/// Small helpers shared by the HTTP/2 client and server connections.
#include <nghttp2/nghttp2.h>

#include <cstdint>
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

}  // namespace achan::transport::h2util
