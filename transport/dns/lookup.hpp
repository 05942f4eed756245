#pragma once
/// The vocabulary of a DNS lookup: what is asked, what comes back, and the answers that
/// need no query (IP literals, "localhost"). CAF-free; the dns: resolver actor
/// (actors/resolver/dns_resolver) asks through a `lookup_fn`, which is the c-ares
/// service (transport/dns/ares_service) in production and a fake in tests.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <vector>

namespace achan::dns {

/// One lookup of A and AAAA records, and optionally of TXT records (service config in
/// DNS, gRFC A2) in the same bound.
struct lookup_request {
  /// Host name or IP literal (no brackets).
  std::string host;
  /// Port put on every address of the answer.
  std::uint16_t port = 443;
  /// DNS server as "ip:port" or "[v6]:port"; empty = the system's servers (resolv.conf).
  std::string server;
  /// Whole-lookup bound (A, AAAA and TXT together, retries included); > 0.
  std::chrono::milliseconds timeout{5000};
  /// If not empty, the TXT records of this name are fetched too (the dns: resolver asks
  /// for "_grpc_config.<host>"). Ignored for hosts answered without a query.
  std::string txt_name;
};

/// Why a lookup failed. `none` means success.
enum class lookup_error : std::uint8_t {
  none,
  not_found,       ///< NXDOMAIN: the name does not exist
  no_data,         ///< the name exists but has no A or AAAA record
  timeout,         ///< no answer within the request's timeout
  unreachable,     ///< no server could be contacted: nothing listens, or it said REFUSED
  server_failure,  ///< SERVFAIL, REFUSED, a malformed answer and the like
  bad_name,        ///< the host is not a valid DNS name
  cancelled,       ///< the service shut down before the answer arrived
  other,           ///< anything else c-ares reports (the message has its text)
};

/// The answer to one lookup: either `addresses` (non-empty, "1.2.3.4:443" /
/// "[::1]:443", in the order the server and c-ares's RFC 6724 sort gave them) or an
/// error with a one-line `message` naming the host and the DNS server.
///
/// The TXT part (only with lookup_request::txt_name) is separate: it succeeds or fails
/// on its own, so addresses still arrive when only the TXT query failed, and the other
/// way round.
struct lookup_result {
  std::vector<std::string> addresses;
  /// Smallest TTL of the address records; unset for answers that needed no query.
  std::optional<std::chrono::seconds> ttl;
  lookup_error error = lookup_error::none;
  std::string message;
  bool ok() const noexcept { return error == lookup_error::none; }

  /// The TXT records of `txt_name`, one string per record (its character-strings
  /// concatenated), in answer order. Empty when not asked, when the name does not exist
  /// (NXDOMAIN) or has no TXT records (NODATA): neither is an error. At most one DNS
  /// message's worth (64 KiB).
  std::vector<std::string> txt;
  /// Why the TXT lookup failed (timeout, SERVFAIL, unreachable, cancelled, ...); `none`
  /// when it succeeded, found nothing, or was not asked.
  lookup_error txt_error = lookup_error::none;
  /// One line naming the TXT name, the failure and the DNS server; empty without error.
  std::string txt_message;
  bool txt_ok() const noexcept { return txt_error == lookup_error::none; }
};

/// Receives the one result of a lookup. Runs on the service's thread (or on the caller's
/// thread for answers that need no query); must not block.
using lookup_callback = std::function<void(lookup_result&&)>;

/// Starts a lookup and calls `done` exactly once, later or right away. Never blocks.
using lookup_fn = std::function<void(const lookup_request& req, lookup_callback done)>;

/// The answer for a host that needs no query: an IPv4 or IPv6 literal (normalized through
/// inet_ntop) or "localhost" (case-insensitive; 127.0.0.1 and ::1, in that order).
/// nullopt for every other host. Pure function, any thread.
std::optional<lookup_result> answer_locally(const std::string& host, std::uint16_t port);

/// "1.2.3.4:443" or, for hosts containing ':', "[::1]:443".
std::string format_address(const std::string& host, std::uint16_t port);

}  // namespace achan::dns
