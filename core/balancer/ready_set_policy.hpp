#pragma once
/// The skeleton of the policies that connect to every address and spread calls over the
/// READY ones: round_robin, least_request, peak_ewma and weighted_round_robin differ only
/// in the picker they build over the READY set (and the per-address state it reads).
///
///   aggregate (IDLE counts as CONNECTING: these policies reconnect IDLE subchannels at once)
///     any READY              -> READY, make_picker(the READY endpoints)
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

/// One READY subchannel as a picker sees it.
struct ready_endpoint {
  subchannel_id id = 0;
  const std::string* address = nullptr;  ///< valid during make_picker only
  transport::connection_ptr conn;
};

/// Base of the READY-set policies. Called only on the balancer actor (see `policy`).
class ready_set_policy : public policy {
 public:
  /// `helper` must outlive the policy.
  explicit ready_set_policy(policy_helper& helper) : helper_(helper) {}

  /// Applies `cfg` (configure()), diffs the list (see subchannel_list::update) and
  /// connects new subchannels. An unchanged list and config change nothing; an empty
  /// list shuts everything down and reports TRANSIENT_FAILURE "resolver returned an
  /// empty address list"; a config configure() refuses reports TRANSIENT_FAILURE with
  /// its message.
  void update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) final;
  /// Reports TRANSIENT_FAILURE "resolver error: <message>" when there are no subchannels;
  /// otherwise ignored (the existing subchannels keep serving).
  void resolver_error(const status& st) final;
  /// Reconnects a subchannel that reports IDLE, asks for re-resolution when one leaves
  /// READY or all fail, and republishes only when the state or the READY set changed.
  void on_subchannel_update(const subchannel_update& u) final;
  /// No-op: these policies are never idle (they always connect every subchannel).
  void exit_idle() override {}
  /// Shuts down every subchannel; later calls are ignored.
  void shutdown() final;
  void flush() final;

 protected:
  /// The READY picker over `ready` (never empty, in address-list order).
  virtual picker_ptr make_picker(std::vector<ready_endpoint> ready) = 0;
  /// A config for this policy (the first one, or a changed one): non-OK refuses it.
  virtual status configure(const lb_config& cfg) {
    (void)cfg;
    return {};
  }
  /// The address list changed: drop per-address state for addresses no longer listed.
  virtual void addresses_changed() {}
  /// Rebuilds and publishes the READY picker even if the READY set did not change (the
  /// per-address state it snapshots did). No-op unless READY.
  void republish();

  policy_helper& helper() noexcept { return helper_; }
  const subchannel_list& list() const noexcept { return list_; }
  bool shut_down() const noexcept { return shut_down_; }
  bool ready() const noexcept { return published_ == connectivity_state::ready; }

 private:
  void connect_idle();
  void evaluate(bool force = false);
  void publish_failure(std::string message, bool from_resolver);

  policy_helper& helper_;
  subchannel_list list_;
  std::string config_;  ///< the JSON text configure() last accepted
  bool configured_ = false;
  bool sticky_failure_ = false;
  bool resolver_failure_ = false;  ///< the published TF names a resolver problem
  bool shut_down_ = false;
  bool dirty_ = false;  ///< subchannel updates not evaluated yet (deferred to flush())
  std::optional<connectivity_state> published_;
  std::vector<transport::connection_ptr> published_ready_;
};

}  // namespace achan
