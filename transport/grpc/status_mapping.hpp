#pragma once
/// How a call's final status is derived from what the server sent: grpc-status/grpc-message
/// trailers (PROTOCOL-HTTP2.md) or, when the response is not gRPC, the HTTP status
/// (http-grpc-status-mapping.md). Pure functions, called by the transport when a stream ends.
#include <optional>
#include <string_view>

#include <achan/status.hpp>

namespace achan::grpc {

/// gRPC code for a non-gRPC HTTP response: 400 INTERNAL, 401 UNAUTHENTICATED,
/// 403 PERMISSION_DENIED, 404 UNIMPLEMENTED, 429/502/503/504 UNAVAILABLE, anything else UNKNOWN.
status_code http_to_grpc(int http_status) noexcept;

/// Parses a grpc-status value (decimal digits only). 0..16 give that code; any larger number
/// gives UNKNOWN, as the spec asks of unknown codes; nullopt if the value is not a decimal
/// number (empty, sign, spaces, other characters).
std::optional<status_code> parse_grpc_status(std::string_view value) noexcept;

/// The call's status once the stream has ended. `grpc_status` / `grpc_message` are the raw
/// header values if present; `http_status` is the response's :status. Rules, in order:
/// - http_status != 200: http_to_grpc(http_status), message "HTTP status N" (grpc-status, if
///   any, is ignored: the response did not come from a gRPC handler);
/// - no grpc-status: UNKNOWN "server sent no grpc-status";
/// - grpc-status not a number: INTERNAL "malformed grpc-status 'v'";
/// - otherwise the parsed code with the percent-decoded grpc-message (dropped for OK, whose
///   message is always empty).
status status_from_trailers(std::optional<std::string_view> grpc_status,
                            std::optional<std::string_view> grpc_message, int http_status);

}  // namespace achan::grpc
