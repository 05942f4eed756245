#include <achan/status.hpp>

#include <array>

namespace achan {

std::string_view to_string(status_code c) noexcept {
  static constexpr std::array<std::string_view, 17> names{"OK",
                                                          "CANCELLED",
                                                          "UNKNOWN",
                                                          "INVALID_ARGUMENT",
                                                          "DEADLINE_EXCEEDED",
                                                          "NOT_FOUND",
                                                          "ALREADY_EXISTS",
                                                          "PERMISSION_DENIED",
                                                          "RESOURCE_EXHAUSTED",
                                                          "FAILED_PRECONDITION",
                                                          "ABORTED",
                                                          "OUT_OF_RANGE",
                                                          "UNIMPLEMENTED",
                                                          "INTERNAL",
                                                          "UNAVAILABLE",
                                                          "DATA_LOSS",
                                                          "UNAUTHENTICATED"};
  auto i = static_cast<std::size_t>(c);
  return i < names.size() ? names[i] : std::string_view{"CODE_UNKNOWN"};
}

std::string status::to_string() const {
  std::string out{achan::to_string(code)};
  if (!message.empty()) {
    out += ": ";
    out += message;
  }
  return out;
}

}  // namespace achan
