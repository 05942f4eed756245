#pragma once
/// The channel actor's state and the functions its files share (channel_actor.cpp: calls,
/// picks, streams, idleness; channel_config.cpp: the service config and the attempts of
/// retried and hedged calls). Private to the channel actor.
#include <deque>
#include <map>
#include <random>
#include <unordered_map>

#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/typed_response_promise.hpp>

#include "actors/balancer/balancer.hpp"
#include "actors/channel_actor.hpp"
#include "actors/retry/attempts.hpp"

namespace achan {

/// Channel → itself: the deadline of a call may have passed.
struct call_deadline {
  std::weak_ptr<call> c;
};
/// Channel → itself: idle timer with generation `gen`.
struct idle_check {
  std::uint64_t gen = 0;
};
/// Channel → itself: time for the next attempt of a retried (hedge = false) or hedged
/// call; hedge timers carry the set's hedge generation. A timer holds the set strongly
/// (`set`) only when nothing else keeps it (a retry's backoff, a hedge with no attempt in
/// flight); otherwise weakly (`weak`), so a long hedgingDelay does not keep every finished
/// call's attempts in memory until its timer fires.
struct attempt_due {
  attempt_set_ptr set;
  std::weak_ptr<attempt_set> weak;
  bool hedge = false;
  std::uint64_t gen = 0;
};

/// The channel actor with the timers it sends itself.
using channel_impl =
    channel_control::extend<caf::reacts_to<call_deadline>, caf::reacts_to<idle_check>,
                            caf::reacts_to<attempt_due>>;

struct channel_state {
  channel_config cfg;
  connectivity_state state = connectivity_state::idle;
  picker_ptr picker = std::make_shared<queue_picker>();
  std::deque<call_ptr> waiting;  // calls the current picker could not place, in order
  std::size_t dead_waiting = 0;  // entries of `waiting` that ended meanwhile
  balancer_actor balancer;       // null while IDLE
  resolver_actor resolver;
  bool closed = false;
  std::uint64_t idle_gen = 0;
  time_point last_activity{};
  std::uint64_t next_promise = 0;
  std::unordered_map<std::uint64_t, caf::typed_response_promise<call_result>> promises;
  /// Actor-started streams still accepting stream_write, by (requester, its id).
  using stream_key = std::pair<caf::actor_addr, std::uint64_t>;
  std::map<stream_key, call_ptr> open_streams;
  std::unordered_map<std::uint64_t, stream_key> open_stream_of;  // promise id → its key
  /// The service config for new calls; `config_known` once it is settled (a default
  /// with resolver configs off, or the balancer's first config_update): calls are
  /// configured only then, so ones made before the resolver answered get its config.
  std::shared_ptr<const active_service_config> config;
  bool config_known = false;
  std::mt19937_64 rng;  // retry jitter (seeded from the channel's seed)
  static inline const char* name = "achan.channel";
};

using channel_self = channel_impl::stateful_pointer<channel_state>;

/// Places `c` according to the current picker (channel_actor.cpp).
void dispatch(channel_self self, const call_ptr& c);
/// A waiting call ended (channel_actor.cpp).
void note_dead_waiting(channel_self self);
/// Releases what the channel holds for `c`, which was just ended: its stream, or its
/// place in the queue (channel_actor.cpp).
void release_call(channel_self self, const call_ptr& c);

/// Applies the service config to `c` once it is known; a call with a retry or hedging
/// policy gets its attempt_set and its first attempt is started instead of it. False if
/// `c` needs nothing more from dispatch (ended, or its attempts took over).
bool configure_call(channel_self self, const call_ptr& c);
/// The balancer's config_update (channel_config.cpp).
void on_config_update(channel_self self, config_update& u);
/// Makes `sc` the config for new calls and publishes it for the fast path.
void set_service_config(channel_self self, service_config_ptr sc);
/// The attempt handlers (channel_config.cpp).
void on_attempt_failed(channel_self self, attempt_failed& f);
void on_attempts_committed(channel_self self, attempts_committed& c);
void on_attempt_due(channel_self self, attempt_due& d);
void on_arm_hedge(channel_self self, arm_hedge& a);
/// Ends the attempts of a call the user cancelled.
void cancel_attempts_of(channel_self self, const call_ptr& parent);

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::call_deadline)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::idle_check)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::attempt_due)
