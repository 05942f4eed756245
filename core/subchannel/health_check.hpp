#pragma once
/// Client-side health checking (gRFC A17), the pure part: the grpc.health.v1 messages in
/// protobuf wire format (encoded and decoded by hand: the core links no protobuf), and
/// what each event of a Watch stream means for the subchannel. No CAF, no clock, no I/O;
/// actors/subchannel/health_watch runs the call and the subchannel actor acts on the
/// verdicts.
///
///   grpc.health.v1.HealthCheckRequest  { string service = 1; }
///   grpc.health.v1.HealthCheckResponse { ServingStatus status = 1; }
///     UNKNOWN = 0, SERVING = 1, NOT_SERVING = 2, SERVICE_UNKNOWN = 3
#include <cstdint>
#include <string>
#include <string_view>

#include <achan/connectivity.hpp>
#include <achan/result.hpp>
#include <achan/status.hpp>

namespace achan {

/// The method a health-checking subchannel calls (server streaming).
inline constexpr std::string_view health_watch_method = "/grpc.health.v1.Health/Watch";

/// HealthCheckResponse.ServingStatus value meaning SERVING (proto/health.proto).
inline constexpr std::int32_t health_serving = 1;

/// A serialized grpc.health.v1.HealthCheckRequest{service}: field 1 as a length-delimited
/// field (0x0A, varint length, bytes); "" (the whole server) is the empty message, as
/// proto3 omits default values.
std::string encode_health_request(std::string_view service);

/// The status field of a serialized grpc.health.v1.HealthCheckResponse: 0 (UNKNOWN) when
/// absent, the last one when repeated and cut to 32 bits (protobuf's rules for an enum
/// field), other fields skipped. INTERNAL
/// with what is wrong when the bytes are not a valid message (truncated varint or field,
/// field 1 not a varint, an unknown or group wire type).
result<std::int32_t> decode_health_status(std::string_view message);

/// "UNKNOWN", "SERVING", "NOT_SERVING", "SERVICE_UNKNOWN", or "status N" for a value the
/// proto does not define.
std::string serving_status_name(std::int32_t status);

/// What one event of a Watch stream means for the subchannel whose connection it runs on
/// (only for events of the current Watch while that connection is up).
struct health_verdict {
  enum class action : std::uint8_t {
    /// Report `state` with `why`; the Watch goes on.
    report,
    /// Report `state` (TRANSIENT_FAILURE) with `why` now; the Watch has ended: open a new
    /// one after the health backoff.
    retry,
    /// The Watch ended with UNAVAILABLE, which is also how a lost connection ends its
    /// calls (and on_closed follows): report nothing now; when the health backoff is over
    /// and the connection is still up, report `state` (TRANSIENT_FAILURE) with `why` and
    /// open a new Watch. If the connection was lost it is reported once, as a loss.
    retry_quietly,
    /// The server does not implement grpc.health.v1.Health: report `state` (READY) with
    /// `why`, and watch no more on this connection (gRFC A17: health checking disabled).
    disable,
  };
  action what = action::report;
  connectivity_state state = connectivity_state::ready;
  status why;  ///< OK for READY after SERVING; otherwise names the service and the address
};

/// The verdict on one response message of the Watch of `service` on `address`: SERVING is
/// READY (OK); any other status is TRANSIENT_FAILURE, UNAVAILABLE "health check of service
/// 'S' on ADDRESS: NOT_SERVING"; a malformed message is TRANSIENT_FAILURE saying so.
health_verdict judge_health_message(std::string_view message, std::string_view service,
                                    std::string_view address);

/// The verdict on the end of the Watch of `service` on `address` with `end`: UNIMPLEMENTED
/// is `disable` (READY, with UNIMPLEMENTED "health checking disabled: ADDRESS does not
/// implement grpc.health.v1.Health (UNIMPLEMENTED)"); UNAVAILABLE is `retry_quietly`; any
/// other code, OK included (a Watch must not end), is `retry`; both TRANSIENT_FAILURE with
/// UNAVAILABLE "health check of service 'S' on ADDRESS: Watch ended with CODE: message".
health_verdict judge_health_end(const status& end, std::string_view service,
                                std::string_view address);

}  // namespace achan
