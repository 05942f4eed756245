/// The etcd resolver actor: list the prefix, watch it, publish complete lists; on any
/// failure keep the last list, report the error and retry with backoff.
///
///   start ─► [auth] ─► list (paged Range) ─► watch ──events──► publish
///              ▲           ▲ compacted ◄──────┤
///              │           └─ relist          ├─ stream ended (established): re-watch
///              └──── retry timer ◄── failure ─┘  from revision+1 after `initial`
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <achan/etcd.hpp>

#include "actors/etcd/etcd_session.hpp"
#include "core/etcd/prefix_view.hpp"

namespace achan::etcd {
namespace {
/// Call → resolver: the answer to the unary call of attempt `gen`.
struct unary_done {
  std::uint64_t gen = 0;
  bool auth = false;
  call_result r;
};
/// Watch stream of attempt `gen` → resolver: one response, or its end.
struct watch_message {
  std::uint64_t gen = 0;
  std::string bytes;
};
struct watch_end {
  std::uint64_t gen = 0;
  call_result r;
};
/// The retry timer of attempt `gen`.
struct retry_timer {
  std::uint64_t gen = 0;
};
}  // namespace
}  // namespace achan::etcd

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::unary_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::watch_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::watch_end)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::retry_timer)

namespace achan::etcd {
namespace {

using etcd_actor = resolver_actor::extend<caf::reacts_to<unary_done>, caf::reacts_to<watch_message>,
                                          caf::reacts_to<watch_end>, caf::reacts_to<retry_timer>>;

struct etcd_state {
  std::optional<session> s;
  std::optional<prefix_view> view;
  std::optional<backoff> retry;
  resolver_sink sink;
  std::uint64_t gen = 0;
  stream_call watch;
  bool watch_created = false;
  bool relist = true;
  bool sent_error = false;
  std::optional<prefix_snapshot> sent;
  static inline const char* name = "achan.etcd_resolver";
};

using self_ptr = etcd_actor::stateful_pointer<etcd_state>;

void publish(self_ptr self) {
  auto& st = self->state;
  auto snap = st.view->current();
  auto notes = st.view->take_notes();
  bool same = st.sent && !st.sent_error && st.sent->addresses == snap.addresses &&
              st.sent->weights == snap.weights && st.sent->service_config == snap.service_config;
  if (same && notes.empty())
    return;
  resolver_update u;
  u.addresses = snap.addresses;
  u.weights = snap.weights;
  u.service_config = snap.service_config;
  u.notes = std::move(notes);
  if (snap.addresses.empty())
    u.notes.push_back("etcd prefix '" + st.view->prefix() + "' at " + st.s->members() +
                      " holds no endpoint");
  st.sent = std::move(snap);
  st.sent_error = false;
  self->send(st.sink, std::move(u));
}

void start_attempt(self_ptr self);

/// Reports `err` (the balancer keeps the last list) and retries after the backoff.
void fail_attempt(self_ptr self, status err) {
  auto& st = self->state;
  ++st.gen;
  st.watch.cancel();
  if (session::is_token_error(err))
    st.s->drop_token();
  resolver_update u;
  u.error = {status_code::unavailable, std::move(err.message)};
  u.notes = st.view->take_notes();
  st.sent_error = true;
  self->send(st.sink, std::move(u));
  self->delayed_send(self, st.retry->next_delay(), retry_timer{st.gen});
}

void call_range(self_ptr self, const range_request& q) {
  auto& st = self->state;
  st.s->channel().call(range_method, encode(q), st.s->unary(),
                       [cb = to_self<unary_done, etcd_actor>(self), gen = st.gen](call_result&& r) {
                         cb(unary_done{gen, false, std::move(r)});
                       });
}

void start_watch(self_ptr self) {
  auto& st = self->state;
  st.watch_created = false;
  auto gen = st.gen;
  st.watch = st.s->channel().bidi_stream(
      watch_method, st.s->stream(),
      [cb = to_self<watch_message, etcd_actor>(self), gen](std::string&& m) {
        cb(watch_message{gen, std::move(m)});
      },
      [cb = to_self<watch_end, etcd_actor>(self), gen](call_result&& r) {
        cb(watch_end{gen, std::move(r)});
      });
  st.watch.write(encode(st.view->watch_request()));
}

void start_attempt(self_ptr self) {
  auto& st = self->state;
  ++st.gen;
  st.watch.cancel();
  if (st.s->needs_token()) {
    st.s->authenticate([cb = to_self<unary_done, etcd_actor>(self), gen = st.gen](call_result&& r) {
      cb(unary_done{gen, true, std::move(r)});
    });
  } else if (st.relist || !st.view->listed()) {
    call_range(self, st.view->first_page());
  } else {
    start_watch(self);
  }
}

void on_unary(self_ptr self, unary_done& d) {
  auto& st = self->state;
  if (!d.r.status.ok())
    return fail_attempt(
        self, {d.r.status.code, describe(*st.s, d.auth ? "Authenticate" : "Range", d.r.status)});
  if (d.auth) {
    st.s->set_token(std::move(d.r.payload));
    return start_attempt(self);
  }
  auto page = decode_range_response(d.r.payload);
  if (!page)
    return fail_attempt(self, page.error());
  auto next = st.view->on_page(*page);
  if (!next)
    return fail_attempt(self, next.error());
  if (*next)
    return call_range(self, **next);
  st.relist = false;
  publish(self);
  start_watch(self);
}

void on_watch(self_ptr self, watch_message& m) {
  auto& st = self->state;
  auto w = decode_watch_response(m.bytes);
  if (!w)
    return fail_attempt(self, w.error());
  if (w->created && !w->canceled) {
    st.watch_created = true;
    st.retry->reset();
    if (st.sent_error)
      publish(self);  // etcd is back: clear the error with the current list
  }
  switch (st.view->on_watch(*w)) {
    case prefix_view::watch_step::changed:
      publish(self);
      break;
    case prefix_view::watch_step::relist:
      st.relist = true;
      start_attempt(self);
      break;
    case prefix_view::watch_step::rewatch:
      // Reported (the view's note says why) and retried after the backoff. etcd 3.4 answers
      // a watch whose token it does not know (a restarted member forgot its simple tokens)
      // with a cancel: "...Unauthenticated desc = etcdserver: invalid auth token" (or
      // "permission denied"): authenticate again first.
      if (session::is_token_error({status_code::unknown, w->cancel_reason}) ||
          w->cancel_reason.find("permission denied") != std::string::npos)
        st.s->drop_token();
      fail_attempt(self,
                   {status_code::unavailable, "etcd Watch of '" + st.view->prefix() + "' at " +
                                                  st.s->members() + " was cancelled"});
      break;
    case prefix_view::watch_step::nothing:
      break;
  }
}

etcd_actor::behavior_type etcd_resolver(self_ptr self, session s, std::string prefix,
                                        resolver_sink sink, std::uint64_t seed) {
  auto& st = self->state;
  st.retry.emplace(s.options().retry, seed);
  st.view.emplace(std::move(prefix), s.options().max_keys, s.options().page_size);
  st.s.emplace(std::move(s));
  st.sink = std::move(sink);
  start_attempt(self);
  return {
      [=](resolve_now) {},  // the watch keeps the list current
      [=](resolver_stop) {
        self->state.watch.cancel();
        self->state.s->close();
        self->quit();
      },
      [=](unary_done& d) {
        if (d.gen == self->state.gen)
          on_unary(self, d);
      },
      [=](watch_message& m) {
        if (m.gen == self->state.gen)
          on_watch(self, m);
      },
      [=](watch_end& e) {
        auto& st = self->state;
        if (e.gen != st.gen)
          return;
        if (st.watch_created) {  // an established watch ended: resume on another member
          ++st.gen;
          self->delayed_send(self, st.retry->params().initial, retry_timer{st.gen});
          return;
        }
        fail_attempt(self, {e.r.status.code, describe(*st.s, "Watch", e.r.status)});
      },
      [=](retry_timer t) {
        if (t.gen == self->state.gen)
          start_attempt(self);
      },
  };
}

class etcd_builder final : public resolver_builder {
 public:
  explicit etcd_builder(etcd_options o) : opts_(std::move(o)) {}
  std::string scheme() const override { return "etcd"; }
  result<void> validate(const target& t) const override {
    if (auto ok = achan::validate(opts_); !ok)
      return ok;
    auto et = parse_etcd_target(t);
    return et ? result<void>{} : result<void>{et.error()};
  }
  resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink,
                       std::uint64_t seed) override {
    auto et = parse_etcd_target(t);
    auto s = et ? session::open(sys, et->members, opts_, seed) : result<session>{et.error()};
    if (!s) {  // validated at dial, so only a transport that cannot be made lands here
      resolver_update u;
      u.error = {status_code::unavailable, s.error().message};
      caf::anon_send(sink, std::move(u));
      return caf::actor_cast<resolver_actor>(sys.spawn(
          // (an argument: CAF 0.17 spawns an argument-less function actor unsafely)
          [](resolver_actor::pointer self, int) -> resolver_actor::behavior_type {
            return {[](resolve_now) {}, [self](resolver_stop) { self->quit(); }};
          },
          0));
    }
    return caf::actor_cast<resolver_actor>(
        sys.spawn(etcd_resolver, std::move(*s), et->prefix, std::move(sink), seed));
  }

 private:
  etcd_options opts_;
};

}  // namespace
}  // namespace achan::etcd

namespace achan {
resolver_builder_ptr make_etcd_resolver(etcd_options o) {
  return std::make_shared<etcd::etcd_builder>(std::move(o));
}
}  // namespace achan
