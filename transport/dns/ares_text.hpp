#pragma once
/// How c-ares outcomes read in achan's messages. Internal to transport/dns.
#include <ares.h>

#include <string>
#include <utility>

#include "transport/dns/lookup.hpp"

namespace achan::dns {

/// The kind of a failed c-ares status and a short text for it, e.g. ARES_ENOTFOUND →
/// {not_found, "name not found (NXDOMAIN)"}. ARES_ETIMEOUT gives {timeout, "timed out"}
/// (the caller adds the bound).
std::pair<lookup_error, std::string> classify(int ares_status);

/// "DNS lookup of 'host' failed: <what> [<servers>]".
std::string failure_message(const std::string& host, const std::string& what,
                            const std::string& servers);

/// "servers 10.0.0.53:53, [::1]:53" from the channel's configuration (resolv.conf), or
/// "system DNS servers" if it has none.
std::string system_servers_text(ares_channel ch);

}  // namespace achan::dns
