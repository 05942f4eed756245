#pragma once
/// least_request (gRFC A48): connect to every address; each call goes to the subchannel
/// with the fewest outstanding calls among `choiceCount` drawn at random (with
/// replacement; the first drawn wins ties). Outstanding counts live in per-address call
/// trackers, so they survive picker rebuilds and count calls started from any thread.
///
/// Config: {"choiceCount": N}, N an integer, default 2, clamped to 2..10 (as gRPC).
#include <atomic>
#include <cstdint>
#include <string>

#include <achan/result.hpp>
#include "core/balancer/address_trackers.hpp"
#include "core/balancer/ready_set_policy.hpp"

namespace achan {

/// least_request's settings.
struct least_request_config {
  unsigned choice_count = 2;
};

/// Parses least_request's config object; messages start with `path`.
result<least_request_config> parse_least_request_config(std::string_view json,
                                                        const std::string& path);

/// Counts one address's outstanding calls (incremented by the pick, decremented when
/// the call ends).
class outstanding_tracker final : public call_tracker {
 public:
  void on_call_end(const call_outcome&) noexcept override {
    outstanding.fetch_sub(1, std::memory_order_relaxed);
  }
  std::atomic<std::int64_t> outstanding{0};
};

/// The "least_request" policy (states and stickiness: ready_set_policy).
class least_request final : public ready_set_policy {
 public:
  explicit least_request(policy_helper& helper) : ready_set_policy(helper) {}

  /// The tracker of `address` (null if it has none yet), for tests and diagnostics.
  const outstanding_tracker* tracker(const std::string& address) const;

 private:
  status configure(const lb_config& cfg) override;
  void addresses_changed() override;
  picker_ptr make_picker(std::vector<ready_endpoint> ready) override;

  least_request_config cfg_;
  address_trackers<outstanding_tracker> trackers_;
};

}  // namespace achan
