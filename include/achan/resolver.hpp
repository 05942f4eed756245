#pragma once
/// Resolver plug-in interface and the scheme registry.
///
/// A resolver is an actor that sends its channel's balancer complete address lists
/// (never deltas) as resolver_update messages, resends on resolve_now (rate-limiting
/// if it is expensive), and stops sending on resolver_stop. Builders register by
/// scheme; a channel's registry is the built-ins plus whatever its dial options add,
/// so there is no global mutable registry.
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <caf/allowed_unsafe_message_type.hpp>
#include <caf/fwd.hpp>
#include <caf/replies_to.hpp>
#include <caf/typed_actor.hpp>

#include <achan/dns_options.hpp>
#include <achan/policy.hpp>
#include <achan/status.hpp>
#include <achan/target.hpp>

namespace achan {

/// A resolver's complete answer. `error` not OK means resolution failed (the address
/// list is then ignored).
///
/// Service config (gRFC A21): `service_config` is the JSON text the resolver found
/// (none: it has none, and the channel's default applies); `service_config_error` not
/// OK means it found one it could not use (a malformed TXT record): the channel keeps
/// its previous config. The channel parses and validates the text itself. `config` is
/// a balancer choice without a service config (manual_resolver::update); a service
/// config's loadBalancingConfig wins over it.
///
/// `weights` are the addresses' static weights (an endpoint attribute, as EDS or a
/// registry gives them), in `addresses`' order: empty means every address weighs 1, a
/// missing or 0 entry counts as 1. Weighted policies use them (ring_hash: its share of
/// the ring; weighted_round_robin: until load reports give weights); others ignore them.
struct resolver_update {
  std::vector<std::string> addresses;
  std::optional<lb_config> config;
  status error;
  std::optional<std::string> service_config;
  status service_config_error;
  std::vector<std::uint32_t> weights;
  /// What the resolver skipped or wants a person to know (a malformed registry entry, a
  /// re-listing): shown to the channel's observer with the update, never acted on.
  std::vector<std::string> notes;
};

/// Asks a resolver to resolve again (it may rate-limit).
struct resolve_now {};
/// Tells a resolver its channel no longer listens; it stops sending updates.
struct resolver_stop {};

/// Where a resolver sends its updates (the balancer).
using resolver_sink = caf::typed_actor<caf::reacts_to<resolver_update>>;
/// What every resolver actor understands.
using resolver_actor = caf::typed_actor<caf::reacts_to<resolve_now>, caf::reacts_to<resolver_stop>>;

/// Builds resolvers for one scheme. Implementations must be thread-safe to share
/// between channels.
class resolver_builder {
 public:
  virtual ~resolver_builder() = default;
  /// The scheme served, lower-case ("ipv4", "dns", ...).
  virtual std::string scheme() const = 0;
  /// Checks `t` when the channel is dialed: ok if usable, else INVALID_ARGUMENT with a
  /// one-line message (dial() fails with errc::invalid_target and that message).
  virtual result<void> validate(const target& t) const = 0;
  /// Starts resolving `t`, sending every result to `sink`. Called on the channel actor.
  /// `seed` comes from the channel's seed (dial_options::seed): a resolver that needs
  /// randomness (retry jitter) seeds its generator with it, so channels dialed with the
  /// same seed behave the same.
  virtual resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink,
                               std::uint64_t seed) = 0;
};

using resolver_builder_ptr = std::shared_ptr<resolver_builder>;

/// The seed a channel seeded with `channel_seed` passes to its resolver's build(): a
/// random stream apart from the balancer's (the channel seed itself) and the subchannels'.
constexpr std::uint64_t resolver_seed(std::uint64_t channel_seed) noexcept {
  return channel_seed ^ 0xD1B54A32D192ED03ULL;
}

/// Scheme → builder. Later additions replace earlier ones with the same scheme.
class resolver_registry {
 public:
  /// passthrough, ipv4, ipv6, unix, unix-abstract, dns (c-ares lookups scheduled by
  /// `dns`) and etcd (<achan/etcd.hpp>, default etcd_options).
  static resolver_registry with_builtins(const dns_options& dns = {});
  /// Adds (or replaces) the builder for `b->scheme()`.
  void add(resolver_builder_ptr b);
  /// The builder for `scheme` (case-insensitive), or nullptr.
  resolver_builder_ptr find(std::string_view scheme) const;

 private:
  std::vector<resolver_builder_ptr> builders_;
};

}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::resolver_update)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::resolve_now)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::resolver_stop)
