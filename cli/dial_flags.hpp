#pragma once
/// The flags every client subcommand (call, bench, watch) shares — balancer, deadline,
/// wait-for-ready, metadata, authority, DNS refresh, connections per address, TLS — and the
/// code that turns them into dial_options / call_options and dials the channel.
#include <optional>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/system_config.hpp>
#include "cli/flags.hpp"

namespace achan::cli {

/// Which of the shared client flags a subcommand takes.
enum dial_flag_set : unsigned {
  dial_flags_basic = 0,  ///< --lb --authority --dns-refresh --connections
  dial_flags_calls = 1,  ///< also -H --deadline --wait-for-ready
};

/// Appends the shared flags to `flags`.
void add_dial_flags(std::vector<flag_spec>& flags, unsigned set);

/// dial_options from the parsed flags (balancer, authority, dns refresh, connections).
/// Throws usage_error for a malformed value.
dial_options dial_options_from(const parsed_args& args);

/// client_tls from --tls --cacert --cert --key --servername --insecure (any of them means
/// TLS), or nullopt for h2c. Throws usage_error for --cert without --key (or the other
/// way round), and for files that cannot be used (missing, not PEM, key not matching).
std::optional<client_tls> tls_from(const parsed_args& args);

/// call_options from -H, --deadline and --wait-for-ready. Throws usage_error for a
/// header without ':' or with a key or value gRPC does not allow.
call_options call_options_from(const parsed_args& args);

/// The actor system a client subcommand runs its channel on, set up with
/// configure_actor_system (scheduler sized to the machine). Outlive the channel.
class client_system {
 public:
  client_system() : sys_{(configure_actor_system(cfg_), cfg_)} {}
  caf::actor_system& get() noexcept { return sys_; }

 private:
  caf::actor_system_config cfg_;
  caf::actor_system sys_;
};

/// Dials `target`; a malformed target, unknown balancer or invalid option becomes a
/// usage_error carrying achan's message.
channel dial_or_throw(caf::actor_system& sys, const std::string& target, dial_options opts);

}  // namespace achan::cli
