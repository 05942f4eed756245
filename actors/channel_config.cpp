// The channel actor's service config and the attempts of retried and hedged calls
// (channel_state.hpp, actors/retry/attempts.hpp).
#include <caf/actor_cast.hpp>

#include "actors/channel_state.hpp"
#include "core/config/call_settings.hpp"

namespace achan {
namespace {

/// The channel actor as attempt_host.
class host final : public attempt_host {
 public:
  explicit host(channel_self self) : self_(self) {}
  void dispatch(const call_ptr& c) override {
    if (self_->state.closed) {
      c->fail(status_code::cancelled, "channel closed");
      return;
    }
    if (admit_call(caf::actor_cast<channel_control>(self_), c, now()))
      achan::dispatch(self_, c);
  }
  void schedule(const attempt_set_ptr& s, bool hedge, std::uint64_t gen, clock_duration after,
                bool keep) override {
    attempt_due d{keep ? s : nullptr, s, hedge, gen};
    self_->delayed_send(self_, std::max(after, clock_duration::zero()), std::move(d));
  }
  time_point now() override { return self_->clock().now(); }
  std::mt19937_64& random() override { return self_->state.rng; }
  void release(const call_ptr& attempt) override { release_call(self_, attempt); }

 private:
  channel_self self_;
};

bool same_throttling(const std::optional<retry_throttling>& a, const retry_throttle* b) {
  if (!a || !b)
    return !a && !b;
  return a->max_tokens == b->config().max_tokens && a->token_ratio == b->config().token_ratio;
}

}  // namespace

void set_service_config(channel_self self, service_config_ptr sc) {
  auto& st = self->state;
  auto next = std::make_shared<active_service_config>();
  next->sc = std::move(sc);
  // A config with the same retryThrottling keeps the tokens (gRPC does too).
  auto* old = st.config ? st.config->throttle.get() : nullptr;
  auto want = next->sc ? next->sc->throttling : std::nullopt;
  if (same_throttling(want, old))
    next->throttle = st.config ? st.config->throttle : nullptr;
  else if (want)
    next->throttle = std::make_shared<retry_throttle>(*want);
  st.config = next;
  // No config: publish none, so the fast path skips the slot with one relaxed load.
  st.cfg.shared->config.publish(next->sc ? std::move(next) : nullptr);
}

void on_config_update(channel_self self, config_update& u) {
  auto& st = self->state;
  if (st.closed || !st.balancer ||
      self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(st.balancer))
    return;  // from a balancer released when going IDLE
  auto& cur = st.config->sc;
  bool same = cur == u.config || (cur && u.config && cur->json == u.config->json);
  if (!same)
    set_service_config(self, std::move(u.config));
  if (!std::exchange(st.config_known, true)) {
    // Calls that waited for the resolver's first answer get its config now.
    auto waiting = std::move(st.waiting);
    st.waiting.clear();
    st.dead_waiting = 0;
    for (auto& c : waiting)
      if (!c->finished())
        dispatch(self, c);
  }
}

bool configure_call(channel_self self, const call_ptr& c) {
  auto& st = self->state;
  c->config_applied = true;
  const auto& active = *st.config;
  if (!active.sc)
    return true;
  const auto* mc = active.sc->find(c->method());
  if (!mc)
    return true;
  auto before = c->deadline();
  if (!apply_method_config(*c, *mc))
    return false;
  if (c->deadline() != before)
    c->queue_deadline_armed = false;  // re-armed for the earlier deadline if it waits
  auto s = make_attempt_set(c, *mc, active, st.cfg.shared, caf::actor_cast<channel_control>(self),
                            st.cfg.max_retry_attempts);
  if (!s)
    return true;
  c->attempts = s;
  host h{self};
  start_attempt(h, s);
  return false;
}

void on_attempt_failed(channel_self self, attempt_failed& f) {
  host h{self};
  on_attempt_failed(h, f);
}

void on_attempts_committed(channel_self self, attempts_committed& c) {
  host h{self};
  cancel_attempts(h, *c.set, c.n, "another hedged attempt answered first");
}

void on_attempt_due(channel_self self, attempt_due& d) {
  auto s = d.set ? d.set : d.weak.lock();
  if (!s)
    return;  // the call ended and its attempts are gone
  host h{self};
  on_attempt_due(h, s, d.hedge, d.gen);
}

void on_arm_hedge(channel_self self, arm_hedge& a) {
  host h{self};
  arm_first_hedge(h, a.set);
}

void cancel_attempts_of(channel_self self, const call_ptr& parent) {
  if (auto s = std::static_pointer_cast<attempt_set>(parent->attempts.lock())) {
    host h{self};
    cancel_attempts(h, *s, 0, "call cancelled by the client");
    end_replay(*s);
  }
}

}  // namespace achan
