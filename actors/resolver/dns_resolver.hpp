#pragma once
/// The dns: resolver: `dns:[//DNS_SERVER_IP[:PORT]/]host[:port]` (port 443 if omitted,
/// DNS server port 53), and every bare `host:port` target. A thin actor around
/// dns_core (when to query, what to send) and a dns::lookup_fn (the c-ares service,
/// or a fake in tests). Lookups run off the actor: the answer comes back as a message
/// tagged with its query's sequence number, so answers to an old query, or arriving
/// after resolver_stop (the actor has quit), are dropped.
///
/// Errors go to the balancer as resolver_update{error = UNAVAILABLE, message naming the
/// host, the DNS failure and the server}; the policies keep serving the last good list
/// and fail calls with that message only when they have none.
///
/// With dns_options::service_config (not for IP literals or "localhost"), every query
/// also asks for TXT `_grpc_config.<host>` and each update carries the outcome (gRFC
/// A2, see core/resolver/txt_service_config.hpp): `service_config` = the chosen
/// serviceConfig's JSON text, unset when there is none for this client;
/// `service_config_error` = INVALID_ARGUMENT "service config in TXT
/// '_grpc_config.svc': grpc_config: ..." for a bad record, or UNAVAILABLE with the TXT
/// failure (timeout, SERVFAIL, ...) when the addresses came but the TXT query failed:
/// gRPC C++ drops such failures (a TODO there wants them told apart from NXDOMAIN);
/// sending them lets the channel keep its previous config instead of falling back to
/// none. A changed config is sent even when the addresses did not change.
#include <cstdint>
#include <optional>
#include <string>

#include <achan/dns_options.hpp>
#include <achan/resolver.hpp>
#include "transport/dns/lookup.hpp"

namespace achan {

/// The lookup request of a dns: target (host, port, DNS server; timeout left at its
/// default), or a one-line error for dial(): bad host:port, or an authority that is not
/// an IP literal with an optional port.
using dns_target_result = result<dns::lookup_request>;

/// Parses a dns: target. Pure; any thread.
dns_target_result parse_dns_target(const target& t);

/// Everything one dns resolver actor needs.
struct dns_resolver_config {
  /// What to look up; `request.timeout` is used as given. `request.txt_name` is set by
  /// the resolver from `options` (whatever the caller put there).
  dns::lookup_request request;
  /// Scheduling and service config; validate(options) must be "". An empty
  /// `client_hostname` becomes gethostname() at start.
  dns_options options;
  /// Seed of the retry jitter and of the one service config percentage roll.
  std::uint64_t seed = 0;
  /// Starts lookups; called on the resolver actor, must not block.
  dns::lookup_fn lookup;
};

/// Spawns a dns resolver that sends its updates to `sink` and queries at once. Stops on
/// resolver_stop.
resolver_actor spawn_dns_resolver(caf::actor_system& sys, dns_resolver_config cfg,
                                  resolver_sink sink);

/// The "dns" builder. Lookups go to `lookup`, or (if empty) to the process-wide c-ares
/// service (dns::ares_service::shared(), taken when the first resolver is built).
/// Targets are validated at dial time; each resolver gets `opts` (query_timeout becomes
/// the request timeout) and the seed build() is given for its retry jitter.
resolver_builder_ptr make_dns_builder(dns_options opts, dns::lookup_fn lookup = {});

}  // namespace achan
