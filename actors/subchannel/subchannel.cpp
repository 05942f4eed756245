#include "actors/subchannel/subchannel.hpp"

#include <caf/actor_cast.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/subchannel/health_watch.hpp"
#include "core/subchannel/health_check.hpp"
#include "core/support/duration_text.hpp"

namespace achan {

/// Subchannel → itself: a timer armed for attempt `attempt` fired.
struct subchannel_timer {
  enum class kind : std::uint8_t { connect_timeout, backoff_done };
  std::uint64_t attempt = 0;
  kind what = kind::connect_timeout;
};

/// The subchannel with the timers it sends itself and its health check's events.
using subchannel_impl =
    subchannel_actor::extend<caf::reacts_to<subchannel_timer>, caf::reacts_to<health_event>,
                             caf::reacts_to<health_retry>>;

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::subchannel_timer)

namespace achan {
namespace {

using kind = connection_event::kind;

/// Turns transport callbacks into messages for the subchannel, tagged with the attempt.
class events_to_actor final : public transport::connection_events {
 public:
  events_to_actor(subchannel_actor self, std::uint64_t attempt)
      : self_(std::move(self)), attempt_(attempt) {}
  void on_ready() override { caf::anon_send(self_, connection_event{attempt_, kind::ready, {}}); }
  void on_connect_failed(status why) override {
    caf::anon_send(self_, connection_event{attempt_, kind::connect_failed, std::move(why)});
  }
  void on_closed(status why) override {
    caf::anon_send(self_, connection_event{attempt_, kind::closed, std::move(why)});
  }

 private:
  subchannel_actor self_;
  std::uint64_t attempt_;
};

struct subchannel_state {
  subchannel_config cfg;
  achan::backoff backoff{backoff_params{}, 0};
  health_watch health{std::nullopt, backoff_params{}, 0};
  connectivity_state current = connectivity_state::idle;
  status reported;                   // last_error of the last report
  bool connected = false;            // conn is READY (the reported state may not be)
  std::uint64_t attempt = 0;         // generation of the current attempt and its timers
  time_point backoff_deadline{};     // earliest start of the next attempt
  clock_duration attempt_timeout{};  // connect timeout of the current attempt
  time_point ready_since{};          // when the current connection became READY
  transport::connection_ptr conn;
  static inline const char* name = "achan.subchannel";
};

using self_ptr = subchannel_impl::stateful_pointer<subchannel_state>;

void report(self_ptr self, connectivity_state s, status why = {}) {
  auto& st = self->state;
  st.current = s;
  st.reported = why;
  subchannel_update u{st.cfg.id, s, std::move(why), nullptr};
  if (s == connectivity_state::ready)
    u.conn = st.conn;
  self->send(st.cfg.balancer, std::move(u));
}

/// For health-check results, which may repeat: reports only a change of state or reason.
void report_change(self_ptr self, connectivity_state s, status why = {}) {
  auto& st = self->state;
  if (s != st.current || why.code != st.reported.code || why.message != st.reported.message)
    report(self, s, std::move(why));
}

/// How drop_connection leaves the connection.
enum class drop_mode : std::uint8_t { close, drain, keep };

/// Forgets the connection (cancelling its health Watch first): closes it, drains it
/// (its calls finish first), or leaves it alone (it is already gone).
void drop_connection(self_ptr self, drop_mode mode = drop_mode::close) {
  auto& st = self->state;
  st.health.cancel();
  st.connected = false;
  auto c = std::move(st.conn);
  if (!c || mode == drop_mode::keep)
    return;
  if (mode == drop_mode::drain)
    c->drain();
  else
    c->close();
}

/// Opens a Watch on the connection; its events come back as health_event messages.
void open_watch(self_ptr self, bool fresh) {
  auto& st = self->state;
  auto me = caf::actor_cast<subchannel_impl>(self);
  st.health.open(
      st.conn, st.attempt, [me](health_event&& e) { caf::anon_send(me, std::move(e)); }, fresh);
}

/// Acts on what the current Watch just heard (see health_verdict).
void act_on(self_ptr self, health_verdict v) {
  using action = health_verdict::action;
  auto& st = self->state;
  if (v.what == action::report) {
    report_change(self, v.state, std::move(v.why));
    return;
  }
  st.health.on_end();  // the Watch is over
  if (v.what == action::disable) {
    report_change(self, v.state, std::move(v.why));
    return;
  }
  std::optional<status> later;
  if (v.what == action::retry)
    report_change(self, v.state, std::move(v.why));
  else
    later = std::move(v.why);
  self->delayed_send(self, st.health.next_retry_delay(),
                     health_retry{st.attempt, st.health.generation(), std::move(later)});
}

void start_attempt(self_ptr self) {
  auto& st = self->state;
  auto delay = st.backoff.next_delay();
  auto now = self->clock().now();
  st.backoff_deadline = now + std::chrono::duration_cast<clock_duration>(delay);
  auto timeout = st.backoff.connect_timeout(delay);
  st.attempt_timeout = std::chrono::duration_cast<clock_duration>(timeout);
  auto attempt = ++st.attempt;
  report(self, connectivity_state::connecting);
  st.conn = st.cfg.transport->connect(
      st.cfg.address,
      std::make_shared<events_to_actor>(caf::actor_cast<subchannel_actor>(self), attempt));
  self->delayed_send(self, timeout,
                     subchannel_timer{attempt, subchannel_timer::kind::connect_timeout});
}

void attempt_failed(self_ptr self, status why) {
  auto& st = self->state;
  drop_connection(self);
  report(self, connectivity_state::transient_failure, std::move(why));
  auto now = self->clock().now();
  auto wait = st.backoff_deadline > now ? st.backoff_deadline - now : clock_duration::zero();
  self->delayed_send(self, wait,
                     subchannel_timer{st.attempt, subchannel_timer::kind::backoff_done});
}

subchannel_impl::behavior_type subchannel_behavior(self_ptr self, subchannel_config cfg) {
  auto seed = cfg.seed;
  self->state.backoff = achan::backoff{cfg.backoff, seed};
  // Its own jitter sequence: Watch retries do not shift the connection backoff's.
  self->state.health =
      health_watch{cfg.health_check_service, cfg.backoff, seed ^ 0x9e3779b97f4a7c15ULL};
  self->state.cfg = std::move(cfg);
  return {
      [=](subchannel_connect) {
        if (self->state.current == connectivity_state::idle)
          start_attempt(self);
      },
      [=](subchannel_shutdown m) {
        drop_connection(self, m.drain ? drop_mode::drain : drop_mode::close);
        self->state.current = connectivity_state::shutdown;
        self->quit();
      },
      [=](connection_event& e) {
        auto& st = self->state;
        if (e.attempt != st.attempt)
          return;  // an event of an abandoned attempt
        if (e.what == kind::ready && st.current == connectivity_state::connecting &&
            !st.connected) {
          st.ready_since = self->clock().now();
          st.connected = true;
          if (st.health.enabled())
            open_watch(self, true);  // CONNECTING until the first response
          else
            report(self, connectivity_state::ready);
        } else if (e.what == kind::connect_failed && st.current == connectivity_state::connecting &&
                   !st.connected) {
          attempt_failed(self, std::move(e.why));
        } else if (e.what == kind::closed && st.connected) {
          // Not close(): after a GOAWAY the streams the server accepted still finish.
          drop_connection(self, drop_mode::keep);
          auto lived = self->clock().now() - st.ready_since;
          if (lived < st.backoff.params().initial) {
            // Lost before it was of use (a server that sends SETTINGS and hangs up):
            // a failed attempt, or the policy would reconnect at once, again and again.
            e.why.message += " (" + format_duration(lived) +
                             " after READY: counted as a failed connection attempt)";
            attempt_failed(self, std::move(e.why));
            return;
          }
          st.backoff.reset();
          ++st.attempt;  // nothing of the lost connection matters any more
          report(self, connectivity_state::idle, std::move(e.why));
        }
      },
      [=](subchannel_health_check& h) {
        auto& st = self->state;  // st.health owns the service from now on, not st.cfg
        if (!st.health.set_service(std::move(h.service)) || !st.connected)
          return;  // no change, or the next connection will watch it
        st.health.cancel();
        if (!st.health.enabled()) {
          report_change(self, connectivity_state::ready);
          return;
        }
        report_change(self, connectivity_state::connecting);
        open_watch(self, true);
      },
      [=](health_event& e) {
        auto& st = self->state;
        if (!st.connected || !st.health.is_current(e.attempt, e.generation))
          return;  // a Watch cancelled, or of a lost connection
        const auto& service = *st.health.service();
        if (e.message) {
          st.health.on_response();
          act_on(self, judge_health_message(*e.message, service, st.cfg.address));
        } else {
          act_on(self, judge_health_end(e.end, service, st.cfg.address));
        }
      },
      [=](health_retry& r) {
        auto& st = self->state;
        if (!st.connected || !st.health.is_current(r.attempt, r.generation))
          return;  // stale: the connection or the service changed meanwhile
        if (r.report)
          report_change(self, connectivity_state::transient_failure, std::move(*r.report));
        open_watch(self, false);
      },
      [=](subchannel_timer t) {
        auto& st = self->state;
        if (t.attempt != st.attempt)
          return;  // stale timer
        if (t.what == subchannel_timer::kind::connect_timeout &&
            st.current == connectivity_state::connecting && !st.connected) {
          attempt_failed(self, {status_code::unavailable, "connect to " + st.cfg.address +
                                                              " timed out after " +
                                                              format_duration(st.attempt_timeout)});
        } else if (t.what == subchannel_timer::kind::backoff_done &&
                   st.current == connectivity_state::transient_failure && !st.connected) {
          report(self, connectivity_state::idle, {});
        }
      },
  };
}

}  // namespace

subchannel_actor spawn_subchannel(caf::actor_system& sys, subchannel_config cfg) {
  // lazy_init: the actor initialises on its first message, on a scheduler thread, not
  // inside spawn on the balancer's (a 10 000-address update spawns 10 000 at once).
  return caf::actor_cast<subchannel_actor>(
      sys.spawn<caf::lazy_init>(subchannel_behavior, std::move(cfg)));
}

}  // namespace achan
