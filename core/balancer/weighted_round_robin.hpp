#pragma once
/// weighted_round_robin (gRFC A58): round robin weighted by the backends' own load
/// reports. Every call's trailers may carry an ORCA report (`endpoint-load-metrics-bin`,
/// xds.data.orca.v3.OrcaLoadReport); from it the address's weight is
///
///   weight = qps / (utilization + eps / qps × errorUtilizationPenalty)
///
/// with utilization = application_utilization if set, else cpu_utilization (reports
/// with qps or utilization 0 are ignored). A weight counts only after blackoutPeriod of
/// reports and expires after weightExpirationPeriod without one. Every
/// weightUpdatePeriod the policy rebuilds its picker's stride scheduler from the
/// weights; with fewer than two known weights it rotates evenly (round robin), and
/// unknown weights count as the mean of the known ones.
///
/// Config (gRPC's): {"blackoutPeriod": "10s", "weightExpirationPeriod": "180s",
/// "weightUpdatePeriod": "1s" (at least 100ms: smaller values are raised),
/// "errorUtilizationPenalty": 1.0, "enableOobLoadReport": false}. Out-of-band reports
/// (ORCA's streaming service) are not supported: enableOobLoadReport true is refused.
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <achan/result.hpp>
#include "core/balancer/address_trackers.hpp"
#include "core/balancer/ready_set_policy.hpp"

namespace achan {

/// weighted_round_robin's settings.
struct wrr_config {
  clock_duration blackout_period = std::chrono::seconds{10};
  clock_duration weight_expiration_period = std::chrono::minutes{3};
  clock_duration weight_update_period = std::chrono::seconds{1};
  double error_utilization_penalty = 1.0;
};

/// Parses weighted_round_robin's config object; messages start with `path`.
result<wrr_config> parse_wrr_config(std::string_view json, const std::string& path);

/// One address's weight, fed by the ORCA reports in its calls' trailers (any thread).
class weight_tracker final : public call_tracker {
 public:
  weight_tracker(std::shared_ptr<const lb_clock> clock, double error_penalty)
      : clock_(std::move(clock)), penalty_(error_penalty) {}
  void on_call_end(const call_outcome& o) noexcept override;
  /// Records one report's values at `now` (on_call_end does it from the trailer).
  void update(double qps, double eps, double utilization, time_point now) noexcept;
  /// The weight to use at `now`: 0 while unknown, in blackout or expired (an expired
  /// weight restarts its blackout when reports come back).
  double weight(time_point now, const wrr_config& cfg) noexcept;
  /// The address left READY: its weight must sit out the blackout period again.
  void reset_blackout() noexcept { non_empty_since_.store(never, std::memory_order_relaxed); }
  void set_penalty(double p) noexcept { penalty_.store(p, std::memory_order_relaxed); }

 private:
  static constexpr time_point::rep never = INT64_MAX;
  std::shared_ptr<const lb_clock> clock_;
  std::atomic<double> penalty_;
  std::atomic<double> weight_{0};
  std::atomic<time_point::rep> non_empty_since_{never};
  std::atomic<time_point::rep> last_update_{0};
};

/// The "weighted_round_robin" policy (states and stickiness: ready_set_policy).
class weighted_round_robin final : public ready_set_policy {
 public:
  explicit weighted_round_robin(policy_helper& helper);
  ~weighted_round_robin() override;
  /// The tracker of `address` (null if it has none yet), for tests and diagnostics.
  weight_tracker* tracker(const std::string& address) const;

 private:
  status configure(const lb_config& cfg) override;
  void addresses_changed() override;
  picker_ptr make_picker(std::vector<ready_endpoint> ready) override;
  void arm_timer();

  wrr_config cfg_;
  address_trackers<weight_tracker> trackers_;
  /// Shared by every picker, so a rebuild continues the rotation where it was.
  std::shared_ptr<std::atomic<std::uint64_t>> sequence_;
  /// Timers outlive nothing: they check this flag (cleared by the destructor).
  std::shared_ptr<bool> alive_ = std::make_shared<bool>(true);
  bool timer_armed_ = false;
};

}  // namespace achan
