#pragma once
/// Service config in DNS (gRFC A2): which serviceConfig a TXT answer for
/// `_grpc_config.<host>` gives this client. Pure C++ (no CAF, no I/O): the dns: resolver
/// core (dns_core) calls it with what the lookup returned; tests call it with tables.
///
///   _grpc_config.svc  TXT  "grpc_config=[{\"percentage\":10,\"serviceConfig\":{...}},"
///                          "{\"serviceConfig\":{...}}]"
///
/// The value after "grpc_config=" is a JSON array of choices, each
///
///   {"clientLanguage": [string], "percentage": 0..100, "clientHostname": [string],
///    "serviceConfig": {...}}
///
/// and the first choice whose criteria all match this client wins. A criterion that is
/// absent (or an empty list) matches every client.
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <achan/result.hpp>

namespace achan {

/// The attribute (RFC 1464) that marks a TXT record as a gRPC service config. Compared
/// case-sensitively, as gRPC C++, Go and Java do.
inline constexpr std::string_view grpc_config_attribute = "grpc_config=";

/// Deepest JSON nesting accepted in a grpc_config value (the choice list is level 1, a
/// choice level 2, its serviceConfig level 3). A DNS answer can hold ~64 KiB, enough
/// for thousands of levels; the bound keeps the recursive serializer (and the channel's
/// own parser, which gets the chosen text) off deep stacks. Real configs stay well
/// under 20 levels.
inline constexpr int max_grpc_config_depth = 64;

/// What the TXT records say about this client's service config:
///   - a value holding nullopt: no config (no record starts with "grpc_config=", or no
///     choice matches this client);
///   - a value holding text: the chosen choice's serviceConfig object as compact JSON
///     (keys in the order the record had them); the channel parses and validates it;
///   - an error (INVALID_ARGUMENT) saying precisely what is wrong, e.g.
///     "grpc_config: choices[1]: unknown field 'percent'": the config must not be used
///     and the channel keeps its previous one (gRFC A21).
using txt_config = result<std::optional<std::string>>;

/// Chooses this client's service config from the TXT records of `_grpc_config.<host>`.
///
/// `records` holds one string per TXT record, its character-strings already
/// concatenated (RFC 4408 3.1.3), in the order DNS returned them. Records not starting
/// with "grpc_config=" are ignored. If several do, the first one is used and the others
/// ignored (what gRPC C++'s c-ares resolver does; A2 speaks of "the" record only).
///
/// The whole choice list is validated before any choice is matched, so a bad choice
/// fails the config for every client alike, whatever their roll or host name. Per A2 a
/// choice with a field other than the four above is invalid, and an invalid choice
/// discards the whole config; `percentage` must be an integer (no fraction, no
/// exponent) from 0 to 100; `serviceConfig` is required and must be an object.
///
/// Matching, in choice order: `clientLanguage` contains "c++" (case-insensitive);
/// `clientHostname` contains `client_hostname` (exact, case-sensitive; an empty
/// `client_hostname` matches no list); `percentage` p selects the choice iff
/// `roll < p` (so 0 never, 100 always).
///
/// `roll` is the caller's uniform draw from 0..99 (precondition), taken from its seeded
/// generator. Pure; any thread.
txt_config choose_txt_service_config(const std::vector<std::string>& records,
                                     std::string_view client_hostname, unsigned roll);

}  // namespace achan
