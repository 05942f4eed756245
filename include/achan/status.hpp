#pragma once
/// gRPC status codes and the status value every achan call ends with.
#include <cstdint>
#include <string>
#include <string_view>

namespace achan {

/// The canonical gRPC status codes (numbering as in gRPC's statuscodes.md).
enum class status_code : std::uint8_t {
  ok = 0,
  cancelled = 1,
  unknown = 2,
  invalid_argument = 3,
  deadline_exceeded = 4,
  not_found = 5,
  already_exists = 6,
  permission_denied = 7,
  resource_exhausted = 8,
  failed_precondition = 9,
  aborted = 10,
  out_of_range = 11,
  unimplemented = 12,
  internal = 13,
  unavailable = 14,
  data_loss = 15,
  unauthenticated = 16,
};

/// Upper-case name as gRPC prints it ("UNAVAILABLE"); "CODE_UNKNOWN" for values outside the enum.
std::string_view to_string(status_code c) noexcept;

/// A call's outcome: a code plus a human-readable message (empty for OK).
struct status {
  status_code code = status_code::ok;
  std::string message;

  bool ok() const noexcept { return code == status_code::ok; }
  /// "CODE: message" (or just "OK").
  std::string to_string() const;
};

}  // namespace achan
