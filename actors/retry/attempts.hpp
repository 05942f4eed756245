#pragma once
/// Retries and hedging (gRFC A6). A call whose method has a retry or hedging policy never
/// reaches a transport itself: each attempt is a separate `call` (same method, payload,
/// metadata and deadline, plus `grpc-previous-rpc-attempts`) that the channel picks like
/// any other call, so every attempt may land on another backend. The user's call ends
/// exactly once, with the answer of the attempt that commits.
///
/// Who does what:
///   - an attempt's completion runs on its transport thread and ends the user's call
///     itself when the answer commits it: OK, a status that is not retryable (not
///     non-fatal, for hedging), or any answer after response headers. No actor hop on
///     the success path, so an unused retry policy costs little.
///   - a retryable failure goes to the channel actor (attempt_failed), which applies the
///     throttle and the server's pushback and either starts the next attempt after the
///     backoff (a timer on the actor clock, jitter from the channel's seeded generator) or
///     ends the call with that attempt's status;
///   - hedged attempts start on the actor's timer, one every hedgingDelay (the first may
///     start on the caller's thread, which then asks the actor to arm the timer,
///     arm_hedge); the first to commit wins and the actor cancels the others
///     (attempts_committed).
/// The call's deadline covers all attempts. Client- and bidi-streaming calls are retried
/// while uncommitted with their request messages replayed (transport/request_replay, up
/// to the per-call retry buffer); they are not hedged.
#include <cstdint>
#include <memory>
#include <random>
#include <utility>
#include <vector>

#include <achan/call.hpp>
#include <achan/service_config.hpp>
#include "actors/channel_protocol.hpp"
#include "actors/fast_path.hpp"
#include "transport/request_replay.hpp"

namespace achan {

/// The attempts of a call not known to have ended, as (number, call). The first is kept
/// inline: a call that is never retried allocates nothing for its list.
class attempt_list {
 public:
  void add(int n, call_ptr c) {
    if (!first_.second)
      first_ = {n, std::move(c)};
    else
      more_.emplace_back(n, std::move(c));
  }
  /// Removes every entry for which `pred(n, call)` is true.
  template <class Pred>
  void remove_if(Pred pred) {
    if (first_.second && pred(first_.first, first_.second))
      first_ = {};
    std::erase_if(more_, [&](const auto& e) { return pred(e.first, e.second); });
  }
  bool empty() const noexcept { return !first_.second && more_.empty(); }

 private:
  std::pair<int, call_ptr> first_;
  std::vector<std::pair<int, call_ptr>> more_;
};

/// One call with a retry or hedging policy: its attempts and the rules they follow.
struct attempt_set {
  call_ptr parent;        ///< the user's call
  service_config_ptr sc;  ///< keeps the policies alive
  const retry_policy* retry = nullptr;
  const hedging_policy* hedging = nullptr;
  int max_attempts = 1;
  std::shared_ptr<retry_throttle> throttle;  ///< null: no retryThrottling
  std::shared_ptr<channel_shared> shared;
  channel_control channel;
  std::size_t buffered = 0;  ///< counted in shared->retry_buffered until destroyed
  /// Client- and bidi-streaming calls: the request messages each attempt sends again.
  std::shared_ptr<transport::request_replay> replay;
  /// The attempt whose answer counts (0: none yet); set once, by whoever commits first.
  std::atomic<int> winner{0};
  // Written by the thread that starts the first attempt, then by the channel actor only.
  int started = 0;
  bool stopped = false;  ///< pushback or the throttle ended further attempts
  std::uint64_t hedge_gen = 0;
  time_point next_hedge{};  ///< when the armed hedge timer fires
  /// Attempts started, for completions on other threads (`started` is the actor's): an
  /// answer of the only attempt needs no attempts_committed.
  std::atomic<int> launched{0};
  attempt_list live;
  call_result last;  ///< the latest failed attempt's answer

  ~attempt_set();
};
using attempt_set_ptr = std::shared_ptr<attempt_set>;

/// The set for `c` if `mc` has a retry or hedging policy and the retry buffers have room
/// for its request; null otherwise (the call then goes out as it is). `active` (which
/// keeps `mc` alive) and `shared` are taken by value so the fast path can move them in.
attempt_set_ptr make_attempt_set(const call_ptr& c, const method_config& mc,
                                 active_service_config active,
                                 std::shared_ptr<channel_shared> shared,
                                 const channel_control& channel, int max_attempts_cap);

/// Creates attempt number s->started + 1 (counts it, records it in `live`). The caller
/// starts it (pick + start_call). Null if its request messages can no longer be replayed.
call_ptr next_attempt(const attempt_set_ptr& s);

/// What the channel actor does for attempts (implemented by the channel actor).
class attempt_host {
 public:
  virtual ~attempt_host() = default;
  /// Picks `c` and starts it like a new call.
  virtual void dispatch(const call_ptr& c) = 0;
  /// Calls on_attempt_due(s, hedge, gen) after `after`; the timer keeps `s` alive only
  /// with `keep` (otherwise it does nothing if `s` is gone by then).
  virtual void schedule(const attempt_set_ptr& s, bool hedge, std::uint64_t gen,
                        clock_duration after, bool keep) = 0;
  virtual time_point now() = 0;
  virtual std::mt19937_64& random() = 0;
  /// Releases what the channel holds for an attempt it just ended (its stream).
  virtual void release(const call_ptr& attempt) = 0;
};

/// Ends the user's call's request replay (the call ended).
void end_replay(attempt_set& s);
/// Forgets attempts in `live` that have ended.
void prune(attempt_set& s);

/// Starts the next attempt through the host (and, hedging, arms the next hedge timer).
void start_attempt(attempt_host& h, const attempt_set_ptr& s);
/// Arms the hedge timer of a set whose first attempt the fast path started.
void arm_first_hedge(attempt_host& h, const attempt_set_ptr& s);
/// The channel actor's handlers.
void on_attempt_failed(attempt_host& h, attempt_failed& f);
void on_attempt_due(attempt_host& h, const attempt_set_ptr& s, bool hedge, std::uint64_t gen);
/// Ends every live attempt but `keep` (0: all) with CANCELLED and releases it.
void cancel_attempts(attempt_host& h, attempt_set& s, int keep, const char* why);

}  // namespace achan
