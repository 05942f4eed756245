#pragma once
/// A bare HTTP/2 client (nghttp2 over a plain socket) that sends exactly the request a
/// test spells out and enforces nothing itself — unlike achan's or grpc++'s clients,
/// which cancel at their own deadline. For checking what a server does on its own, e.g.
/// that it ends a call at the grpc-timeout it was sent.
#include <chrono>
#include <cstdint>
#include <string>
#include <utility>
#include <vector>

namespace achan::test {

/// What came back on the one stream.
struct raw_h2_response {
  bool closed = false;          ///< the stream ended (trailers or RST_STREAM) within the wait
  std::uint32_t rst_error = 0;  ///< RST_STREAM error code, 0 if none
  std::vector<std::pair<std::string, std::string>> fields;  ///< headers, then trailers
  std::string body;                                         ///< DATA bytes, as received
  std::chrono::milliseconds elapsed{0};  ///< from sending the request to the stream's end
  /// The last value of header or trailer `name`, or "" if absent.
  std::string field(const std::string& name) const;
};

/// One request: headers (pseudo-headers first, as given) and a body (END_STREAM after it).
struct raw_h2_request {
  std::vector<std::pair<std::string, std::string>> headers;
  std::string body;
};

/// Sends `requests` as concurrent streams of one connection to 127.0.0.1:`port`, in
/// order, and waits up to `wait` for all of them to end. One response per request.
std::vector<raw_h2_response> raw_h2_exchange(std::uint16_t port,
                                             const std::vector<raw_h2_request>& requests,
                                             std::chrono::milliseconds wait);

}  // namespace achan::test
