#include "transport/grpc/timeout.hpp"

#include <array>
#include <cstdint>
#include <limits>

namespace achan::grpc {

namespace {

struct unit {
  char suffix;
  std::int64_t nanos;
};

/// Finest first.
constexpr std::array<unit, 6> units{{{'n', 1},
                                     {'u', 1'000},
                                     {'m', 1'000'000},
                                     {'S', 1'000'000'000},
                                     {'M', 60'000'000'000},
                                     {'H', 3'600'000'000'000}}};

constexpr std::int64_t max_value = 99'999'999;  // 8 digits

std::string format(std::int64_t value, char suffix) {
  std::string out = std::to_string(value);
  out += suffix;
  return out;
}

}  // namespace

std::string encode_timeout(std::chrono::nanoseconds t) {
  const std::int64_t ns = t.count();
  if (ns <= 0) {
    return "1n";
  }
  for (auto it = units.rbegin(); it != units.rend(); ++it) {
    if (ns % it->nanos == 0 && ns / it->nanos <= max_value) {
      return format(ns / it->nanos, it->suffix);
    }
  }
  for (const auto& u : units) {
    // Rounded up without computing ns + nanos - 1, which could overflow near the maximum.
    const std::int64_t v = ns / u.nanos + (ns % u.nanos != 0 ? 1 : 0);
    if (v <= max_value) {
      return format(v, u.suffix);
    }
  }
  return format(max_value, 'H');
}

std::optional<std::chrono::nanoseconds> parse_timeout(std::string_view s) {
  if (s.size() < 2 || s.size() > 9) {
    return std::nullopt;
  }
  std::int64_t value = 0;
  for (char c : s.substr(0, s.size() - 1)) {
    if (c < '0' || c > '9') {
      return std::nullopt;
    }
    value = value * 10 + (c - '0');
  }
  for (const auto& u : units) {
    if (u.suffix == s.back()) {
      if (value > std::numeric_limits<std::int64_t>::max() / u.nanos) {
        return std::chrono::nanoseconds::max();
      }
      return std::chrono::nanoseconds{value * u.nanos};
    }
  }
  return std::nullopt;
}

}  // namespace achan::grpc
