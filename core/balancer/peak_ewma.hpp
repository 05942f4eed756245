#pragma once
/// peak_ewma (Finagle's and tower's peak-EWMA power of two choices): each call goes to
/// the cheaper of two READY subchannels drawn at random, where
///
///   cost = latency estimate × (outstanding calls + 1)
///
/// The latency estimate is a peak-sensitive moving average of the latency of calls
/// that reached the subchannel: a sample above the estimate replaces it at once (a
/// backend that slows down is avoided right away); samples below decay towards it with
/// weight exp(-Δt / decayTime). Between samples the estimate decays the same way, so a
/// subchannel that was slow once gets traffic again. A subchannel with no sample yet
/// costs 0 while idle (it gets a first call at once) and `penalty` + outstanding while
/// that first call is out.
///
/// Config: {"decayTime": "10s", "penalty": "1s"} (durations, both > 0).
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <achan/result.hpp>
#include "core/balancer/address_trackers.hpp"
#include "core/balancer/ready_set_policy.hpp"

namespace achan {

/// peak_ewma's settings.
struct peak_ewma_config {
  clock_duration decay_time = std::chrono::seconds{10};
  clock_duration penalty = std::chrono::seconds{1};
};

/// Parses peak_ewma's config object; messages start with `path`.
result<peak_ewma_config> parse_peak_ewma_config(std::string_view json, const std::string& path);

/// One address's latency estimate and outstanding calls. Updated lock-free from the
/// threads that end calls (two racing samples may lose one: it is an estimate).
class ewma_tracker final : public call_tracker {
 public:
  ewma_tracker(std::shared_ptr<const lb_clock> clock, const peak_ewma_config& cfg);
  void on_call_end(const call_outcome& o) noexcept override;
  /// The cost of one more call at `now` (nanoseconds × (outstanding + 1)).
  double cost(time_point now) const noexcept;
  /// The latency estimate at `now`, in nanoseconds (0: no sample yet).
  double estimate(time_point now) const noexcept;
  /// Counts a call about to start (the pick does it).
  void started() noexcept { outstanding_.fetch_add(1, std::memory_order_relaxed); }
  std::int64_t outstanding() const noexcept { return outstanding_.load(std::memory_order_relaxed); }
  /// Sets the settings (a new config; the estimate stays).
  void configure(const peak_ewma_config& cfg) noexcept;

 private:
  void observe(double rtt_ns, time_point now) noexcept;

  std::shared_ptr<const lb_clock> clock_;
  std::atomic<double> tau_ns_;
  std::atomic<double> penalty_ns_;
  std::atomic<std::int64_t> outstanding_{0};
  std::atomic<double> estimate_ns_{0};
  std::atomic<time_point::rep> stamp_{0};
};

/// The "peak_ewma" policy (states and stickiness: ready_set_policy).
class peak_ewma final : public ready_set_policy {
 public:
  explicit peak_ewma(policy_helper& helper) : ready_set_policy(helper) {}
  /// The tracker of `address` (null if it has none yet), for tests and diagnostics.
  const ewma_tracker* tracker(const std::string& address) const;

 private:
  status configure(const lb_config& cfg) override;
  void addresses_changed() override;
  picker_ptr make_picker(std::vector<ready_endpoint> ready) override;

  peak_ewma_config cfg_;
  address_trackers<ewma_tracker> trackers_;
};

}  // namespace achan
