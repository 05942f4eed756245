#include "actors/channel_actor.hpp"

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <achan/request_stream.hpp>
#include "actors/call_credentials.hpp"
#include "actors/channel_state.hpp"
#include "actors/fast_path.hpp"
#include "core/support/duration_text.hpp"

namespace achan {
namespace {

using self_ptr = channel_self;

void publish_state(self_ptr self, connectivity_state s) {
  auto& st = self->state;
  if (st.state == s)
    return;
  st.state = s;
  self->send(st.cfg.states, set_state{s});
}

/// Installs `p` and publishes it for submit_call's fast path while READY.
void set_picker(self_ptr self, picker_ptr p) {
  auto& st = self->state;
  st.picker = std::move(p);
  st.cfg.shared->ready_picker.publish(
      st.state == connectivity_state::ready && !st.closed ? st.picker : nullptr);
}

void arm_idle_timer(self_ptr self, clock_duration after) {
  auto& st = self->state;
  if (st.cfg.idle_timeout <= clock_duration::zero())
    return;
  self->delayed_send(self, after, idle_check{++st.idle_gen});
}

void exit_idle(self_ptr self) {
  auto& st = self->state;
  if (st.closed)
    return;
  if (st.balancer) {
    self->send(st.balancer, balancer_exit_idle{});
    return;
  }
  st.balancer = spawn_balancer(
      self->home_system(),
      balancer_config{st.cfg.initial, st.cfg.policies, st.cfg.transport, st.cfg.backoff,
                      st.cfg.seed, picker_sink{self}, st.cfg.connections_per_address,
                      st.cfg.observer, st.cfg.default_config, st.cfg.resolver_service_config,
                      st.cfg.max_retry_attempts});
  st.resolver = st.cfg.resolver->build(self->home_system(), st.cfg.tgt, st.balancer,
                                       resolver_seed(st.cfg.seed));
  self->send(st.balancer, balancer_set_resolver{st.resolver});
  publish_state(self, connectivity_state::connecting);
  arm_idle_timer(self, st.cfg.idle_timeout);
}

void stop_balancer(self_ptr self) {
  auto& st = self->state;
  if (st.resolver)
    self->send(st.resolver, resolver_stop{});
  if (st.balancer)
    self->send(st.balancer, balancer_shutdown{});
  st.resolver = nullptr;
  st.balancer = nullptr;
}

/// Enforces `c`'s deadline while it waits here (for a pick or for its credentials):
/// connections do it for the calls they carry, so a directly placed call costs no timer.
void arm_queue_deadline(self_ptr self, const call_ptr& c) {
  if (c->queue_deadline_armed || c->deadline() == time_point::max())
    return;
  c->queue_deadline_armed = true;
  auto now = self->clock().now();
  self->delayed_send(self, c->deadline() > now ? c->deadline() - now : clock_duration::zero(),
                     call_deadline{c});
}

}  // namespace

void dispatch(self_ptr self, const call_ptr& c) {
  auto& st = self->state;
  if (!c->config_applied && st.config_known && !configure_call(self, c))
    return;  // ended, or its attempts are dispatched instead
  auto r = st.picker->pick(pick_info_of(*c));
  switch (r.what) {
    case pick_result::kind::complete:
      if (r.trackers[0] || r.trackers[1])
        c->attach_trackers(r.trackers, self->clock().now());
      c->carrier = *r.conn;
      (*r.conn)->start_call(c);
      return;
    case pick_result::kind::fail:
      if (!c->wait_for_ready()) {
        c->fail(r.error->code, r.error->message);
        return;
      }
      [[fallthrough]];
    case pick_result::kind::queue:
      arm_queue_deadline(self, c);
      st.waiting.push_back(c);
      if (st.state == connectivity_state::idle)
        exit_idle(self);  // a waiting call is a reason to connect (also for re-picks)
      return;
  }
}

/// A waiting call ended (deadline, cancel). Drop ended entries once they are half the
/// queue, so a long TRANSIENT_FAILURE with expiring calls cannot grow it without bound.
void note_dead_waiting(self_ptr self) {
  auto& st = self->state;
  if (++st.dead_waiting * 2 <= st.waiting.size())
    return;
  std::erase_if(st.waiting, [](const call_ptr& c) { return c->finished(); });
  st.dead_waiting = 0;
}

void release_call(self_ptr self, const call_ptr& c) {
  if (auto conn = c->carrier.lock())
    conn->cancel_call(c);
  else
    note_dead_waiting(self);
}

namespace {

void repick_waiting(self_ptr self) {
  auto waiting = std::move(self->state.waiting);
  self->state.waiting.clear();
  self->state.dead_waiting = 0;
  for (auto& c : waiting)
    if (!c->finished())
      dispatch(self, c);
}

void on_call(self_ptr self, const call_ptr& c) {
  auto& st = self->state;
  if (st.closed) {
    c->fail(status_code::cancelled, "channel closed");
    return;
  }
  auto now = self->clock().now();
  st.last_activity = now;
  c->awaiting_credentials = false;  // (back from fetch_credentials, if it was there)
  if (!admit_call(caf::actor_cast<channel_control>(self), c, now))
    return;
  if (needs_credentials(*st.cfg.shared, *c)) {
    arm_queue_deadline(self, c);  // the providers may take their time
    fetch_credentials(*st.cfg.shared, caf::actor_cast<channel_control>(self), c);
    return;
  }
  dispatch(self, c);
}

/// Who sent the current message (null for anonymous sends): the namespace of stream ids.
caf::actor_addr sender_addr(self_ptr self) {
  auto& s = self->current_sender();
  return s ? s->address() : caf::actor_addr{};
}

void quit_if_done(self_ptr self) {
  if (self->state.closed && self->state.promises.empty())
    self->quit();
}

void close_channel(self_ptr self) {
  auto& st = self->state;
  if (st.closed)
    return;
  st.closed = true;
  st.cfg.shared->closed.store(true, std::memory_order_release);
  auto waiting = std::move(st.waiting);
  st.waiting.clear();
  for (auto& c : waiting)
    c->fail(status_code::cancelled, "channel closed");
  stop_balancer(self);
  set_picker(self, std::make_shared<fail_picker>(status{status_code::cancelled, "channel closed"}));
  publish_state(self, connectivity_state::shutdown);
}

}  // namespace

namespace {

channel_impl::behavior_type channel_behavior(self_ptr self, channel_config cfg) {
  self->state.cfg = std::move(cfg);
  self->state.last_activity = self->clock().now();
  self->state.rng.seed(self->state.cfg.seed ^ 0x6A09E667F3BCC909ULL);  // apart from the balancer's
  set_service_config(self, self->state.cfg.default_config);
  self->state.config_known = !self->state.cfg.resolver_service_config;
  return {
      [=](call_request& req) -> caf::typed_response_promise<call_result> {
        auto& st = self->state;
        auto rp = self->make_response_promise<call_result>();
        auto id = st.next_promise++;
        st.promises.emplace(id, rp);
        // The promise may only be delivered by this actor: the completion sends the
        // result back here.
        on_call(self, make_call(st.cfg.shared, self->clock().now(), std::move(req.method),
                                std::move(req.payload), std::move(req.options),
                                st.cfg.default_wait_for_ready,
                                [me = caf::actor_cast<channel_control>(self), id](call_result&& r) {
                                  caf::anon_send(me, deliver_result{id, std::move(r)});
                                }));
        return rp;
      },
      [=](stream_request& req) -> caf::typed_response_promise<call_result> {
        auto& st = self->state;
        // Before make_response_promise: it takes the sender out of the current message.
        auto key = std::make_pair(sender_addr(self), req.id);
        auto rp = self->make_response_promise<call_result>();
        auto id = st.next_promise++;
        st.promises.emplace(id, rp);
        auto c = make_call(st.cfg.shared, self->clock().now(), std::move(req.method), {},
                           std::move(req.options), st.cfg.default_wait_for_ready,
                           [me = caf::actor_cast<channel_control>(self), id](call_result&& r) {
                             caf::anon_send(me, deliver_result{id, std::move(r)});
                           });
        c->requests = std::make_shared<transport::request_stream>();
        c->on_message = [sink = std::move(req.sink), sid = req.id](std::string&& m) {
          if (sink)
            caf::anon_send(sink, stream_message{sid, std::move(m)});
        };
        if (!req.half_close) {
          auto [it, fresh] = st.open_streams.emplace(key, c);
          if (!fresh && !it->second->finished()) {
            c->fail(status_code::invalid_argument,
                    "stream id " + std::to_string(req.id) + " is already open");
            return rp;
          }
          it->second = c;
          st.open_stream_of.emplace(id, key);
        }
        for (auto& m : req.requests)
          c->requests->write(std::move(m));
        if (req.half_close)
          c->requests->close();
        on_call(self, c);
        return rp;
      },
      [=](stream_write& w) {
        auto& open = self->state.open_streams;
        auto it = open.find({sender_addr(self), w.id});
        transport::request_stream::sent_fn sent;
        if (w.notify)
          if (auto writer = caf::actor_cast<caf::actor>(self->current_sender()))
            sent = [writer, id = w.id](bool ok) { caf::anon_send(writer, stream_sent{id, ok}); };
        bool queued = it != open.end() && !it->second->finished() &&
                      it->second->requests->write(std::move(w.payload), sent);
        if (!queued && sent)
          sent(false);
      },
      [=](stream_close& w) {
        auto& open = self->state.open_streams;
        if (auto it = open.find({sender_addr(self), w.id}); it != open.end()) {
          it->second->requests->close();
          open.erase(it);
        }
      },
      [=](stream_cancel& w) {
        auto& open = self->state.open_streams;
        if (auto it = open.find({sender_addr(self), w.id}); it != open.end()) {
          auto c = std::move(it->second);
          open.erase(it);
          c->requests->close();
          if (c->fail(status_code::cancelled, "call cancelled by the client"))
            release_call(self, c);
        }
      },
      [=](start_call& s) {
        if (auto c = s.c.take(); c && *c)
          on_call(self, *c);  // else a copy of this message was handled already
      },
      [=](reroute_call& r) {
        auto taken = r.c.take();
        if (!taken || !*taken)
          return;  // a copy of this message was handled already
        auto c = std::move(*taken);
        c->carrier.reset();  // it is no longer on that connection
        self->state.cfg.shared->attempts.transparent.fetch_add(1, std::memory_order_relaxed);
        if (self->state.closed)
          c->fail(status_code::cancelled, "channel closed");
        else if (!c->finished())
          dispatch(self, c);
      },
      [=](cancel_call& cc) {
        cancel_attempts_of(self, cc.c);
        release_call(self, cc.c);
      },
      [=](call_deadline& d) {
        auto c = d.c.lock();
        if (!c || !c->carrier.expired() || !c->attempts.expired() ||
            c->deadline() > self->clock().now())
          return;  // ended, placed on a connection since (which enforces it), its
                   // attempts enforce it, or the deadline moved (a later timer is armed)
        if (c->fail(status_code::deadline_exceeded,
                    c->awaiting_credentials
                        ? std::string{"deadline exceeded while waiting for call credentials"}
                        : "deadline exceeded while waiting for a subchannel (channel " +
                              std::string{to_string(self->state.state)} + ")"))
          note_dead_waiting(self);
      },
      [=](deliver_result& d) {
        auto i = self->state.promises.find(d.id);
        if (i == self->state.promises.end())
          return;
        i->second.deliver(std::move(d.result));
        self->state.promises.erase(i);
        // An open stream ended: forget it (unless its id already names a newer stream).
        if (auto k = self->state.open_stream_of.extract(d.id)) {
          auto& open = self->state.open_streams;
          if (auto it = open.find(k.mapped()); it != open.end() && it->second->finished())
            open.erase(it);
        }
        quit_if_done(self);
      },
      [=](picker_update& u) {
        auto& st = self->state;
        if (st.closed || !st.balancer ||
            self->current_sender() != caf::actor_cast<caf::strong_actor_ptr>(st.balancer))
          return;  // from a balancer released when going IDLE
        publish_state(self, u.state);
        set_picker(self, std::move(u.picker));
        repick_waiting(self);  // re-queued calls wake an IDLE policy (dispatch)
      },
      [=](config_update& u) { on_config_update(self, u); },
      [=](attempt_failed& f) { on_attempt_failed(self, f); },
      [=](attempts_committed& c) { on_attempts_committed(self, c); },
      [=](attempt_due& d) { on_attempt_due(self, d); },
      [=](arm_hedge& a) { on_arm_hedge(self, a); },
      [=](channel_connect) {
        if (self->state.state == connectivity_state::idle)
          exit_idle(self);
      },
      [=](channel_close) {
        close_channel(self);
        quit_if_done(self);
      },
      [=](idle_check t) {
        auto& st = self->state;
        if (t.gen != st.idle_gen || st.closed || !st.balancer)
          return;
        auto now = self->clock().now();
        st.cfg.shared->ready_picker.reclaim();  // snapshots a reader pinned at the last publish
        // Calls placed by submit_call's fast path never pass through here.
        auto fast = time_point{
            time_point::duration{st.cfg.shared->last_fast_call.load(std::memory_order_relaxed)}};
        st.last_activity = std::max(st.last_activity, fast);
        auto quiet_for = now - st.last_activity;
        bool busy = st.cfg.shared->active_calls.load(std::memory_order_relaxed) > 0;
        if (busy || quiet_for < st.cfg.idle_timeout) {
          arm_idle_timer(self, busy ? st.cfg.idle_timeout : st.cfg.idle_timeout - quiet_for);
          return;
        }
        stop_balancer(self);
        publish_state(self, connectivity_state::idle);
        set_picker(self, std::make_shared<queue_picker>());
      },
  };
}

}  // namespace

channel_control spawn_channel_actor(caf::actor_system& sys, channel_config cfg) {
  return caf::actor_cast<channel_control>(sys.spawn(channel_behavior, std::move(cfg)));
}

}  // namespace achan
