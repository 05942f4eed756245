/// The registration actor: keep one key alive under a lease.
///
///   [auth] ─► LeaseGrant ─► Put(key, lease) ─► keepalive stream (every TTL/3)
///      ▲                                          │ TTL 0 (lease lost): grant again
///      └──── retry timer ◄── failure ◄────────────┘ stream ended: reopen it
///   stop: LeaseRevoke (the key goes at once), then quit
#include <atomic>
#include <future>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/event_based_actor.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include <achan/etcd.hpp>

#include "actors/etcd/etcd_session.hpp"
#include "core/etcd/etcd_wire.hpp"

namespace achan {

/// What the handle and the actor share (atomics: any thread reads them).
struct etcd_registration::impl {
  std::string key;
  std::atomic<bool> registered{false};
  std::atomic<std::uint64_t> registrations{0};
  std::atomic<std::shared_ptr<const std::string>> last_error{std::make_shared<const std::string>()};
  std::atomic<bool> stopping{false};
  caf::actor actor;
};

namespace etcd {
namespace {

enum class step : std::uint8_t { auth, grant, put, keepalive_stream, revoke };

struct reg_done {
  std::uint64_t gen = 0;
  step what = step::grant;
  call_result r;
};
struct reg_message {
  std::uint64_t gen = 0;
  std::string bytes;
};
struct reg_timer {
  std::uint64_t gen = 0;
  bool keepalive = false;
};
struct reg_stop {
  std::shared_ptr<std::promise<void>> done;
};

}  // namespace
}  // namespace etcd
}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::reg_done)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::reg_message)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::reg_timer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::etcd::reg_stop)

namespace achan::etcd {
namespace {

struct reg_state {
  std::shared_ptr<etcd_registration::impl> shared;
  std::optional<session> s;
  std::optional<backoff> retry;
  etcd_registration_options opts;
  std::uint64_t gen = 0;
  std::int64_t lease = 0;
  stream_call keepalive;
  bool stream_open = false;  // the keepalive stream answered at least once
  bool put_done = false;     // the key is in etcd with `lease`
  bool revoking = false;
  std::vector<std::shared_ptr<std::promise<void>>> waiting_stop;
  static inline const char* name = "achan.etcd_registration";
};
using self_ptr = caf::stateful_actor<reg_state>*;

void unary(self_ptr self, step what, const char* method, std::string body) {
  self->state.s->channel().call(
      method, std::move(body), self->state.s->unary(),
      [cb = to_self<reg_done, caf::actor>(self), gen = self->state.gen, what](call_result&& r) {
        cb(reg_done{gen, what, std::move(r)});
      });
}

void begin(self_ptr self);

void fail(self_ptr self, std::string message) {
  auto& st = self->state;
  ++st.gen;
  st.keepalive.cancel();
  st.shared->registered = false;
  st.shared->last_error = std::make_shared<const std::string>(std::move(message));
  self->delayed_send(self, st.retry->next_delay(), reg_timer{st.gen, false});
}

void open_keepalive(self_ptr self) {
  auto& st = self->state;
  st.stream_open = false;
  st.keepalive = st.s->channel().bidi_stream(
      lease_keepalive_method, st.s->stream(),
      [cb = to_self<reg_message, caf::actor>(self), gen = st.gen](std::string&& m) {
        cb(reg_message{gen, std::move(m)});
      },
      [cb = to_self<reg_done, caf::actor>(self), gen = st.gen](call_result&& r) {
        cb(reg_done{gen, step::keepalive_stream, std::move(r)});
      });
  st.keepalive.write(encode(lease_id_request{st.lease}));
}

/// Grant (or, with a lease still held, reopen the keepalive stream).
void begin(self_ptr self) {
  auto& st = self->state;
  ++st.gen;
  st.keepalive.cancel();
  if (st.s->needs_token()) {
    st.s->authenticate([cb = to_self<reg_done, caf::actor>(self), gen = st.gen](call_result&& r) {
      cb(reg_done{gen, step::auth, std::move(r)});
    });
  } else if (st.lease != 0 && st.put_done) {
    open_keepalive(self);
  } else if (st.lease != 0) {
    unary(self, step::put, put_method,
          encode(put_request{st.shared->key, st.opts.value, st.lease}));
  } else {
    unary(self, step::grant, lease_grant_method, encode(lease_grant_request{st.opts.ttl.count()}));
  }
}

void on_done(self_ptr self, reg_done& d) {
  auto& st = self->state;
  static const char* names[] = {"Authenticate", "LeaseGrant", "Put", "LeaseKeepAlive",
                                "LeaseRevoke"};
  if (d.what == step::keepalive_stream && st.stream_open && d.r.status.code != status_code::ok) {
    ++st.gen;  // an established stream ended (member gone): reopen it soon
    self->delayed_send(self, st.retry->params().initial, reg_timer{st.gen, false});
    return;
  }
  if (!d.r.status.ok()) {
    if (session::is_token_error(d.r.status))
      st.s->drop_token();
    if (d.r.status.message.find("lease not found") != std::string::npos) {
      st.lease = 0;  // revoked or expired: grant a new one
      st.put_done = false;
    }
    return fail(self, describe(*st.s, names[static_cast<int>(d.what)], d.r.status));
  }
  switch (d.what) {
    case step::auth:
      st.s->set_token(std::move(d.r.payload));
      return begin(self);
    case step::grant: {
      auto g = decode_lease_grant_response(d.r.payload);
      if (!g || !g->error.empty() || g->id == 0)
        return fail(self, "etcd LeaseGrant: " + (!g                 ? g.error().message
                                                 : g->error.empty() ? "no lease granted"
                                                                    : g->error));
      st.lease = g->id;
      return unary(self, step::put, put_method,
                   encode(put_request{st.shared->key, st.opts.value, st.lease}));
    }
    case step::put:
      st.put_done = true;
      ++st.shared->registrations;
      st.shared->last_error = std::make_shared<const std::string>();
      st.retry->reset();
      return open_keepalive(self);
    case step::keepalive_stream:  // the server closed the stream with OK
      ++st.gen;
      self->delayed_send(self, st.retry->params().initial, reg_timer{st.gen, false});
      return;
    case step::revoke:
      return;
  }
}

void on_keepalive(self_ptr self, reg_message& m) {
  auto& st = self->state;
  auto k = decode_lease_keepalive_response(m.bytes);
  if (!k)
    return fail(self, k.error().message);
  if (k->ttl <= 0) {  // the lease expired meanwhile: the key is gone, register again
    st.lease = 0;
    st.put_done = false;
    st.shared->registered = false;
    st.shared->last_error =
        std::make_shared<const std::string>("etcd lease expired: registering again");
    return begin(self);
  }
  st.stream_open = true;
  st.shared->registered = true;
  if (!st.shared->last_error.load()->empty())  // back after a failure (say, a member restart)
    st.shared->last_error = std::make_shared<const std::string>();
  st.retry->reset();
  auto every = std::max<std::chrono::milliseconds>(std::chrono::seconds(k->ttl) / 3,
                                                   std::chrono::milliseconds(100));
  self->delayed_send(self, every, reg_timer{st.gen, true});
}

caf::behavior registration(self_ptr self, std::shared_ptr<etcd_registration::impl> shared,
                           session s, etcd_registration_options opts, std::uint64_t seed) {
  auto& st = self->state;
  st.shared = std::move(shared);
  st.retry.emplace(opts.etcd.retry, seed);
  st.opts = std::move(opts);
  st.s.emplace(std::move(s));
  begin(self);
  auto finish = [self] {
    auto& st = self->state;
    st.shared->registered = false;
    st.keepalive.cancel();
    st.s->close();
    for (auto& p : st.waiting_stop)
      p->set_value();
    self->quit();
  };
  return {
      [=](reg_done& d) {
        auto& st = self->state;
        if (d.what == step::revoke)
          return finish();
        if (d.gen == st.gen && !st.shared->stopping)
          on_done(self, d);
      },
      [=](reg_message& m) {
        if (m.gen == self->state.gen && !self->state.shared->stopping)
          on_keepalive(self, m);
      },
      [=](reg_timer t) {
        auto& st = self->state;
        if (t.gen != st.gen || st.shared->stopping)
          return;
        if (t.keepalive)
          st.keepalive.write(encode(lease_id_request{st.lease}));
        else
          begin(self);
      },
      [=](reg_stop& r) {
        auto& st = self->state;
        if (r.done)
          st.waiting_stop.push_back(r.done);
        if (st.revoking)
          return;
        st.revoking = true;
        st.shared->stopping = true;
        ++st.gen;
        st.keepalive.cancel();
        if (st.lease == 0)
          return finish();
        unary(self, step::revoke, lease_revoke_method, encode(lease_id_request{st.lease}));
      },
  };
}

std::string default_value(const std::string& address, std::uint32_t weight) {
  std::string v = "{\"Op\":0,\"Addr\":\"" + address + "\"";
  if (weight != 1)
    v += ",\"Metadata\":{\"weight\":" + std::to_string(weight) + "}";
  return v + "}";
}

}  // namespace
}  // namespace achan::etcd

namespace achan {

result<std::shared_ptr<etcd_registration>> etcd_registration::start(
    caf::actor_system& sys, const std::string& target_text, const std::string& address,
    etcd_registration_options opts) {
  auto t = parse_target(
      target_text, [](std::string_view s) { return s == "etcd"; }, "");
  if (!t || t->scheme != "etcd")
    return status{
        status_code::invalid_argument,
        "registration target '" + target_text + "' is not etcd://HOST:PORT[,HOST:PORT...]/PREFIX"};
  auto et = parse_etcd_target(*t);
  if (!et)
    return et.error();
  auto hp = split_host_port(address, 0);
  if (!hp || hp->port == 0)
    return status{status_code::invalid_argument,
                  "cannot register '" + address + "': expected HOST:PORT"};
  if (opts.ttl < std::chrono::seconds(1))
    return status{status_code::invalid_argument, "lease TTL must be at least 1 s"};
  if (opts.weight == 0)
    return status{status_code::invalid_argument, "registration weight must be positive"};
  if (auto ok = validate(opts.etcd); !ok)
    return ok.error();
  auto seed = std::random_device{}();
  auto s = etcd::session::open(sys, et->members, opts.etcd, seed);
  if (!s)
    return s.error();
  auto shared = std::make_shared<impl>();
  shared->key = opts.key.empty() ? et->prefix + address : opts.key;
  if (opts.value.empty())
    opts.value = etcd::default_value(address, opts.weight);
  shared->actor =
      sys.spawn(etcd::registration, shared, std::move(*s), std::move(opts), std::uint64_t{seed});
  return std::make_shared<etcd_registration>(std::move(shared));
}

etcd_registration::etcd_registration(std::shared_ptr<impl> i) : impl_(std::move(i)) {}

etcd_registration::~etcd_registration() {
  if (!impl_->stopping)
    caf::anon_send(impl_->actor, etcd::reg_stop{});
}

const std::string& etcd_registration::key() const noexcept {
  return impl_->key;
}
bool etcd_registration::registered() const noexcept {
  return impl_->registered;
}
std::uint64_t etcd_registration::registrations() const noexcept {
  return impl_->registrations;
}
std::string etcd_registration::last_error() const {
  return *impl_->last_error.load();
}

void etcd_registration::stop(std::chrono::milliseconds timeout) {
  auto p = std::make_shared<std::promise<void>>();
  auto f = p->get_future();
  caf::anon_send(impl_->actor, etcd::reg_stop{std::move(p)});
  f.wait_for(timeout);
}

}  // namespace achan
