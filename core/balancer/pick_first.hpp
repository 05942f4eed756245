#pragma once
/// pick_first: use one connection, the first address that works.
///
///   update ──► TRYING (CONNECTING, queue_picker): connect addresses one at a time, in order;
///     │          a TRANSIENT_FAILURE moves on to the next address
///     │   all failed ──► FAILED (TRANSIENT_FAILURE, fail_picker): reconnect any subchannel
///     │                  that comes back IDLE after its backoff
///     └── any READY ──► READY (single_picker): the others are shut down
///                         │ connection lost (selected goes IDLE): re-resolve
///                         ▼
///                       IDLE (queue_picker) ── exit_idle() ──► TRYING from the first address
#include <cstddef>
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
  /// `helper` must outlive the policy.
  explicit pick_first(policy_helper& helper) : helper_(helper) {}

  /// Adopts the list (shuffled with helper.random() when cfg.shuffle_address_list). A
  /// list identical to the previous one changes nothing. While READY, a list that still
  /// holds the selected address keeps it without publishing; otherwise a new pass starts,
  /// reusing subchannels of addresses that stay. While IDLE the list is adopted and the
  /// policy stays IDLE until exit_idle(). An empty list shuts everything down and reports
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
  /// Shuts down every subchannel; later calls are ignored.
  void shutdown() override;

 private:
  enum class mode { waiting, trying, failed, ready, idle, shut_down };

  void start_pass();
  void try_from(std::size_t index);
  void pass_failed();
  void select(subchannel_id id);
  void publish(connectivity_state s, picker_ptr p);

  policy_helper& helper_;
  subchannel_list list_;
  mode mode_ = mode::waiting;
  std::size_t index_ = 0;  ///< TRYING: the entry being connected
  std::optional<subchannel_id> selected_;
  std::vector<std::string> addresses_;  ///< as used (after shuffling)
  std::optional<std::vector<std::string>> last_input_;
  bool last_shuffle_ = false;
  std::optional<connectivity_state> published_;
};

}  // namespace achan
