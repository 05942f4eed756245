// The policy_helper side of the balancer (balancer_state.hpp): what a hosted policy may ask.
#include <algorithm>
#include <utility>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include "actors/balancer/balancer_state.hpp"

namespace achan::balancer_detail {

std::string address_of(const std::string& key) {
  return key.substr(0, key.find(copy_separator));
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
    // Removed by an update or a policy switch: drain, so its calls finish (as gRPC's
    // GracefulClose); the channel closing ends them.
    self->send(i->second.actor, subchannel_shutdown{!self->state.closing});
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

std::uint32_t hosted_policy::address_weight(const std::string& address) const {
  auto& w = self->state.weights;
  if (w.empty())
    return 1;
  auto it = w.find(address_of(address));  // a copy (connections_per_address) weighs as its address
  return it == w.end() ? 1 : it->second;
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

}  // namespace achan::balancer_detail
