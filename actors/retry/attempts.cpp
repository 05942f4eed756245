// Retries and hedging (attempts.hpp).
#include "actors/retry/attempts.hpp"

#include <algorithm>
#include <string>

#include <caf/send.hpp>

#include "core/support/duration_text.hpp"

namespace achan {

attempt_set::~attempt_set() {
  // Nothing refers to the call's attempts any more: a timer dropped with the channel
  // actor (closed) must not leave the call without a status.
  if (parent && !parent->finished())
    parent->fail(status_code::cancelled, "channel closed before the call's next attempt");
  end_replay(*this);
  if (buffered && shared)
    shared->retry_buffered.fetch_sub(buffered, std::memory_order_relaxed);
}

attempt_set_ptr make_attempt_set(const call_ptr& c, const method_config& mc,
                                 active_service_config active,
                                 std::shared_ptr<channel_shared> shared,
                                 const channel_control& channel, int max_attempts_cap) {
  if ((!mc.retry && !mc.hedging) || (c->requests && mc.hedging))
    return nullptr;  // request streams are retried, not hedged
  // A stream reserves the whole per-call buffer: its messages are not known yet.
  auto bytes = c->requests ? shared->per_call_retry_buffer : c->payload().size();
  if (bytes > shared->per_call_retry_buffer)
    return nullptr;  // committed at once: too large to keep for another attempt
  auto before = shared->retry_buffered.fetch_add(bytes, std::memory_order_relaxed);
  if (before + bytes > shared->channel_retry_buffer) {
    shared->retry_buffered.fetch_sub(bytes, std::memory_order_relaxed);
    return nullptr;
  }
  // Not make_shared: a weak hedge timer then keeps only the control block, not the set.
  auto s = attempt_set_ptr{new attempt_set};
  s->parent = c;
  s->sc = std::move(active.sc);
  s->throttle = std::move(active.throttle);
  s->channel = channel;
  s->buffered = bytes;
  if (c->requests)
    s->replay =
        std::make_shared<transport::request_replay>(c->requests, shared->per_call_retry_buffer);
  s->shared = std::move(shared);
  if (mc.retry) {
    s->retry = &*mc.retry;
    s->max_attempts = std::min(mc.retry->max_attempts, max_attempts_cap);
  } else {
    s->hedging = &*mc.hedging;
    s->max_attempts = std::min(mc.hedging->max_attempts, max_attempts_cap);
  }
  return s;
}

namespace {

/// Whether attempt `n` may decide the call: the first to try wins, later ones are ignored.
bool claim(attempt_set& s, int n) noexcept {
  int w = 0;
  return s.winner.compare_exchange_strong(w, n, std::memory_order_acq_rel) || w == n;
}

/// The completion of attempt `n` (any thread).
void attempt_done(const attempt_set_ptr& s, int n, call_result&& r) {
  s->shared->attempts.count(r.status.code);
  auto& p = *s->parent;
  if (p.finished())
    return;  // cancelled, past its deadline, or another attempt won
  bool ok = r.status.ok();
  if (ok && s->throttle)
    s->throttle->record_success();
  bool again = s->retry ? s->retry->retryable(r.status.code) : s->hedging->non_fatal(r.status.code);
  // Response headers commit the call; so does a message this attempt delivered.
  bool committed = r.headers_received || s->winner.load(std::memory_order_acquire) == n;
  if (ok || !again || committed) {
    if (!claim(*s, n))
      return;
    p.finish(std::move(r));
    end_replay(*s);
    // (A hedge the actor starts meanwhile finds the winner set and is not sent.)
    if (s->hedging && s->launched.load(std::memory_order_acquire) > 1)
      caf::anon_send(s->channel, attempts_committed{s, n});
    return;
  }
  caf::anon_send(s->channel, attempt_failed{s, n, std::move(r)});
}

}  // namespace

void end_replay(attempt_set& s) {
  if (s.replay)
    s.replay->finish();
}

namespace {

/// Ends the user's call with `r` (the last attempt's answer) if nothing else will.
void give_up(attempt_set& s, call_result&& r) {
  int w = 0;
  if (s.winner.compare_exchange_strong(w, -1, std::memory_order_acq_rel))
    s.parent->finish(std::move(r));
  end_replay(s);
}

}  // namespace

void prune(attempt_set& s) {
  s.live.remove_if([](int, const call_ptr& a) { return a->finished(); });
}

call_ptr next_attempt(const attempt_set_ptr& s) {
  auto& p = *s->parent;
  std::shared_ptr<transport::request_stream> requests;
  if (s->replay && !(requests = s->replay->next_stream()))
    return nullptr;  // the messages were too large to keep: no more attempts
  int n = ++s->started;
  s->launched.store(n, std::memory_order_release);
  if (n > 1)
    (s->retry ? s->shared->attempts.retries : s->shared->attempts.hedges)
        .fetch_add(1, std::memory_order_relaxed);
  metadata md = p.request_metadata();
  if (n > 1)
    md.emplace_back("grpc-previous-rpc-attempts", std::to_string(n - 1));
  auto c = call_ptr{new call(
      s->shared->next_call_id.fetch_add(1, std::memory_order_relaxed), p.method(), p.payload(),
      std::move(md), p.deadline(), p.wait_for_ready(),
      [s, n](call_result&& r) { attempt_done(s, n, std::move(r)); }, p.start_time())};
  c->authority = p.authority;
  c->max_response_bytes = p.max_response_bytes;
  c->config_applied = true;
  c->credentials_applied = true;  // the parent's metadata has them
  c->requests = std::move(requests);
  if (p.streams_responses())
    // Weak: `live` holds this attempt, so a strong reference would be a cycle. While the
    // attempt runs, its completion keeps the set alive.
    c->on_message = [w = std::weak_ptr<attempt_set>{s}, n, first = true](std::string&& m) mutable {
      auto s = w.lock();
      if (!s || !claim(*s, n))
        return;  // another hedged attempt answers
      if (std::exchange(first, false) && s->hedging &&
          s->launched.load(std::memory_order_acquire) > 1)
        caf::anon_send(s->channel, attempts_committed{s, n});
      s->parent->deliver(std::move(m));
    };
  if (p.on_headers)
    // Response headers commit the call (gRFC A6), so the attempt that sends them answers.
    c->on_headers = [w = std::weak_ptr<attempt_set>{s}, n](const metadata& md) {
      auto s = w.lock();
      if (!s || !claim(*s, n))
        return;
      if (s->hedging && s->launched.load(std::memory_order_acquire) > 1)
        caf::anon_send(s->channel, attempts_committed{s, n});
      s->parent->deliver_headers(md);
    };
  prune(*s);
  s->live.add(n, c);
  return c;
}

namespace {
void arm_hedge_timer(attempt_host& h, const attempt_set_ptr& s) {
  s->next_hedge = h.now() + s->hedging->hedging_delay;
  h.schedule(s, true, ++s->hedge_gen, s->hedging->hedging_delay, false);  // attempts keep s
}
}  // namespace

void arm_first_hedge(attempt_host& h, const attempt_set_ptr& s) {
  if (s->parent->finished() || s->winner.load(std::memory_order_acquire) != 0 ||
      s->started >= s->max_attempts)
    return;  // answered already, or nothing more to send
  arm_hedge_timer(h, s);
}

void start_attempt(attempt_host& h, const attempt_set_ptr& s) {
  auto c = next_attempt(s);
  if (!c) {
    give_up(*s, std::move(s->last));
    return;
  }
  if (s->hedging && s->started < s->max_attempts)
    arm_hedge_timer(h, s);  // (`c` keeps s alive while it runs)
  h.dispatch(c);
}

void cancel_attempts(attempt_host& h, attempt_set& s, int keep, const char* why) {
  // (Ending an attempt runs its completion, which finds the user's call already ended and
  // does not touch the list.)
  s.live.remove_if([&](int n, const call_ptr& a) {
    if (n == keep)
      return false;
    if (a->fail(status_code::cancelled, why))
      h.release(a);
    return true;
  });
}

void on_attempt_failed(attempt_host& h, attempt_failed& f) {
  auto& s = *f.set;
  if (s.parent->finished() || s.winner.load(std::memory_order_acquire) != 0)
    return;
  prune(s);
  auto pb = read_pushback(f.result.trailers);
  if (s.throttle)
    s.throttle->record_failure();  // a retryable (non-fatal) failure counts
  if (pb.what == pushback::kind::stop)
    s.stopped = true;
  if (s.throttle && !s.throttle->allows_retry())
    s.stopped = true;
  bool more = !s.stopped && s.started < s.max_attempts && (!s.replay || s.replay->replayable());
  s.last = std::move(f.result);
  if (s.retry) {
    if (!more) {
      give_up(s, std::move(s.last));
      return;
    }
    auto delay = pb.what == pushback::kind::delay
                     ? pb.after
                     : retry_backoff(*s.retry, s.started,
                                     std::uniform_real_distribution<double>{0, 1}(h.random()));
    auto now = h.now();
    auto left = s.parent->deadline() - now;
    h.schedule(f.set, false, 0, std::min(delay, left), true);
    return;
  }
  // Hedging: the schedule goes on; pushback moves the next hedge.
  if (more && pb.what == pushback::kind::delay) {
    s.next_hedge = h.now() + pb.after;
    h.schedule(f.set, true, ++s.hedge_gen, pb.after, true);
  } else if (more && s.live.empty()) {
    // Nothing in flight keeps the set until the armed hedge: re-arm it, holding the set.
    h.schedule(f.set, true, ++s.hedge_gen, s.next_hedge - h.now(), true);
  }
  if (s.live.empty() && (!more || s.started >= s.max_attempts))
    give_up(s, std::move(s.last));
}

void on_attempt_due(attempt_host& h, const attempt_set_ptr& s, bool hedge, std::uint64_t gen) {
  if (s->parent->finished() || s->winner.load(std::memory_order_acquire) != 0)
    return;
  if (hedge && gen != s->hedge_gen)
    return;  // replaced by a pushback's timer
  if (h.now() >= s->parent->deadline()) {
    int w = 0;
    if (s->winner.compare_exchange_strong(w, -1, std::memory_order_acq_rel))
      s->parent->fail(status_code::deadline_exceeded,
                      "deadline exceeded after " + std::to_string(s->started) +
                          " attempts (last: " + s->last.status.to_string() + ")",
                      s->last.peer);
    cancel_attempts(h, *s, 0, "call deadline exceeded");
    end_replay(*s);
    return;
  }
  if (hedge && (s->stopped || (s->throttle && !s->throttle->allows_retry()))) {
    s->stopped = true;
    prune(*s);
    if (s->live.empty())
      give_up(*s, std::move(s->last));
    return;
  }
  start_attempt(h, s);
}

}  // namespace achan
