#include "actors/balancer/balancer.hpp"

#include <caf/actor_cast.hpp>
#include <caf/send.hpp>

#include <algorithm>
#include <random>
#include <unordered_map>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

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

namespace achan {
namespace {

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
  std::uint64_t next_gen = 1;                 // for hosted_policy::gen
  std::shared_ptr<const lb_clock> clock;      // shared with pickers and trackers
  static inline const char* name = "achan.balancer";
};

/// With connections_per_address > 1, copy i > 0 of an address is the key
/// "address<US>i" (ASCII unit separator, which no address contains).
constexpr char copy_separator = '\x1f';

std::string address_of(const std::string& key) {
  return key.substr(0, key.find(copy_separator));
}

std::vector<std::string> expand(const std::vector<std::string>& addresses, unsigned copies) {
  if (copies <= 1)
    return addresses;
  std::vector<std::string> keys;
  keys.reserve(addresses.size() * copies);
  for (auto& a : addresses) {
    keys.push_back(a);
    for (unsigned i = 1; i < copies; ++i)
      keys.push_back(a + copy_separator + std::to_string(i));
  }
  return keys;
}

void notify(self_ptr self, channel_event e) {
  if (!self->state.cfg.observer)
    return;
  e.at = self->clock().now();
  self->state.cfg.observer(e);
}

subchannel_id hosted_policy::create_subchannel(const std::string& key) {
  auto& st = self->state;
  auto id = st.next_id++;
  auto address = address_of(key);
  subchannel_config sc{id,
                       address,
                       st.cfg.transport,
                       st.cfg.backoff,
                       st.cfg.seed ^ (id * 0x9E3779B97F4A7C15ULL),
                       balancer_actor{self},
                       cfg.name == "pick_first" ? std::nullopt : st.health_service};
  st.subchannels.emplace(id, balancer_state::owned{spawn_subchannel(self->home_system(), sc), this,
                                                   std::move(address)});
  return id;
}

void hosted_policy::connect(subchannel_id id) {
  if (auto i = self->state.subchannels.find(id); i != self->state.subchannels.end())
    self->send(i->second.actor, subchannel_connect{});
}

void hosted_policy::shutdown_subchannel(subchannel_id id) {
  auto& subs = self->state.subchannels;
  if (auto i = subs.find(id); i != subs.end()) {
    self->send(i->second.actor, subchannel_shutdown{});
    channel_event e;
    e.what = channel_event::kind::subchannel_state;
    e.subchannel = id;
    e.address = i->second.address;
    e.from = i->second.state;
    e.to = connectivity_state::shutdown;
    e.reason = "removed by the balancer";
    subs.erase(i);
    notify(self, std::move(e));
  }
}

void hosted_policy::update_state(connectivity_state s, picker_ptr p) {
  state = s;
  picker = std::move(p);
  if (this == self->state.current.get())
    self->send(self->state.cfg.channel, picker_update{state, picker});
}

void hosted_policy::request_reresolution() {
  if (self->state.resolver)
    self->send(self->state.resolver, resolve_now{});
}

std::mt19937_64& hosted_policy::random() {
  return self->state.rng;
}

bool hosted_policy::defer_evaluation() {
  if (!self->state.flush_pending) {
    self->state.flush_pending = true;
    self->send(self, balancer_flush{});
  }
  return true;
}

void hosted_policy::run_after(clock_duration delay, std::function<void()> fn) {
  self->delayed_send(self, delay, balancer_timer{gen, std::move(fn)});
}

std::function<void(subchannel_id)> hosted_policy::connector() {
  return [addr = self->address()](subchannel_id id) {
    if (auto me = caf::actor_cast<caf::actor>(addr))
      caf::anon_send(caf::actor_cast<balancer_impl>(me), balancer_connect{id});
  };
}

std::shared_ptr<const lb_clock> hosted_policy::clock() {
  return self->state.clock;
}

std::unique_ptr<policy> hosted_policy::create_policy(const std::string& name,
                                                     policy_helper& helper) {
  auto* f = self->state.cfg.policies.find(name);
  return f ? (*f)(helper) : nullptr;
}

std::unique_ptr<hosted_policy> make_hosted_policy(self_ptr self, const lb_config& cfg) {
  auto s = std::make_unique<hosted_policy>(self, cfg);
  s->gen = self->state.next_gen++;
  s->impl = (*self->state.cfg.policies.find(cfg.name))(*s);
  return s;
}

/// Shuts the policy down and destroys its hosted_policy. A policy must shut down every
/// subchannel it created (policy::shutdown), but a user policy may forget some: they are
/// shut down here, so no subchannel entry outlives the hosted_policy its updates are routed to.
void retire(std::unique_ptr<hosted_policy>& s) {
  if (!s)
    return;
  s->impl->shutdown();
  std::vector<subchannel_id> left;
  for (const auto& [id, sub] : s->self->state.subchannels)
    if (sub.owner == s.get())
      left.push_back(id);
  std::sort(left.begin(), left.end());  // observers see them in creation order
  for (auto id : left)
    s->shutdown_subchannel(id);
  s.reset();
}

/// Runs after every message, never inside a policy call, so no policy is destroyed
/// while one of its own methods is on the stack.
void maybe_swap(self_ptr self) {
  auto& st = self->state;
  if (!st.pending || !st.pending->picker)
    return;
  if (st.pending->state == connectivity_state::connecting &&
      st.current->state == connectivity_state::ready)
    return;  // the old policy keeps serving until the new one is ready or gives up
  retire(st.current);
  st.current = std::move(st.pending);
  self->send(st.cfg.channel, picker_update{st.current->state, st.current->picker});
}

void apply_addresses(self_ptr self, const std::vector<std::string>& addresses, lb_config cfg) {
  auto& st = self->state;
  hosted_policy* newest = st.pending ? st.pending.get() : st.current.get();
  if (cfg.name == newest->cfg.name) {
    newest->cfg = cfg;
    newest->impl->update_addresses(addresses, cfg);
  } else if (cfg.name == st.current->cfg.name) {
    retire(st.pending);  // switching back before the switch completed
    st.current->cfg = cfg;
    st.current->impl->update_addresses(addresses, cfg);
  } else {
    retire(st.pending);
    st.pending = make_hosted_policy(self, cfg);
    st.pending->impl->update_addresses(addresses, cfg);
  }
}

/// The config that applies after update `u` (gRFC A21), or an error status when there is
/// none to fall back on (the update then counts as a resolver error).
result<service_config_ptr> choose_config(self_ptr self, const resolver_update& u) {
  auto& st = self->state;
  if (!st.cfg.resolver_service_config)
    return st.cfg.default_config;
  status bad = u.service_config_error;
  if (bad.ok() && u.service_config) {
    service_config_parse_options po;
    po.max_attempts_cap = st.cfg.max_attempts_cap;
    po.policy_known = [self](std::string_view n) {
      return self->state.cfg.policies.find(n) != nullptr;
    };
    po.policy_config_error = [self](std::string_view n, std::string_view j,
                                    const std::string& path) {
      return self->state.cfg.policies.config_error(n, j, path);
    };
    auto parsed = parse_service_config(*u.service_config, po);
    if (parsed)
      return *parsed;
    bad = parsed.error();
  }
  if (bad.ok())
    return st.cfg.default_config;  // the resolver has none
  // UNAVAILABLE: the resolver could not fetch its config (a TXT lookup failed); anything
  // else: it found one that is malformed.
  bool unfetched = bad.code == status_code::unavailable;
  channel_event e;
  e.what = channel_event::kind::resolver_error;
  e.reason = (unfetched ? "cannot fetch the service config: "
                        : "invalid service config from the resolver: ") +
             bad.message;
  notify(self, e);
  if (st.config_chosen)
    return st.config;  // keep the previous one
  if (st.cfg.default_config || unfetched)
    return st.cfg.default_config;  // a failed fetch is not a bad config (as gRPC C++)
  return status{status_code::unavailable, e.reason};
}

/// Makes `sc` the config in force: tells the channel and, if the health-checked service
/// changed, every subchannel whose policy checks health.
void adopt_config(self_ptr self, service_config_ptr sc) {
  auto& st = self->state;
  bool same = st.config == sc || (st.config && sc && st.config->json == sc->json);
  if (st.config_chosen && same)
    return;
  st.config_chosen = true;
  bool had = st.config != nullptr;
  st.config = sc;
  self->send(st.cfg.channel, config_update{sc});
  if (sc || had) {  // "no config, as before" is not news
    channel_event e;
    e.what = channel_event::kind::service_config;
    e.reason = sc ? sc->json : std::string{};
    notify(self, std::move(e));
  }
  auto health = sc ? sc->health_check_service : std::nullopt;
  if (health == st.health_service)
    return;
  st.health_service = health;
  for (auto& [id, sub] : st.subchannels)
    if (sub.owner->cfg.name != "pick_first")
      self->send(sub.actor, subchannel_health_check{health});
}

balancer_impl::behavior_type balancer_behavior(self_ptr self, balancer_config cfg) {
  self->state.rng.seed(cfg.seed);
  self->state.cfg = std::move(cfg);
  self->state.clock = std::make_shared<const actor_lb_clock>(self->clock());
  self->state.current = make_hosted_policy(self, self->state.cfg.initial);
  return {
      [=](resolver_update& u) {
        auto& st = self->state;
        if (!u.error.ok()) {
          channel_event e;
          e.what = channel_event::kind::resolver_error;
          e.reason = u.error.message;
          notify(self, std::move(e));
          st.current->impl->resolver_error(u.error);
          if (st.pending)
            st.pending->impl->resolver_error(u.error);
        } else {
          auto sc = choose_config(self, u);
          if (!sc) {
            if (!st.had_good_update)
              st.current->impl->resolver_error(sc.error());
            return;  // keep everything as it is (gRFC A21)
          }
          auto cfg = *sc && (*sc)->lb ? *(*sc)->lb : u.config.value_or(st.cfg.initial);
          if (!st.cfg.policies.find(cfg.name)) {
            status bad{status_code::unavailable,
                       "service config names unknown load-balancing policy '" + cfg.name + "'"};
            if (!st.had_good_update) {
              st.current->impl->resolver_error(bad);
              return;
            }
            cfg = st.pending ? st.pending->cfg : st.current->cfg;  // keep the last good choice
          }
          st.had_good_update = true;
          channel_event e;
          e.what = channel_event::kind::resolver_update;
          e.addresses = u.addresses;
          notify(self, std::move(e));
          adopt_config(self, *sc);
          apply_addresses(self, expand(u.addresses, st.cfg.connections_per_address),
                          std::move(cfg));
        }
        maybe_swap(self);
      },
      [=](subchannel_update& u) {
        auto& subs = self->state.subchannels;
        auto i = subs.find(u.id);
        if (i == subs.end())
          return;  // shut down meanwhile
        if (u.state != i->second.state) {
          channel_event e;
          e.what = channel_event::kind::subchannel_state;
          e.subchannel = u.id;
          e.address = i->second.address;
          e.from = std::exchange(i->second.state, u.state);
          e.to = u.state;
          e.reason = u.last_error.message;
          notify(self, std::move(e));
        }
        i->second.owner->impl->on_subchannel_update(u);
        maybe_swap(self);
      },
      [=](balancer_exit_idle) {
        self->state.current->impl->exit_idle();
        if (self->state.pending)
          self->state.pending->impl->exit_idle();
        maybe_swap(self);
      },
      [=](balancer_shutdown) {
        retire(self->state.pending);
        retire(self->state.current);
        self->quit();
      },
      [=](balancer_set_resolver& r) { self->state.resolver = std::move(r.resolver); },
      [=](balancer_flush) {
        auto& st = self->state;
        st.flush_pending = false;
        st.current->impl->flush();
        if (st.pending)
          st.pending->impl->flush();
        maybe_swap(self);
      },
      [=](balancer_timer& t) {
        auto& st = self->state;
        if ((st.current && st.current->gen == t.gen) || (st.pending && st.pending->gen == t.gen))
          t.fn();
        maybe_swap(self);
      },
      [=](balancer_connect c) {
        if (auto i = self->state.subchannels.find(c.id); i != self->state.subchannels.end())
          self->send(i->second.actor, subchannel_connect{});
      },
  };
}

}  // namespace

balancer_actor spawn_balancer(caf::actor_system& sys, balancer_config cfg) {
  return caf::actor_cast<balancer_actor>(sys.spawn(balancer_behavior, std::move(cfg)));
}

}  // namespace achan
