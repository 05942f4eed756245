#pragma once
/// pick_first: use one connection, the first address that works (gRFC A61 Happy Eyeballs,
/// gRFC A62 sticky TRANSIENT_FAILURE).
///
///   update ──► TRYING (CONNECTING, queue_picker): the Happy Eyeballs pass. Addresses are
///     │          tried in (interleaved) order; an attempt still undecided after
///     │          connection_attempt_delay starts the next address in parallel, a failed one
///     │          moves on at once. One timer at a time.
///     │   every address failed once ──► FAILED (TRANSIENT_FAILURE, fail_picker; re-resolve):
///     │                  every subchannel reconnects as soon as its backoff ends (IDLE);
///     │                  every size() failures re-resolve and republish the last error
///     └── any READY ──► READY (single_picker): the others are shut down
///                         │ connection lost (selected goes IDLE): re-resolve
///                         ▼
///                       IDLE (queue_picker) ── exit_idle() ──► TRYING from the first address
///
/// TRANSIENT_FAILURE is sticky: once published (a failed pass, an empty list, a resolver
/// error) a later pass, even over a new address list, publishes nothing until a
/// subchannel is READY or that pass fails too (then a fresh TRANSIENT_FAILURE message).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <achan/policy.hpp>
#include "core/balancer/subchannel_list.hpp"

namespace achan {

/// The "pick_first" policy. Created by the balancer actor through the registry and
/// called only on that actor (see `policy`).
class pick_first final : public policy {
 public:
  /// gRFC A61 / RFC 8305's Connection Attempt Delay: how long an attempt may stay
  /// undecided before the next address is tried alongside it. Fixed, as in gRPC.
  static constexpr clock_duration connection_attempt_delay = std::chrono::milliseconds{250};

  /// `helper` must outlive the policy.
  explicit pick_first(policy_helper& helper) : helper_(helper) {}

  /// Adopts the list: shuffled with helper.random() when cfg.shuffle_address_list, then
  /// interleaved by address family (interleave_families). A list identical to the
  /// previous one changes nothing. While READY, a list that still holds the selected
  /// address keeps it without publishing; otherwise a new pass starts, reusing
  /// subchannels of addresses that stay. While IDLE the list is adopted and the policy
  /// stays IDLE until exit_idle(). An empty list shuts everything down and reports
  /// TRANSIENT_FAILURE "resolver returned an empty address list".
  void update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) override;
  /// Reports TRANSIENT_FAILURE "resolver error: <message>" when there are no addresses;
  /// otherwise ignored.
  void resolver_error(const status& st) override;
  /// Drives the pass, selects the first subchannel to become READY, and goes IDLE (with
  /// a re-resolution request) when the selected one leaves READY.
  void on_subchannel_update(const subchannel_update& u) override;
  /// When IDLE: recreates subchannels for the current addresses and starts a new pass.
  /// Otherwise a no-op.
  void exit_idle() override;
  /// Shuts down every subchannel; later calls are ignored (a pending timer too).
  void shutdown() override;

  /// RFC 8305 section 4 interleaving, as gRPC's pick_first does it: families in the order
  /// of their first appearance, then one address of each family in turn, each family
  /// keeping its own order (stable). Families: IPv6 ("[...]:port"), unix ("unix:",
  /// "unix-abstract:"), and everything else (IPv4 literals, host names). O(n).
  static std::vector<std::string> interleave_families(std::vector<std::string> addresses);

 private:
  enum class mode { waiting, trying, failed, ready, idle, shut_down };

  void start_pass();
  void start_next_attempt();
  void arm_attempt_timer();
  void on_attempt_timer();
  void on_trying_update(const subchannel_update& u, std::size_t index);
  void maybe_finish_pass();
  void pass_failed();
  void select(subchannel_id id);
  void publish(connectivity_state s, picker_ptr p);
  void publish_failure(std::string message);
  time_point now();

  policy_helper& helper_;
  std::shared_ptr<const lb_clock> clock_;  ///< helper_.clock(), fetched on first use
  subchannel_list list_;
  mode mode_ = mode::waiting;
  std::optional<subchannel_id> selected_;
  std::vector<std::string> addresses_;  ///< as used (shuffled, interleaved)
  std::optional<std::vector<std::string>> last_input_;
  bool last_shuffle_ = false;
  std::optional<connectivity_state> published_;

  // The Happy Eyeballs pass (TRYING). Indices are positions in list_.entries().
  std::size_t attempting_ = 0;     ///< the entry whose attempt is timed; size(): all started
  std::vector<bool> failed_once_;  ///< per entry: failed (or was failing) during this pass
  std::size_t not_failed_ = 0;     ///< entries with failed_once_ false
  // The attempt timer: at most one run_after is pending. A timer that finds the attempt
  // it was armed for over, or a newer one due later, re-arms once for that one.
  std::uint64_t attempt_gen_ = 0;  ///< counts timed attempts; 0 = none yet
  bool attempt_timed_ = false;     ///< the attempt attempt_gen_ is still timed
  time_point attempt_deadline_{};  ///< when attempt_gen_ starts the next address
  bool timer_pending_ = false;     ///< a run_after of ours has not fired yet
  std::uint64_t rearmed_for_ = 0;  ///< the attempt a pending timer was re-armed for

  // FAILED: failures since the pass ended; every size() of them re-resolves.
  std::size_t failures_ = 0;
};

}  // namespace achan
