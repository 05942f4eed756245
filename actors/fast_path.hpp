#pragma once
/// The caller-thread fast path of a channel: calls made through a channel handle are
/// created here and, while the channel is READY, picked on the caller's own thread from
/// the picker the channel actor publishes (channel_shared::ready_picker): a call that
/// picks a connection goes straight to it, without a hop through the actor. Anything
/// else — nothing READY, a queue or fail pick, a reroute — goes to the actor
/// (start_call), which stays the only owner of the queue and of every picker change.
///
/// Who touches what: channel_shared's fields are immutable after dial (authority) or
/// atomic (counters, the picker slot), so caller threads and the actor share them
/// without a lock.
#include <array>
#include <atomic>
#include <cstdint>
#include <memory>
#include <string>

#include <achan/call.hpp>
#include <achan/call_credentials.hpp>
#include "actors/channel_protocol.hpp"
#include "core/balancer/picker_slot.hpp"
#include "core/retry/retry_rules.hpp"

namespace achan {

/// The service config a channel applies to new calls, and the retry throttle of its
/// retryThrottling (null without). Published by the channel actor (channel_shared::config).
struct active_service_config {
  service_config_ptr sc;
  std::shared_ptr<retry_throttle> throttle;
};

/// Attempt counters of calls with a retry or hedging policy (channel::stats()).
struct attempt_counters {
  std::array<std::atomic<std::uint64_t>, 17> by_code{};  ///< attempts ended, by status code
  std::atomic<std::uint64_t> retries{0};                 ///< retry attempts started
  std::atomic<std::uint64_t> hedges{0};                  ///< hedged attempts after the first
  std::atomic<std::uint64_t> transparent{0};             ///< calls re-picked (never processed)
  void count(status_code c) noexcept {
    auto i = static_cast<std::size_t>(c);
    by_code[i < by_code.size() ? i : 2].fetch_add(1, std::memory_order_relaxed);
  }
};

/// Counters shared between a channel's actor and its handles (atomics, no lock).
struct channel_shared {
  std::atomic<std::uint64_t> next_call_id{1};
  std::atomic<std::int64_t> active_calls{0};     ///< started and not yet finished
  std::atomic<bool> closed{false};               ///< close() was called
  std::shared_ptr<const std::string> authority;  ///< for every call (immutable after dial)
  /// dial_options::call_credentials, and whether credentials may be sent on this
  /// channel (its transport is secure, or the user allowed it). Immutable after dial.
  call_credentials_ptr credentials;
  bool credentials_allowed = false;
  /// The current picker while the channel is READY, else none. Published only by the
  /// channel actor; read by submit_call on any thread, without a lock.
  picker_slot ready_picker;
  /// When submit_call last placed a call itself (channel clock ticks since its epoch),
  /// so the idle timer sees calls that never reached the actor.
  std::atomic<time_point::rep> last_fast_call{0};
  /// The service config for new calls (none until the channel knows it). Published only
  /// by the channel actor; read by submit_call.
  snapshot_slot<active_service_config> config;
  attempt_counters attempts;
  /// Retry buffers (dial_options): a call whose request is larger than the per-call
  /// limit, or would take the channel's retried requests over its limit, is not retried.
  std::size_t per_call_retry_buffer = 256 * 1024;
  std::size_t channel_retry_buffer = 16 * 1024 * 1024;
  std::atomic<std::size_t> retry_buffered{0};  ///< request bytes kept for retries now
  int max_retry_attempts = 5;                  ///< dial_options::max_retry_attempts
  /// This object itself (attempts keep it alive); set by dial.
  std::weak_ptr<channel_shared> self;
};

/// What the picker may know about `c` (views into it).
inline pick_info pick_info_of(const call& c) noexcept {
  return {c.method(), &c.request_metadata(), c.request_hash};
}

/// Starts `c` (made by make_call): picks from `shared.ready_picker` on the calling thread
/// and hands the call to the picked connection, or sends it to `actor` (start_call) when
/// there is no READY picker or the pick is not `complete`. Thread-safe.
void submit_call(channel_shared& shared, const channel_control& actor, const call_ptr& c,
                 time_point now);

/// Creates a call counted in `shared->active_calls` (until it finishes) whose deadline
/// is `now + opts.timeout`. The call gets its own control block, so the weak_ptr a
/// pending deadline timer holds does not keep its memory alive. Thread-safe.
call_ptr make_call(const std::shared_ptr<channel_shared>& shared, time_point now,
                   std::string method, std::string payload, call_options opts,
                   bool default_wait_for_ready, call::completion done);

/// What every call gets before its first pick, on whichever thread starts it: the
/// reroute hook (a call a connection hands back is picked again, up to 3 times), and the
/// checks that can end it at once (deadline already passed, malformed metadata). False
/// if it ended the call.
bool admit_call(const channel_control& me, const call_ptr& c, time_point now);

}  // namespace achan
