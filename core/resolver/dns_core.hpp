#pragma once
/// When the dns: resolver queries, and what it tells the balancer: the pure C++ core of
/// actors/resolver/dns_resolver (no CAF, no clock of its own; the actor passes `now`).
///
///            start / resolve_now / timer
///   waiting ───────────────────────────► query_due(now)? ──yes──► begin_query ──► in flight
///      ▲                                                                            │
///      └──── finish_query: success → next refresh (interval / TTL), backoff reset ◄─┘
///                          error   → retry after backoff
///
/// A query is due when none is in flight and one of these has come: the first query
/// (at start), a resolve_now whose rate-limit window (min_resolve_interval after the
/// previous query's start) has passed, the refresh time, or the error retry time.
/// Several reasons due together make one query; one query satisfies them all.
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <achan/backoff.hpp>
#include <achan/call.hpp>
#include <achan/dns_options.hpp>
#include <achan/result.hpp>
#include "transport/dns/lookup.hpp"

namespace achan {

/// What to send the balancer after a query: a complete list, or the error (UNAVAILABLE,
/// saying why the lookup failed).
using dns_outcome = result<std::vector<std::string>>;

/// The scheduling and dedupe state of one resolver. Owned by its actor; not thread-safe.
class dns_core {
 public:
  /// Precondition: validate(opts) is "". `seed` fixes the retry jitter.
  dns_core(const dns_options& opts, std::uint64_t seed);

  /// The resolver started: the first query is due now.
  void start(time_point now);
  /// A resolve_now arrived: a query is due once the rate-limit window allows it (merged
  /// with any request already waiting).
  void request(time_point now);
  /// True if a query should start now: one is due and none is in flight.
  bool query_due(time_point now) const;
  /// Marks a query as started at `now` and returns its sequence number (1, 2, ...),
  /// which its answer must carry. Clears every reason that made it due.
  std::uint64_t begin_query(time_point now);
  /// The answer to query `seq`. A stale `seq` (not the one in flight) changes nothing.
  /// Otherwise schedules the next refresh (success) or retry (error, or an empty list)
  /// and returns what to send: the error, or the list in the order DNS gave it. Returns
  /// nullopt when there is nothing to send: a stale `seq`, or a list equal as a set
  /// (compared sorted) to the last list sent; errors in between do not reset that.
  std::optional<dns_outcome> finish_query(std::uint64_t seq, time_point now,
                                          const dns::lookup_result& r);
  /// The earliest time at which query_due may turn true without a new request; nullopt
  /// while a query is in flight or nothing is scheduled. The actor arms one timer for it.
  std::optional<time_point> next_wakeup() const;

  /// Queries started so far.
  std::uint64_t queries() const noexcept { return seq_; }

 private:
  std::optional<time_point> due_at() const;

  dns_options opts_;
  backoff retry_;
  std::uint64_t seq_ = 0;
  bool in_flight_ = false;
  bool initial_due_ = false;
  bool requested_ = false;                // a resolve_now waits for its window
  std::optional<time_point> last_start_;  // start of the previous query
  std::optional<time_point> refresh_at_;
  std::optional<time_point> retry_at_;
  std::optional<std::vector<std::string>> last_sent_;  // sorted
};

}  // namespace achan
