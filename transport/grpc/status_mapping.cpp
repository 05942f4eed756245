#include "transport/grpc/status_mapping.hpp"

#include <string>

#include "transport/grpc/wire_text.hpp"

namespace achan::grpc {

status_code http_to_grpc(int http_status) noexcept {
  switch (http_status) {
    case 400:
      return status_code::internal;
    case 401:
      return status_code::unauthenticated;
    case 403:
      return status_code::permission_denied;
    case 404:
      return status_code::unimplemented;
    case 429:
    case 502:
    case 503:
    case 504:
      return status_code::unavailable;
    default:
      return status_code::unknown;
  }
}

std::optional<status_code> parse_grpc_status(std::string_view value) noexcept {
  if (value.empty()) {
    return std::nullopt;
  }
  unsigned n = 0;
  for (char c : value) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    if (n <= 16) {  // stop accumulating once out of range: long inputs cannot overflow
      n = n * 10 + static_cast<unsigned>(c - '0');
    }
  }
  if (n > 16) {
    return status_code::unknown;
  }
  return static_cast<status_code>(n);
}

status status_from_trailers(std::optional<std::string_view> grpc_status,
                            std::optional<std::string_view> grpc_message, int http_status) {
  if (http_status != 200) {
    return {http_to_grpc(http_status), "HTTP status " + std::to_string(http_status)};
  }
  if (!grpc_status) {
    return {status_code::unknown, "server sent no grpc-status"};
  }
  auto code = parse_grpc_status(*grpc_status);
  if (!code) {
    return {status_code::internal, "malformed grpc-status '" + std::string{*grpc_status} + "'"};
  }
  if (*code == status_code::ok || !grpc_message) {
    return {*code, {}};
  }
  return {*code, percent_decode_message(*grpc_message)};
}

}  // namespace achan::grpc
