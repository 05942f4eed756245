// The caller-thread fast path of a channel (fast_path.hpp).
#include "actors/fast_path.hpp"

#include <caf/send.hpp>

#include <utility>

#include "actors/retry/attempts.hpp"
#include "core/config/call_settings.hpp"
#include "transport/grpc/wire_text.hpp"

namespace achan {

constexpr int max_reroutes = 3;

bool admit_call(const channel_control& me, const call_ptr& c, time_point now) {
  c->reroute = [me, left = max_reroutes](const call_ptr& rc) mutable {
    if (left-- <= 0)
      return false;
    caf::anon_send(me, reroute_call{rc});
    return true;
  };
  if (c->deadline() <= now) {
    c->fail(status_code::deadline_exceeded, "deadline exceeded before the call started");
    return false;
  }
  if (!c->request_metadata().empty()) {
    if (auto err = grpc::metadata_error(c->request_metadata()); !err.empty()) {
      c->fail(status_code::internal, std::move(err));  // as grpc-go reports bad metadata
      return false;
    }
  }
  return true;
}

call_ptr make_call(const std::shared_ptr<channel_shared>& shared, time_point now,
                   std::string method, std::string payload, call_options opts,
                   bool default_wait_for_ready, call::completion done) {
  auto deadline = opts.timeout ? now + *opts.timeout : time_point::max();
  shared->active_calls.fetch_add(1, std::memory_order_relaxed);
  auto c = call_ptr{new call(
      shared->next_call_id.fetch_add(1, std::memory_order_relaxed), std::move(method),
      std::move(payload), std::move(opts.md), deadline,
      opts.wait_for_ready.value_or(default_wait_for_ready),
      [shared, done = std::move(done)](call_result&& r) {
        shared->active_calls.fetch_sub(1, std::memory_order_relaxed);
        done(std::move(r));
      },
      now)};
  c->explicit_wait_for_ready = opts.wait_for_ready.has_value();
  c->authority = shared->authority;
  c->credentials = std::move(opts.credentials);
  c->request_hash = opts.request_hash;
  c->on_headers = std::move(opts.on_headers);
  return c;
}

namespace {

/// The trackers of one pick, kept alive (retained) after the picker is released until they
/// are attached to the call that is sent.
struct picked_trackers {
  call_tracker* t[2] = {nullptr, nullptr};
  time_point at;
  picked_trackers() = default;
  picked_trackers(const picked_trackers&) = delete;
  picked_trackers& operator=(const picked_trackers&) = delete;
  ~picked_trackers() {
    for (auto* x : t)
      if (x)
        x->release();
  }
  /// Attaches the trackers to `c` (once: later calls do nothing).
  void attach_to(call& c) {
    if (!t[0] && !t[1])
      return;
    c.attach_trackers(t, at);
    for (auto*& x : t)
      if (x)
        std::exchange(x, nullptr)->release();
  }
};

/// The service config on the fast path (READY, so the channel knows its config): applies
/// the method's settings and, with a retry or hedging policy, starts the first attempt on
/// `conn` instead of `c` (a hedged call's timer is armed by the channel actor, arm_hedge);
/// the pick's trackers then go to that attempt. False if `c` itself is not to be started.
bool configure_on_caller(channel_shared& shared, const channel_control& actor, const call_ptr& c,
                         const transport::connection_ptr& conn, picked_trackers& picked) {
  c->config_applied = true;
  if (!shared.config.published())
    return true;  // no service config: nothing to read (the common case)
  active_service_config active;
  const method_config* mc = nullptr;
  shared.config.with([&](const active_service_config& a) noexcept {
    if (a.sc && (mc = a.sc->find(c->method())))
      active = a;  // keeps the config (and so *mc) alive
  });
  if (!mc)
    return true;
  if (!apply_method_config(*c, *mc))
    return false;
  auto s = make_attempt_set(c, *mc, std::move(active), shared.self.lock(), actor,
                            shared.max_retry_attempts);
  if (!s)
    return true;
  c->attempts = s;
  auto first = next_attempt(s);            // never null: a new set's replay has a first stream
  first->reroute = std::move(c->reroute);  // the user's call itself is never sent
  first->carrier = conn;
  picked.attach_to(*first);  // the attempt is what this pick sends
  if (s->hedging && s->max_attempts > 1)
    caf::anon_send(actor, arm_hedge{s});  // before the attempt can report anything
  conn->start_call(first);
  return false;
}

}  // namespace

void submit_call(channel_shared& shared, const channel_control& actor, const call_ptr& c,
                 time_point now) {
  if (c->credentials || shared.credentials) {  // the channel actor asks for them
    caf::anon_send(actor, start_call{c});
    return;
  }
  transport::connection_ptr conn;
  picked_trackers picked;
  shared.ready_picker.with([&](const picker& p) noexcept {
    auto r = p.pick(pick_info_of(*c));
    if (r.what != pick_result::kind::complete)
      return;
    conn = *r.conn;
    // Retained while the picker (which owns the trackers) is pinned; attached to the call
    // that is sent, so a retried call's first attempt gets them.
    for (int i = 0; i < 2; ++i)
      if ((picked.t[i] = r.trackers[i]))
        picked.t[i]->retain();
  });
  if (!conn) {
    caf::anon_send(actor, start_call{c});
    return;
  }
  picked.at = now;
  if (!admit_call(actor, c, now)) {
    picked.attach_to(*c);  // ended already: the trackers end at once, unsent
    return;
  }
  shared.last_fast_call.store(now.time_since_epoch().count(), std::memory_order_relaxed);
  if (!configure_on_caller(shared, actor, c, conn, picked)) {
    picked.attach_to(*c);  // unless its first attempt took them: refused (ended), unsent
    return;
  }
  picked.attach_to(*c);
  c->carrier = conn;
  conn->start_call(c);
}

}  // namespace achan
