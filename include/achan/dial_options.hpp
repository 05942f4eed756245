#pragma once
/// Options of `achan::dial`. Every field has gRPC's default unless noted.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <achan/backoff.hpp>
#include <achan/call_credentials.hpp>
#include <achan/dns_options.hpp>
#include <achan/events.hpp>
#include <achan/policy.hpp>
#include <achan/resolver.hpp>
#include <achan/service_config.hpp>
#include <achan/tls.hpp>
#include <achan/transport.hpp>

namespace achan {

/// How a channel is dialed.
struct dial_options {
  /// Load-balancing policy used until the resolver's service config names another:
  /// "pick_first" (gRPC's default), "round_robin", "least_request", "peak_ewma",
  /// "weighted_round_robin", "ring_hash", "outlier_detection" (docs/balancing.md), or
  /// one added in `policies`.
  std::string lb_policy = "pick_first";
  /// That policy's config object, as a service config's loadBalancingConfig entry holds
  /// it (JSON text), e.g. R"({"choiceCount": 3})" for least_request. Validated by dial:
  /// a bad one fails with errc::invalid_option naming the field.
  std::string lb_policy_config = "{}";
  /// pick_first: shuffle the address list (with the seeded generator) before use.
  bool shuffle_address_list = false;
  /// Default for calls that do not say: queue through TRANSIENT_FAILURE until READY or
  /// the deadline, instead of failing fast with UNAVAILABLE.
  bool wait_for_ready = false;
  /// Connection backoff for every subchannel (1 s, 1.6x, ±20 %, 120 s max, 20 s
  /// minimum connect timeout).
  backoff_params backoff;
  /// With no call in flight or waiting for this long, the channel releases its
  /// resolver, balancer and connections and goes IDLE. Zero disables it.
  clock_duration idle_timeout = std::chrono::minutes(30);
  /// If set, dial() connects at once and blocks until READY or this long has passed
  /// (then it fails with errc::dial_timeout). Only from a thread that runs no actors:
  /// inside an actor or under the test coordinator dial fails with errc::would_deadlock.
  std::optional<clock_duration> block_until_ready;
  /// Carries the calls. Unset: a new HTTP/2 transport (one I/O thread) owned by this
  /// channel. Share one transport (make_h2_transport) between channels to share its
  /// threads, or pass a simulated transport in tests.
  transport::transport_ptr transport;
  /// TLS for the channel's own transport (set no `transport` then): trust, client
  /// certificate, server name (default: the authority's host, see `authority`), ALPN h2.
  /// Unset: h2c. Files that cannot be used make dial() fail with errc::invalid_option.
  /// docs/tls.md.
  std::optional<client_tls> tls;
  /// Metadata added to every call before it is sent (<achan/call_credentials.hpp>).
  /// Needs a secure transport (`tls`, or one whose secure() is true): dial() fails with
  /// errc::invalid_option otherwise, unless allow_insecure_call_credentials.
  call_credentials_ptr call_credentials;
  /// Send call credentials (the channel's and per-call ones) over a plaintext channel.
  bool allow_insecure_call_credentials = false;
  /// How the dns: resolver re-resolves: resolve_now rate limit (30 s), optional periodic
  /// or TTL-driven refresh (off), per-query timeout (5 s), retry backoff after errors.
  /// Ignored for other schemes and when `resolvers` replaces "dns".
  dns_options dns;
  /// Extra resolvers, consulted before the built-ins (same scheme replaces).
  std::vector<resolver_builder_ptr> resolvers;
  /// Extra balancing policies by name (same name replaces a built-in).
  std::vector<std::pair<std::string, policy_factory>> policies;
  /// The :authority of every call. Unset: the target's host for dns: and passthrough:
  /// targets ("svc.local:50051"), "localhost" for unix:, otherwise the address of the
  /// connection that carries the call.
  std::optional<std::string> authority;
  /// Seed for every random choice of the channel (backoff and DNS retry jitter,
  /// shuffles, start offsets); random if unset. Equal seeds make equal schedules.
  std::optional<std::uint64_t> seed;
  /// Subchannels (connections) per resolved address, 1..1000. With more than one, the
  /// policy sees each address that many times, so round_robin spreads calls over all of
  /// the connections; calls still report the plain address as their peer.
  unsigned connections_per_address = 1;
  /// Told about resolver answers and subchannel state changes (see channel_event);
  /// runs on the balancer actor and must not block.
  channel_observer observer;

  /// The default service config (<achan/service_config.hpp>, gRPC's JSON schema): used
  /// until the resolver supplies one, when it supplies none, and when its own is invalid
  /// with none before (gRFC A21). Invalid JSON makes dial() fail with
  /// errc::invalid_option and the parser's message. docs/service-config.md.
  std::optional<std::string> service_config;
  /// Ignore service configs from the resolver; only `service_config` applies.
  bool disable_resolver_service_config = false;
  /// Cap of retryPolicy/hedgingPolicy maxAttempts (gRPC's 5); larger ones are clamped.
  /// 2..100.
  int max_retry_attempts = 5;
  /// A call whose request is larger than this is not retried or hedged (it commits at
  /// once): gRPC's per-RPC retry buffer, 256 KiB.
  std::size_t per_call_retry_buffer = 256 * 1024;
  /// Nor is one that would take the requests this channel keeps for retries over this
  /// (16 MiB, as gRPC C++).
  std::size_t channel_retry_buffer = 16 * 1024 * 1024;
};

}  // namespace achan
