#pragma once
/// round_robin: connect to every address, spread calls over the READY ones.
///
///   aggregate (IDLE counts as CONNECTING: round_robin reconnects IDLE subchannels at once)
///     any READY              -> READY, rr_picker over the READY connections
///     any CONNECTING/IDLE    -> CONNECTING, queue_picker   (unless sticky TF, see below)
///     all TRANSIENT_FAILURE  -> TRANSIENT_FAILURE, fail_picker(UNAVAILABLE)
///   Once TRANSIENT_FAILURE is reported it stays until some subchannel is READY, so calls
///   keep failing fast while the subchannels cycle through backoff.
#include <optional>
#include <string>
#include <vector>

#include <achan/policy.hpp>
#include "core/balancer/subchannel_list.hpp"

namespace achan {

/// The "round_robin" policy. Created by the balancer actor through the registry and
/// called only on that actor (see `policy`).
class round_robin final : public policy {
 public:
  /// `helper` must outlive the policy.
  explicit round_robin(policy_helper& helper) : helper_(helper) {}

  /// Diffs the list (see subchannel_list::update) and connects new subchannels. An
  /// unchanged list changes nothing; an empty one shuts everything down and reports
  /// TRANSIENT_FAILURE "resolver returned an empty address list".
  void update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) override;
  /// Reports TRANSIENT_FAILURE "resolver error: <message>" when there are no subchannels;
  /// otherwise ignored (the existing subchannels keep serving).
  void resolver_error(const status& st) override;
  /// Reconnects a subchannel that reports IDLE, asks for re-resolution when one leaves
  /// READY or all fail, and republishes only when the state or the READY set changed.
  void on_subchannel_update(const subchannel_update& u) override;
  /// No-op: round_robin is never idle (it always connects every subchannel).
  void exit_idle() override {}
  /// Shuts down every subchannel; later calls are ignored.
  void shutdown() override;
  void flush() override;

 private:
  void connect_idle();
  void evaluate();
  void publish_failure(std::string message, bool from_resolver);

  policy_helper& helper_;
  subchannel_list list_;
  bool sticky_failure_ = false;
  bool resolver_failure_ = false;  ///< the published TF names a resolver problem
  bool shut_down_ = false;
  bool dirty_ = false;  ///< subchannel updates not evaluated yet (deferred to flush())
  std::optional<connectivity_state> published_;
  std::vector<transport::connection_ptr> published_ready_;
};

}  // namespace achan
