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
///
/// Service config (dns_options::service_config, gRFC A2): the answer's TXT records go
/// through choose_txt_service_config with this client's host name and one percentage
/// roll drawn from the seed when the core is made. gRPC C++ rolls anew on every
/// resolution; one roll per resolver (and so per channel seed) keeps a client on one
/// side of a canary instead of flipping between configs on each re-resolution.
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

/// What to send the balancer after a query (the CAF-free mirror of resolver_update).
struct dns_outcome {
  /// Not OK (UNAVAILABLE, saying why the lookup failed): nothing else is set.
  status error;
  /// The complete list, in the order DNS gave it.
  std::vector<std::string> addresses;
  /// The chosen serviceConfig as JSON text; unset: none (or service config is off).
  std::optional<std::string> service_config;
  /// Not OK: a config was found but cannot be used (INVALID_ARGUMENT), or the TXT
  /// query failed (UNAVAILABLE); the channel keeps its previous config.
  status service_config_error;
};

/// The scheduling and dedupe state of one resolver. Owned by its actor; not thread-safe.
class dns_core {
 public:
  /// Precondition: validate(opts) is "". `seed` fixes the retry jitter and the service
  /// config percentage roll. `txt_name` is the TXT name the lookups ask for
  /// ("_grpc_config.<host>"; empty: no TXT asked, so no service config is sent) and
  /// names it in error messages. `opts.client_hostname` is used as given (the actor
  /// fills in gethostname()).
  dns_core(const dns_options& opts, std::uint64_t seed, std::string txt_name = {});

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
  /// and returns what to send: the error, or the list in the order DNS gave it with the
  /// service config outcome of its TXT part. Returns nullopt when there is nothing to
  /// send: a stale `seq`, or a list equal as a set (compared sorted) to the last list
  /// sent with the same service config outcome (text, or error code and message);
  /// errors in between do not reset that. A TXT failure does not fail the query: the
  /// addresses are sent, with service_config_error set.
  std::optional<dns_outcome> finish_query(std::uint64_t seq, time_point now,
                                          const dns::lookup_result& r);
  /// The earliest time at which query_due may turn true without a new request; nullopt
  /// while a query is in flight or nothing is scheduled. The actor arms one timer for it.
  std::optional<time_point> next_wakeup() const;

  /// Queries started so far.
  std::uint64_t queries() const noexcept { return seq_; }
  /// The percentage roll (0..99) every TXT answer is matched with.
  unsigned config_roll() const noexcept { return roll_; }

 private:
  std::optional<time_point> due_at() const;

  void choose_config(const dns::lookup_result& r, dns_outcome& out) const;

  dns_options opts_;
  backoff retry_;
  std::uint64_t seq_ = 0;
  bool in_flight_ = false;
  bool initial_due_ = false;
  bool requested_ = false;                // a resolve_now waits for its window
  std::optional<time_point> last_start_;  // start of the previous query
  std::optional<time_point> refresh_at_;
  std::optional<time_point> retry_at_;
  std::optional<dns_outcome> last_sent_;  // addresses sorted
  std::string txt_name_;
  unsigned roll_ = 0;
};

}  // namespace achan
