#include "actors/subchannel/subchannel.hpp"

#include <caf/actor_cast.hpp>

#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "core/support/duration_text.hpp"

namespace achan {

/// Subchannel → itself: a timer armed for attempt `attempt` fired.
struct subchannel_timer {
  enum class kind : std::uint8_t { connect_timeout, backoff_done };
  std::uint64_t attempt = 0;
  kind what = kind::connect_timeout;
};

/// The subchannel with the timers it sends itself.
using subchannel_impl = subchannel_actor::extend<caf::reacts_to<subchannel_timer>>;

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
  connectivity_state current = connectivity_state::idle;
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
  subchannel_update u{st.cfg.id, s, std::move(why), nullptr};
  if (s == connectivity_state::ready)
    u.conn = st.conn;
  self->send(st.cfg.balancer, std::move(u));
}

void close_connection(self_ptr self) {
  if (auto c = std::move(self->state.conn))
    c->close();
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
  close_connection(self);
  report(self, connectivity_state::transient_failure, std::move(why));
  auto now = self->clock().now();
  auto wait = st.backoff_deadline > now ? st.backoff_deadline - now : clock_duration::zero();
  self->delayed_send(self, wait,
                     subchannel_timer{st.attempt, subchannel_timer::kind::backoff_done});
}

subchannel_impl::behavior_type subchannel_behavior(self_ptr self, subchannel_config cfg) {
  auto seed = cfg.seed;
  self->state.backoff = achan::backoff{cfg.backoff, seed};
  self->state.cfg = std::move(cfg);
  return {
      [=](subchannel_connect) {
        if (self->state.current == connectivity_state::idle)
          start_attempt(self);
      },
      [=](subchannel_shutdown) {
        close_connection(self);
        self->state.current = connectivity_state::shutdown;
        self->quit();
      },
      [=](connection_event& e) {
        auto& st = self->state;
        if (e.attempt != st.attempt)
          return;  // an event of an abandoned attempt
        if (e.what == kind::ready && st.current == connectivity_state::connecting) {
          st.ready_since = self->clock().now();
          report(self, connectivity_state::ready);
        } else if (e.what == kind::connect_failed && st.current == connectivity_state::connecting) {
          attempt_failed(self, std::move(e.why));
        } else if (e.what == kind::closed && st.current == connectivity_state::ready) {
          // Not close(): after a GOAWAY the streams the server accepted still finish.
          st.conn.reset();
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
        self->state.cfg.health_check_service = std::move(h.service);  // TODO(A17): watch
      },
      [=](subchannel_timer t) {
        auto& st = self->state;
        if (t.attempt != st.attempt)
          return;  // stale timer
        if (t.what == subchannel_timer::kind::connect_timeout &&
            st.current == connectivity_state::connecting) {
          attempt_failed(self, {status_code::unavailable, "connect to " + st.cfg.address +
                                                              " timed out after " +
                                                              format_duration(st.attempt_timeout)});
        } else if (t.what == subchannel_timer::kind::backoff_done &&
                   st.current == connectivity_state::transient_failure) {
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
