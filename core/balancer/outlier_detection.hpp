#pragma once
/// outlier_detection (gRFC A50): a parent policy that wraps any child policy (its
/// childPolicy, round_robin by default), counts each address's call outcomes and ejects
/// the outliers for a while.
///
///   host ──update──► outlier_detection ──update (TF while ejected)──► child
///   host ◄─picker(od_picker around the child's picker)─┘   ◄─picker──┘
///
/// - The child creates its subchannels through outlier_detection's helper, which records
///   each subchannel's address. Subchannel updates come to outlier_detection first: it
///   forwards them, but while an address is ejected the child sees its subchannels in
///   TRANSIENT_FAILURE ("<address>: subchannel ejected by outlier detection") and no
///   further updates; on un-ejection it gets each subchannel's real latest update.
/// - Every child picker is published wrapped in an od_picker, which attaches the picked
///   address's od_call_counter to the call (pick_result::trackers[1]).
/// - Every `interval` a sweep retires each counter's bucket, ejects what
///   select_ejections() chooses (ejection time = min(base × multiplier,
///   max(base, maxEjectionTime)), multiplier + 1 per ejection, − 1 per sweep while not
///   ejected) and un-ejects addresses whose time is over. Without an ejection algorithm
///   configured nothing is counted and no sweep runs.
/// - Addresses that stay across an address list update keep their counts, ejection and
///   multiplier; removed addresses drop them.
#include <cstdint>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <achan/policy.hpp>
#include "core/balancer/outlier_detection_config.hpp"
#include "core/balancer/outlier_detection_picker.hpp"

namespace achan {

/// The "outlier_detection" policy (alias "outlier_detection_experimental"). Created by
/// the balancer actor through the registry and called only on that actor (see
/// `policy`); the child is built with helper.create_policy. Its config is lb_config::config
/// in outlier_detection_config's JSON form.
class outlier_detection final : public policy {
 public:
  /// `helper` must outlive the policy.
  explicit outlier_detection(policy_helper& helper);
  ~outlier_detection() override;

  /// Applies the config (a bad one: TRANSIENT_FAILURE with the parse error if there is no
  /// earlier config, else the earlier config stays), updates the address entries, starts,
  /// re-times or stops the sweep timer as gRFC A50 says, creates the child (or replaces it
  /// when childPolicy names another policy; unknown to the host: TRANSIENT_FAILURE) and
  /// forwards the list with the child's config.
  void update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) override;
  /// Forwards to the child; without one, reports TRANSIENT_FAILURE "resolver error: ...".
  void resolver_error(const status& st) override;
  /// Records the update and forwards it (masked while the address is ejected).
  void on_subchannel_update(const subchannel_update& u) override;
  /// Forwarded to the child.
  void exit_idle() override;
  /// Shuts the child down (and so its subchannels); stale sweeps are ignored after it.
  void shutdown() override;
  /// Forwarded to the child.
  void flush() override;

  /// Whether `address` is ejected now (false if unknown).
  bool ejected(std::string_view address) const;
  /// `address`'s ejection time multiplier (0 if unknown).
  std::uint32_t multiplier(std::string_view address) const;
  /// How many addresses are ejected now.
  std::size_t ejected_count() const;
  /// The child policy (null before the first address update).
  const policy* child() const noexcept { return child_.get(); }

 private:
  class child_helper;
  struct address_state {
    std::string address;
    tracker_ref<od_call_counter> counter;
    std::optional<time_point> ejected_at;
    std::uint32_t multiplier = 0;
    std::vector<subchannel_id> subchannels;  ///< the child's subchannels for it, by id
  };
  struct sub_state {
    std::string address;
    std::optional<subchannel_update> last;  ///< the subchannel's real latest update
    bool masked = false;  ///< the child was last told TRANSIENT_FAILURE instead of `last`
  };

  void update_entries(const std::vector<std::string>& addresses);
  void update_timer(bool had_config, clock_duration old_interval);
  void arm_timer(clock_duration delay);
  void sweep();
  void eject(address_state& a, time_point now);
  void uneject(address_state& a);
  void publish();
  void fail(std::string message);
  address_state* find(std::string_view address);
  const address_state* find(std::string_view address) const;

  policy_helper& helper_;
  std::shared_ptr<const lb_clock> clock_;
  std::unique_ptr<child_helper> child_helper_;
  std::unique_ptr<policy> child_;  // declared after child_helper_: destroyed first
  /// Dies with the current child: its run_after timers check it (a replaced child's do
  /// not run).
  std::shared_ptr<int> child_alive_;
  std::string child_name_;
  outlier_detection_config cfg_;
  bool configured_ = false;
  bool shut_down_ = false;
  std::vector<address_state> addresses_;  // in address list order (the sweep's order)
  std::unordered_map<std::string, std::size_t> index_;
  std::map<subchannel_id, sub_state> subchannels_;
  std::optional<connectivity_state> child_state_;  // the child's latest
  picker_ptr child_picker_;
  std::uint64_t publishes_ = 0;
  std::uint64_t timer_gen_ = 0;  // a sweep timer runs only if it carries the current one
  std::optional<time_point> timer_start_;
  std::shared_ptr<int> alive_ = std::make_shared<int>(0);  // for this policy's timers
};

}  // namespace achan
