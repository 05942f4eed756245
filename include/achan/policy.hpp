#pragma once
/// The interface a load-balancing policy implements and the helper through which it
/// acts. Policies are plain C++ objects hosted by the balancer actor: every method is
/// called on that actor, so a policy needs no synchronization and knows nothing of CAF.
#include <cstdint>
#include <functional>
#include <memory>
#include <random>
#include <string>
#include <vector>

#include <achan/call_tracker.hpp>
#include <achan/connectivity.hpp>
#include <achan/picker.hpp>
#include <achan/status.hpp>
#include <achan/transport.hpp>

namespace achan {

/// Identifies a subchannel within one balancer. Never reused.
using subchannel_id = std::uint64_t;

/// Policy selection, as a service config's loadBalancingConfig would carry it.
struct lb_config {
  std::string name = "pick_first";    ///< registered policy name
  bool shuffle_address_list = false;  ///< pick_first: shuffle addresses (seeded) before use
  /// The policy's own config object as JSON text (from loadBalancingConfig), for
  /// policies that take settings; "{}" when none was given.
  std::string config = "{}";
};

/// A subchannel's new state as the policy sees it.
struct subchannel_update {
  subchannel_id id = 0;
  connectivity_state state = connectivity_state::idle;
  status last_error;               ///< why it left READY / failed to connect
  transport::connection_ptr conn;  ///< set when `state` is READY
};

/// The channel's clock (virtual under CAF's test coordinator). `now()` may be called
/// from any thread, e.g. by a call tracker when a call ends.
class lb_clock {
 public:
  virtual ~lb_clock() = default;
  virtual time_point now() const noexcept = 0;
};

/// std::chrono::steady_clock as an lb_clock.
class steady_lb_clock final : public lb_clock {
 public:
  time_point now() const noexcept override { return std::chrono::steady_clock::now(); }
};

class policy;

/// What a policy may ask of the balancer hosting it. Called only from policy methods
/// (so on the balancer actor), except where noted.
class policy_helper {
 public:
  virtual ~policy_helper() = default;
  /// Creates a subchannel for `address`. It starts IDLE and does nothing until
  /// `connect`; its state changes arrive through `policy::on_subchannel_update`.
  virtual subchannel_id create_subchannel(const std::string& address) = 0;
  /// Asks an IDLE subchannel to connect (ignored in any other state).
  virtual void connect(subchannel_id id) = 0;
  /// Shuts a subchannel down; no update for it arrives afterwards.
  virtual void shutdown_subchannel(subchannel_id id) = 0;
  /// Publishes the policy's aggregate state and a new picker.
  virtual void update_state(connectivity_state s, picker_ptr p) = 0;
  /// Asks the resolver to resolve again (it may rate-limit).
  virtual void request_reresolution() = 0;
  /// The balancer's seeded random generator (shuffles, random start offsets).
  virtual std::mt19937_64& random() = 0;
  /// True if the host will call policy::flush() once the updates already waiting for it
  /// have been delivered: a policy may then postpone work whose cost grows with the
  /// number of subchannels (rebuilding a picker) to flush(), doing it once per burst
  /// instead of once per update. False (the default): do it now.
  virtual bool defer_evaluation() { return false; }
  /// Runs `fn` on the policy's thread (the balancer actor) after `delay`, unless the
  /// policy was shut down or replaced first. Timers cannot be cancelled: a policy that
  /// re-arms one keeps a generation counter and ignores stale ones.
  virtual void run_after(clock_duration delay, std::function<void()> fn) = 0;
  /// A function that asks, from any thread, for `connect(id)` on the policy's thread
  /// (a picker that met an IDLE subchannel: ring_hash). Unknown ids are ignored. It
  /// does not keep the balancer alive.
  virtual std::function<void(subchannel_id)> connector() = 0;
  /// The channel's clock, for pickers and trackers (shared: they may outlive the policy).
  virtual std::shared_ptr<const lb_clock> clock() {
    static const auto steady = std::make_shared<const steady_lb_clock>();
    return steady;
  }
  /// The resolver's static weight of `address` (resolver_update::weights), at least 1;
  /// 1 when it gave none. Valid during and after update_addresses for the addresses of
  /// that list.
  virtual std::uint32_t address_weight(const std::string& address) const {
    (void)address;
    return 1;
  }
  /// Creates a registered policy by name that acts through `helper` (a parent policy's
  /// child, e.g. outlier_detection's); null if the name is unknown.
  virtual std::unique_ptr<policy> create_policy(const std::string& name, policy_helper& helper) {
    (void)name;
    (void)helper;
    return nullptr;
  }
};

/// A load-balancing policy. Lifetime: created with a helper, fed updates, then
/// `shutdown()` once (it must shut down every subchannel it created) and destroyed.
class policy {
 public:
  virtual ~policy() = default;
  /// A complete address list from the resolver (never a delta). An empty list is an
  /// error the policy reports as TRANSIENT_FAILURE.
  virtual void update_addresses(const std::vector<std::string>& addresses,
                                const lb_config& cfg) = 0;
  /// The resolver failed. Policies with working subchannels keep using them.
  virtual void resolver_error(const status& st) = 0;
  /// A subchannel this policy created changed state.
  virtual void on_subchannel_update(const subchannel_update& u) = 0;
  /// The channel wants to leave IDLE (a call is waiting, or connect() was called).
  virtual void exit_idle() = 0;
  /// Shuts down every subchannel. No helper call is made after this returns.
  virtual void shutdown() = 0;
  /// The burst of updates announced by a `true` defer_evaluation() was delivered: do the
  /// postponed work.
  virtual void flush() {}
};

using policy_factory = std::function<std::unique_ptr<policy>(policy_helper&)>;

}  // namespace achan
