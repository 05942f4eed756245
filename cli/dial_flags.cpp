#include "cli/dial_flags.hpp"

#include <caf/actor_system.hpp>

#include <fstream>
#include <iterator>

#include <achan/h2_transport.hpp>
#include "transport/grpc/wire_text.hpp"

namespace achan::cli {
namespace {

std::string trim(std::string s) {
  auto b = s.find_first_not_of(" \t");
  auto e = s.find_last_not_of(" \t");
  return b == std::string::npos ? std::string{} : s.substr(b, e - b + 1);
}

/// `text`, or the contents of the file it names after '@'.
std::string text_or_file(std::string text, const char* flag) {
  if (text.empty() || text.front() != '@')
    return text;
  std::ifstream in{text.substr(1), std::ios::binary};
  if (!in)
    throw usage_error(std::string{flag} + ": cannot read '" + text.substr(1) + "'");
  text.assign(std::istreambuf_iterator<char>{in}, std::istreambuf_iterator<char>{});
  return text;
}

}  // namespace

void add_dial_flags(std::vector<flag_spec>& flags, unsigned set) {
  flags.push_back({"--lb", "", "NAME",
                   "load-balancing policy: pick_first (default), round_robin, least_request, "
                   "peak_ewma, weighted_round_robin, ring_hash, outlier_detection"});
  flags.push_back({"--lb-config", "", "JSON|@FILE",
                   "the policy's config object, as in loadBalancingConfig (e.g. "
                   "'{\"choiceCount\": 3}')"});
  flags.push_back(
      {"--authority", "", "HOST", ":authority of every call (default: from the target)"});
  flags.push_back({"--dns-refresh", "", "DURATION",
                   "dns: targets: re-resolve this often, so new backends are seen (default: off)"});
  flags.push_back({"--connections", "", "K", "connections (subchannels) per address (default 1)"});
  flags.push_back({"--dns-service-config", "", "",
                   "dns: targets: take the service config from TXT _grpc_config.<host>"});
  flags.push_back({"--service-config", "", "JSON|@FILE",
                   "default service config (gRPC JSON: methodConfig, retryPolicy, "
                   "hedgingPolicy, retryThrottling, loadBalancingConfig, healthCheckConfig)"});
  flags.push_back({"--tls", "", "", "TLS, trusting the system's CAs (default: plaintext h2c)"});
  flags.push_back({"--cacert", "", "FILE", "TLS, trusting the CA certificates in FILE (PEM)"});
  flags.push_back({"--cert", "", "FILE", "TLS client certificate chain (PEM; needs --key)"});
  flags.push_back({"--key", "", "FILE", "TLS client private key (PEM; needs --cert)"});
  flags.push_back({"--servername", "", "NAME",
                   "TLS: the name sent as SNI and checked in the server's certificate "
                   "(default: the target's host)"});
  flags.push_back(
      {"--insecure", "", "", "TLS without checking the server's certificate (tests only)"});
  flags.push_back({"--token-file", "", "FILE",
                   "send 'authorization: Bearer <FILE's first line>' with every call (needs TLS)"});
  if (set & dial_flags_calls) {
    flags.push_back({"--header", "-H", "'KEY: VALUE'", "request metadata", true});
    flags.push_back({"--deadline", "", "DURATION", "per-call deadline (default: none)"});
    flags.push_back({"--wait-for-ready", "", "",
                     "wait for a READY backend instead of failing fast with UNAVAILABLE"});
  }
}

dial_options dial_options_from(const parsed_args& args) {
  dial_options o;
  if (args.has("--lb"))
    o.lb_policy = args.get("--lb");
  if (args.has("--lb-config"))
    o.lb_policy_config = text_or_file(args.get("--lb-config"), "--lb-config");
  if (args.has("--authority"))
    o.authority = args.get("--authority");
  if (auto d = args.duration("--dns-refresh"))
    o.dns.refresh_interval = std::chrono::duration_cast<clock_duration>(*d);
  o.connections_per_address = static_cast<unsigned>(args.integer("--connections", 1, 1, 1000));
  o.tls = tls_from(args);
  o.dns.service_config = args.has("--dns-service-config");
  if (args.has("--service-config"))
    o.service_config = text_or_file(args.get("--service-config"), "--service-config");
  if (args.has("--token-file")) {
    auto path = args.get("--token-file");
    std::ifstream in{path};
    std::string token;
    if (!in || !std::getline(in, token))
      throw usage_error("--token-file: cannot read a token from '" + path + "'");
    if (!token.empty() && token.back() == '\r')
      token.pop_back();
    if (token.empty())
      throw usage_error("--token-file: '" + path + "' starts with an empty line");
    if (!o.tls)
      throw usage_error("--token-file sends a secret: it needs TLS (--tls, --cacert, ...)");
    o.call_credentials = bearer_token_credentials(std::move(token));
  }
  return o;
}

std::optional<client_tls> tls_from(const parsed_args& args) {
  bool any = false;
  for (const char* f : {"--tls", "--cacert", "--cert", "--key", "--servername", "--insecure"})
    any = any || args.has(f);
  if (!any)
    return std::nullopt;
  if (args.has("--cert") != args.has("--key"))
    throw usage_error("--cert and --key go together (a client certificate and its key)");
  if (args.has("--insecure") && args.has("--cacert"))
    throw usage_error("--insecure checks no certificate: it makes --cacert pointless");
  client_tls t;
  if (args.has("--cacert"))
    t.ca = pem_source::from_file(args.get("--cacert"));
  if (args.has("--cert")) {
    t.cert_chain = pem_source::from_file(args.get("--cert"));
    t.key = pem_source::from_file(args.get("--key"));
  }
  if (args.has("--servername"))
    t.server_name = args.get("--servername");
  t.skip_verification = args.has("--insecure");
  // Files that cannot be used are usage errors now, not a channel that never connects.
  if (auto ok = transport::validate(transport::h2_options{.tls = t}); !ok.ok())
    throw usage_error(ok.message);
  return t;
}

call_options call_options_from(const parsed_args& args) {
  call_options o;
  for (auto& h : args.all("--header")) {
    auto colon = h.find(':');
    if (colon == std::string::npos || colon == 0)
      throw usage_error("--header '" + h + "' is not 'KEY: VALUE'");
    auto key = trim(h.substr(0, colon));
    for (auto& c : key)
      c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
    o.md.emplace_back(std::move(key), trim(h.substr(colon + 1)));
  }
  if (auto err = grpc::metadata_error(o.md); !err.empty())
    throw usage_error("--header: " + err);
  if (auto d = args.duration("--deadline")) {
    if (d->count() <= 0)
      throw usage_error("--deadline must be greater than zero");
    o.timeout = std::chrono::duration_cast<clock_duration>(*d);
  }
  if (args.has("--wait-for-ready"))
    o.wait_for_ready = true;
  return o;
}

channel dial_or_throw(caf::actor_system& sys, const std::string& target, dial_options opts) {
  auto ch = dial(sys, target, std::move(opts));
  if (!ch)
    throw usage_error(to_string_with_message(ch.error()));
  return std::move(*ch);
}

}  // namespace achan::cli
