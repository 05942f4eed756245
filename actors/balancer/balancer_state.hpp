#pragma once
/// The balancer actor's private state and the helper through which a hosted policy acts
/// (balancer.cpp: the actor's handlers; hosted_policy.cpp: the policy_helper side). Private
/// to the balancer.
#include <functional>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <unordered_map>
#include <vector>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/balancer.hpp"
#include "actors/subchannel/subchannel.hpp"

namespace achan {

/// Balancer → itself: deliver policy::flush() after the updates queued before this.
struct balancer_flush {};
/// Balancer → itself: a policy's run_after timer (for the hosted policy `gen`).
struct balancer_timer {
  std::uint64_t gen = 0;
  std::function<void()> fn;
};
/// Picker (any thread) → balancer: connect this subchannel (policy_helper::connector).
struct balancer_connect {
  subchannel_id id = 0;
};
/// The balancer with the messages it sends itself.
using balancer_impl =
    balancer_actor::extend<caf::reacts_to<balancer_flush>, caf::reacts_to<balancer_timer>,
                           caf::reacts_to<balancer_connect>>;

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_flush)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_timer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::balancer_connect)

namespace achan::balancer_detail {

struct balancer_state;
using self_ptr = balancer_impl::stateful_pointer<balancer_state>;

/// One hosted policy plus the helper through which it acts.
struct hosted_policy final : policy_helper {
  self_ptr self;
  lb_config cfg;
  std::unique_ptr<policy> impl;
  connectivity_state state = connectivity_state::connecting;
  picker_ptr picker;      // null until the policy published one
  std::uint64_t gen = 0;  // tells this hosted policy's timers from a retired one's

  hosted_policy(self_ptr s, lb_config c) : self(s), cfg(std::move(c)) {}

  subchannel_id create_subchannel(const std::string& address) override;
  void connect(subchannel_id id) override;
  void shutdown_subchannel(subchannel_id id) override;
  void update_state(connectivity_state s, picker_ptr p) override;
  void request_reresolution() override;
  std::mt19937_64& random() override;
  bool defer_evaluation() override;
  void run_after(clock_duration delay, std::function<void()> fn) override;
  std::function<void(subchannel_id)> connector() override;
  std::shared_ptr<const lb_clock> clock() override;
  std::unique_ptr<policy> create_policy(const std::string& name, policy_helper& helper) override;
  std::uint32_t address_weight(const std::string& address) const override;
};

/// The actor system's clock (virtual under the test coordinator) as an lb_clock.
struct actor_lb_clock final : lb_clock {
  explicit actor_lb_clock(caf::actor_clock& c) : clock(c) {}
  time_point now() const noexcept override { return clock.now(); }
  caf::actor_clock& clock;
};

struct balancer_state {
  balancer_config cfg;
  std::mt19937_64 rng;
  std::unique_ptr<hosted_policy> current;
  std::unique_ptr<hosted_policy> pending;
  struct owned {
    subchannel_actor actor;
    hosted_policy* owner;  // never dangles: retire() shuts down what a hosted_policy still owns
    std::string address;
    connectivity_state state = connectivity_state::idle;
  };
  std::unordered_map<subchannel_id, owned> subchannels;
  subchannel_id next_id = 1;
  resolver_actor resolver;
  bool had_good_update = false;
  /// The service config in force (told to the channel) and whether one was ever chosen.
  service_config_ptr config;
  bool config_chosen = false;
  std::optional<std::string> health_service;  // from config->health_check_service
  bool flush_pending = false;                 // a balancer_flush is in our mailbox
  bool closing = false;                   // balancer_shutdown: subchannels close hard, not drained
  std::uint64_t next_gen = 1;             // for hosted_policy::gen
  std::shared_ptr<const lb_clock> clock;  // shared with pickers and trackers
  /// The last good update's weights above 1 (resolver_update::weights), by address.
  std::unordered_map<std::string, std::uint32_t> weights;
  static inline const char* name = "achan.balancer";
};

/// With connections_per_address > 1, copy i > 0 of an address is the key
/// "address<US>i" (ASCII unit separator, which no address contains).
inline constexpr char copy_separator = '\x1f';

/// The address a subchannel key (see expand) stands for.
std::string address_of(const std::string& key);
/// Tells the observer, if any, stamping the event with the actor clock.
void notify(self_ptr self, channel_event e);
/// A hosted policy running `cfg` (its name must be registered).
std::unique_ptr<hosted_policy> make_hosted_policy(self_ptr self, const lb_config& cfg);
/// Shuts the policy down and destroys its hosted_policy, with any subchannel it forgot.
void retire(std::unique_ptr<hosted_policy>& s);

}  // namespace achan::balancer_detail
