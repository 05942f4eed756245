#pragma once
/// Fault decisions for one proxied call (grpc_proxy's fault filter): pure functions of
/// the route's rules, the call's method and metadata, the seed and the call's number.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <achan/call.hpp>
#include <achan/grpc_proxy.hpp>
#include <achan/status.hpp>

namespace achan::proxy {

/// What the fault filter does to one call: fail it with `abort` (set), or delay it by
/// `delay` (0: not delayed), or nothing. `error` is set instead when a fault header of
/// the call is malformed (the call is then answered with it).
struct fault_decision {
  std::optional<status> abort;
  std::chrono::milliseconds delay{0};
  std::optional<status> error;
};

/// The request headers that steer faults when a route enables them.
inline constexpr const char* delay_header = "x-achan-fault-delay-ms";
inline constexpr const char* abort_header = "x-achan-fault-abort-code";

/// Decides for call number `n` of a route with `rules`. With `headers` on, the fault
/// headers in `md` override the rules and are removed from `md`.
fault_decision decide(const std::vector<fault_rule>& rules, bool headers, const std::string& method,
                      metadata& md, std::uint64_t seed, std::uint64_t n);

/// A uniform draw in [0, 1) from (seed, n, salt): the same inputs give the same draw.
double uniform(std::uint64_t seed, std::uint64_t n, std::uint64_t salt) noexcept;

}  // namespace achan::proxy
