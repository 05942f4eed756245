#pragma once
/// How c-ares outcomes read in achan's messages. Internal to transport/dns.
#include <ares.h>

#include <string>
#include <utility>
#include <vector>

#include "transport/dns/lookup.hpp"

namespace achan::dns {

/// The kind of a failed c-ares status and a short text for it, e.g. ARES_ENOTFOUND →
/// {not_found, "name not found (NXDOMAIN)"}. ARES_ETIMEOUT gives {timeout, "timed out"}
/// (the caller adds the bound).
std::pair<lookup_error, std::string> classify(int ares_status);

/// "DNS lookup of 'host' failed: <what> [<servers>]".
std::string failure_message(const std::string& host, const std::string& what,
                            const std::string& servers);

/// "DNS TXT lookup of 'name' failed: <what> [<servers>]".
std::string txt_failure_message(const std::string& name, const std::string& what,
                                const std::string& servers);

/// Parses a TXT answer into `records`: one string per record, its character-strings
/// concatenated (RFC 4408 3.1.3, gRFC A2), in answer order. Returns ARES_SUCCESS,
/// ARES_ENODATA (no TXT records in the answer) or c-ares's parse failure.
int parse_txt_answer(const unsigned char* buf, int len, std::vector<std::string>& records);

/// "servers 10.0.0.53:53, [::1]:53" from the channel's configuration (resolv.conf), or
/// "system DNS servers" if it has none.
std::string system_servers_text(ares_channel ch);

}  // namespace achan::dns
