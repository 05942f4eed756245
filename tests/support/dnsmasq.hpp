#pragma once
/// A real DNS server for tests: Debian's dnsmasq on 127.0.0.1 and a free port, answering
/// only from a hosts file the test writes (no upstream, no /etc/hosts) and logging every
/// query to a file, so tests can change records (rewrite + SIGHUP) and count queries.
/// Authoritative for ".test": absent names get NXDOMAIN. Not thread-safe: one test
/// thread owns each object.
#include <chrono>
#include <cstdint>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.hpp"
#include "transport/dns/lookup.hpp"

namespace achan::test {

/// "ip name" lines of the hosts file.
using host_records = std::vector<std::pair<std::string, std::string>>;

/// TXT records: a name and the text of one record (split into 255-byte
/// character-strings when longer; a name may have several records).
using txt_records = std::vector<std::pair<std::string, std::string>>;

/// One dnsmasq process and its files (in a fresh directory under /tmp).
class dnsmasq {
 public:
  /// Where Debian's dnsmasq-base installs it (scripts/deps.sh installs the package).
  static constexpr const char* program = "/usr/sbin/dnsmasq";

  /// Starts dnsmasq serving `records` (plus "127.0.0.1 ready.test", used to see that it
  /// answers) and the TXT records `txt` (fixed for the process's life: SIGHUP does not
  /// reread them) with TTL `ttl_seconds`, and waits until it answers. Fails the test
  /// with a clear message if dnsmasq is missing or does not come up.
  explicit dnsmasq(const host_records& records, int ttl_seconds = 0, const txt_records& txt = {});
  /// Stops the process and removes its files.
  ~dnsmasq();
  dnsmasq(const dnsmasq&) = delete;
  dnsmasq& operator=(const dnsmasq&) = delete;

  /// The DNS port on 127.0.0.1.
  std::uint16_t port() const noexcept { return port_; }
  /// "127.0.0.1:<port>", the authority of a dns:// target.
  std::string server() const { return "127.0.0.1:" + std::to_string(port_); }
  /// Rewrites the hosts file with `records` and tells dnsmasq to reread it (SIGHUP).
  void set_records(const host_records& records);
  /// Stops dnsmasq (SIGTERM); the port then refuses queries.
  void stop();
  /// How many queries of `type` ("A", "AAAA", "TXT") for `name` the log shows so far.
  std::size_t queries(const std::string& name, const std::string& type = "A") const;

 private:
  void write_hosts(const host_records& records);
  void write_txt(const txt_records& txt);

  std::string dir_, hosts_, log_, conf_;
  std::uint16_t port_ = 0;
  std::optional<child_process> proc_;
};

/// A blocking lookup of `name` at `server` through achan's c-ares service (test thread).
dns::lookup_result lookup_now(const std::string& name, std::uint16_t port,
                              const std::string& server);

/// Looks `name` up at `server` until the answer's addresses, sorted, equal `expected`
/// (sorted "ip:port"), or `timeout` passes. True on a match.
bool wait_for_answer(const std::string& name, std::uint16_t port, const std::string& server,
                     std::vector<std::string> expected, std::chrono::milliseconds timeout);

}  // namespace achan::test
