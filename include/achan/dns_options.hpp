#pragma once
/// Options of the dns: resolver (dial_options::dns). When it asks its DNS server again:
///
///   - at start (the channel left IDLE);
///   - on resolve_now (a connection was lost, or every address failed), at most once
///     per `min_resolve_interval` (a burst of requests gives one query, at the end of
///     the window);
///   - every `refresh_interval`, and/or when the answer's TTL (at least `ttl_floor`)
///     runs out with `honor_ttl`, so new backends are seen without any failure;
///   - after a failed lookup, with `retry_backoff` (reset by the next success).
///
/// One query is in flight at a time; an answer equal to the last one sent (addresses
/// compared as sets, and the same service config) sends nothing downstream.
///
/// With `service_config` on, each query also fetches the TXT records of
/// `_grpc_config.<host>` (gRFC A2; not for IP literals or "localhost") and every update
/// carries the serviceConfig chosen for this client, or the reason none can be used.
/// Off by default, as in gRPC C++ (GRPC_ARG_SERVICE_CONFIG_DISABLE_RESOLUTION).
#include <chrono>
#include <string>

#include <achan/backoff.hpp>
#include <achan/call.hpp>

namespace achan {

/// How a channel's dns: resolver queries. Durations run on the actor clock.
struct dns_options {
  /// Rate limit for resolve_now: no query starts sooner than this after the previous
  /// one started; requests in between are merged into one query at the window's end.
  /// >= 0 (0: every request queries as soon as none is in flight). gRPC's default 30 s.
  clock_duration min_resolve_interval = std::chrono::seconds(30);
  /// Periodic re-resolution, measured from the last successful answer; 0 = none (gRPC
  /// behaviour). The `achan` command's `--dns-refresh` sets it. >= 0.
  clock_duration refresh_interval = clock_duration::zero();
  /// Also re-resolve when the answer's smallest TTL runs out (never sooner than
  /// `ttl_floor` after the answer). With `refresh_interval` as well, the earlier wins.
  bool honor_ttl = false;
  /// Lower bound of TTL-driven refreshes, so a TTL of 0 does not hammer the server. > 0.
  clock_duration ttl_floor = std::chrono::seconds(30);
  /// Bound of one lookup (A and AAAA together, retries included). > 0.
  clock_duration query_timeout = std::chrono::seconds(5);
  /// Delays between retries after a failed lookup (initial 1 s, x1.6, +-20 %, max
  /// 120 s; min_connect_timeout is not used). Must pass validate(backoff_params).
  backoff_params retry_backoff;
  /// Look up TXT records _grpc_config.<host> and send the chosen service config (gRFC
  /// A2) with every update: resolver_update::service_config is the chosen serviceConfig
  /// as JSON text (unset: no TXT config, or no choice for this client);
  /// resolver_update::service_config_error says why a config found cannot be used (bad
  /// JSON or choice: INVALID_ARGUMENT; the TXT query failed: UNAVAILABLE), and the
  /// channel then keeps its previous one. The TXT query shares `query_timeout`.
  bool service_config = false;
  /// This client's host name for the choices' clientHostname lists (exact,
  /// case-sensitive). Empty: gethostname() when the resolver starts. Set it in tests.
  /// At most 255 characters (a DNS name's bound).
  std::string client_hostname;
};

/// Ok if `o` is usable, else INVALID_ARGUMENT naming the first bad field
/// ("dns.min_resolve_interval must not be negative", ...). Pure; dial() calls it.
result<void> validate(const dns_options& o);

}  // namespace achan
