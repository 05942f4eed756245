#pragma once
/// The grpc-timeout request header (PROTOCOL-HTTP2.md): TimeoutValue (1 to 8 ASCII digits)
/// followed by TimeoutUnit (H hours, M minutes, S seconds, m millis, u micros, n nanos).
#include <chrono>
#include <optional>
#include <string>
#include <string_view>

namespace achan::grpc {

/// Encodes the time left until a call's deadline, called by the transport when it starts a
/// call. Rule: the coarsest unit that represents `t` exactly in at most 8 digits (shortest
/// exact form, e.g. 1s -> "1S", 1500ms -> "1500m"); if no unit is exact, the finest unit whose
/// rounded-up value fits in 8 digits, so the server never sees a later deadline than ours.
/// Non-positive durations encode as "1n" (already expired, but the header must be valid).
/// Values beyond 99999999 hours cap at "99999999H" (unreachable for 64-bit nanoseconds).
std::string encode_timeout(std::chrono::nanoseconds t);

/// Parses a grpc-timeout value; nullopt if malformed (empty, no digits, more than 8 digits,
/// non-digit characters, unknown unit). Values too large for std::chrono::nanoseconds
/// saturate to nanoseconds::max() (e.g. "99999999H").
std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view s);

}  // namespace achan::grpc
