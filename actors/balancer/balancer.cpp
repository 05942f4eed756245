#include "actors/balancer/balancer.hpp"

#include <algorithm>
#include <utility>
#include <vector>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/balancer/balancer_state.hpp"

namespace achan {
namespace {

using namespace balancer_detail;

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
          for (auto& n : u.notes)
            e.reason += "; " + n;
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
          for (auto& n : u.notes)
            e.reason += (e.reason.empty() ? "" : "; ") + n;
          notify(self, std::move(e));
          adopt_config(self, *sc);
          st.weights.clear();
          for (std::size_t i = 0; i < u.addresses.size() && i < u.weights.size(); ++i)
            if (u.weights[i] > 1)
              st.weights[u.addresses[i]] = u.weights[i];
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
        self->state.closing = true;
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
