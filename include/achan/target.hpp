#pragma once
/// Dial-target parsing per gRPC's naming doc (`scheme:[//authority/]endpoint`), the way
/// grpc-go's parseTarget resolves it, plus the address helpers the built-in resolvers
/// (ipv4:, ipv6:, unix:, unix-abstract:) need. Pure C++, no CAF; every function is a pure
/// function of its arguments and may be called from any thread or actor.
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <achan/result.hpp>

namespace achan {

/// A parsed dial target: scheme:[//authority/]endpoint.
struct target {
  /// Lower-case scheme, e.g. "dns", "ipv4", "unix", "passthrough", "manual".
  std::string scheme;
  /// The part between "//" and the next '/'; may be empty (for dns: the DNS server "ip:port").
  std::string authority;
  /// Everything after "scheme:" or "scheme://authority/", verbatim (no percent-decoding).
  std::string endpoint;
  /// The string the user passed, unchanged.
  std::string original;
};

/// Result of parse_target: the target, or INVALID_ARGUMENT with a one-line message naming the
/// problem.
using target_result = result<target>;

/// Parses the dial target `text`. `is_registered(scheme)` is asked (with the lower-cased scheme)
/// whether a resolver exists for it; an empty function counts as "nothing registered".
/// If `text` has no scheme, its prefix before ':' is not an RFC 3986 scheme
/// (ALPHA *( ALPHA / DIGIT / "+" / "-" / "." ), matched case-insensitively), or the scheme is
/// unregistered, the result is {default_scheme, "", text, text}: "localhost:50051",
/// "127.0.0.1:1", "[::1]:443" and "foo:bar" all become dns targets with `text` as endpoint.
/// For a registered scheme: "scheme://authority/endpoint" sets the authority,
/// "scheme:///endpoint" has an empty one, "scheme:endpoint" has none. Errors: empty `text`;
/// "scheme://authority" with no '/' after the authority (endpoint missing) — except for the
/// unix and unix-abstract schemes, where it parses with an empty endpoint so that parse_unix
/// reports the precise problem (non-empty authority or empty path).
target_result parse_target(std::string_view text,
                           const std::function<bool(std::string_view)>& is_registered,
                           std::string_view default_scheme = "dns");

/// A host and a port, split but not resolved.
struct host_port {
  /// Host name or IP literal, without IPv6 brackets.
  std::string host;
  /// 1..65535.
  std::uint16_t port = 0;
};

/// Result of split_host_port: the host and port, or INVALID_ARGUMENT saying what is wrong.
using host_port_result = result<host_port>;

/// Splits "host:port", "[v6]:port", "host", "[v6]" or a bare IPv6 literal without brackets and
/// port ("::1"; any text with two or more colons and no brackets is taken whole as the host, as
/// gRPC core does). The port must be decimal 1..65535; a missing port gives `default_port`.
/// Errors (empty text or host, empty/non-numeric/out-of-range port, unterminated '[', garbage
/// after ']') give a message quoting the text, e.g. "invalid port 'x' in '127.0.0.1:x'".
/// The host is not validated further.
host_port_result split_host_port(std::string_view text, std::uint16_t default_port);

/// Formats an address the way transports expect: "1.2.3.4:80", "host:80", and brackets for any
/// host containing ':' ("[::1]:80").
std::string join_host_port(std::string_view host, std::uint16_t port);

/// Result of the address-list parsers: the addresses (non-empty), or INVALID_ARGUMENT.
using address_list_result = result<std::vector<std::string>>;

/// Parses the endpoint of the ipv4: (`v6` false) or ipv6: (`v6` true) schemes: comma-separated
/// addresses with optional ports (default 443). Each host must be a literal of that family
/// (checked with inet_pton; IPv6 zone ids are not supported). Returns the addresses normalized
/// through inet_ntop and join_host_port ("1.2.3.4:443", "[::1]:80"), in input order, or an
/// error naming the bad element. An empty list or an empty element is an error.
address_list_result parse_ip_list(std::string_view endpoint, bool v6);

/// Turns a parsed unix: or unix-abstract: target into its single address. "unix:path" (relative
/// or absolute) gives "unix:path"; "unix:///abs/path" gives "unix:/abs/path" (the '/' that
/// parse_target consumed after the empty authority is put back, found via `t.original`).
/// "unix-abstract:name" gives "unix-abstract:name" (same rules). Errors: a non-empty authority,
/// an empty path, or any other scheme.
address_list_result parse_unix(const target& t);

}  // namespace achan
