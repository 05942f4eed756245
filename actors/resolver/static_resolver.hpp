#pragma once
/// Resolvers whose answer is fixed by the target itself: passthrough, ipv4, ipv6,
/// unix, unix-abstract (dns: is actors/resolver/dns_resolver). They send their list
/// once and again on every resolve_now; the balancer's diff makes the repeats free.
#include <functional>

#include <achan/resolver.hpp>

namespace achan {

/// Maps a target to its fixed address list, or to an error message.
using static_resolve_fn = std::function<address_list_result(const target&)>;

/// A builder for scheme `scheme` whose addresses come from `fn`; a target for which
/// `fn` returns an error fails at dial time with that message.
resolver_builder_ptr make_static_builder(std::string scheme, static_resolve_fn fn);

/// The built-in fixed-answer builders.
std::vector<resolver_builder_ptr> builtin_static_builders();

}  // namespace achan
