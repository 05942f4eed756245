#pragma once
/// A real etcd cluster for tests: Debian's etcd 3.4 (etcd-server, etcd-client), 1 or more
/// members on 127.0.0.1 with free ports and data in a fresh temp_dir (under $TMPDIR or
/// /tmp), each member's log in a file there (tests stay quiet). Tests kill, stop and
/// restart members and drive the store through etcdctl. Every wait polls with a bound and
/// throws std::runtime_error saying what happened (with the member's log tail) when the
/// bound passes. Link tests/support/process.cpp and tests/support/run_command.cpp; use it
/// inside doctest test cases (temp_dir REQUIREs). Not thread-safe: one test thread owns
/// each object.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/temp_dir.hpp"

namespace achan::test {

/// How the members of a test cluster serve clients.
struct etcd_cluster_options {
  /// TLS on the members' client URLs (https; peers stay plaintext): PEM files.
  struct tls_files {
    std::string cert, key;     ///< the members' certificate (with a 127.0.0.1 IP SAN) and key
    std::string ca;            ///< the CA etcdctl trusts and client certificates must chain to
    bool client_auth = false;  ///< --client-cert-auth: clients need a certificate
    std::string client_cert, client_key;  ///< etcdctl's own (required with client_auth)
  };
  std::optional<tls_files> tls;
  /// More etcd flags for every member, e.g. "--auth-token-ttl=1".
  std::vector<std::string> etcd_flags;
};

/// The members of one etcd cluster, their ports and files.
class etcd_cluster {
 public:
  /// Where Debian's etcd-server installs the server.
  static constexpr const char* etcd_program = "/usr/bin/etcd";
  /// Where Debian's etcd-client installs the command-line client.
  static constexpr const char* etcdctl_program = "/usr/bin/etcdctl";

  /// Starts `members` (>= 1; 1 or 3 typically) members named m0, m1, ... on 127.0.0.1 with
  /// free client and peer ports (found by binding port 0; the whole start is retried with
  /// new ports, up to 3 times, if a member finds its port taken), data dirs in a fresh
  /// temporary directory, --initial-cluster-state new and a unique cluster token. Fast
  /// elections for tests: --heartbeat-interval 50 --election-timeout 500 (and --pre-vote,
  /// so a restarted member does not depose the leader). Returns once every member answers
  /// `etcdctl endpoint health` (a committed read: the cluster has a leader). Throws
  /// std::runtime_error if the programs are missing, if ETCDCTL_API is set to anything but
  /// 3, or if the members are not healthy within 30 s.
  explicit etcd_cluster(int members = 1, etcd_cluster_options options = {});
  /// Kills (SIGKILL) every running member and removes the directory with its data and logs.
  ~etcd_cluster();
  etcd_cluster(const etcd_cluster&) = delete;
  etcd_cluster& operator=(const etcd_cluster&) = delete;

  /// The number of members, running or not.
  int size() const noexcept { return static_cast<int>(members_.size()); }
  /// "127.0.0.1:PORT", the client address of member i (the same across restarts). Every
  /// member index below throws std::out_of_range unless 0 <= i < size().
  std::string client_address(int i) const;
  /// Every member's client address, running or not, joined with ',' in index order: the
  /// authority of an etcd:// target.
  std::string authority() const;
  /// The file member i logs to (zap JSON lines and etcd's stderr; kept across restarts).
  std::string log_path(int i) const { return at(i).log; }
  /// The temporary directory holding the data dirs and logs.
  std::string dir() const { return dir_.str(); }

  /// Kills member i with SIGKILL and reaps it; it stays stopped until restart_member(i).
  /// Does nothing if it is not running.
  void kill_member(int i);
  /// Stops member i gracefully (SIGTERM; SIGKILL if it takes over 10 s) and reaps it; it
  /// stays stopped until restart_member(i). Does nothing if it is not running.
  void stop_member(int i);
  /// Starts the stopped member i again with the same name, data dir and ports
  /// (--initial-cluster-state existing) and waits up to 30 s until it answers
  /// `endpoint health` (it rejoined and caught up enough to serve a committed read).
  /// Throws std::runtime_error if it is running, exits, or is not healthy in time.
  void restart_member(int i);
  /// True while member i's process is alive (false after kill/stop, or if it died).
  bool running(int i) const;

  /// Global flags for every later etcdctl run (health checks included), e.g.
  /// {"--user=root:secret"} once a test has enabled auth.
  void set_ctl_flags(std::vector<std::string> flags) { ctl_flags_ = std::move(flags); }

  /// The index of the current leader, asked with `etcdctl endpoint status -w json` of the
  /// running members: the member that every answering member names as leader (its own
  /// member_id equals the leader field), when a majority of size() answered. Polls every
  /// 50 ms up to `timeout` for one (after a leader is killed: until the rest elect a new
  /// one); throws std::runtime_error with the last status output if there is none by then
  /// (always, while a majority is down).
  int leader(std::chrono::milliseconds timeout = std::chrono::seconds(10)) const;

  /// What one etcdctl run produced.
  struct ctl_result {
    int code;         ///< exit status; 128 + signal number if killed (see etcdctl())
    std::string out;  ///< everything etcdctl wrote to stdout
    std::string err;  ///< everything it wrote to stderr (its errors and client warnings)
  };
  /// Runs etcdctl (no shell: posix_spawn) with --endpoints=<the running members' client
  /// addresses> (all members' if none runs), --dial-timeout=3s --command-timeout=3s, then
  /// `args`, e.g. etcdctl({"put", "k", "v"}). Kills it if it runs over 15 s (then `code`
  /// is 137 and `err` says so). Never throws for a failing command; throws
  /// std::system_error only if etcdctl cannot be started.
  ctl_result etcdctl(const std::vector<std::string>& args) const;

  /// Wrappers over etcdctl() that throw std::runtime_error with etcdctl's output when it
  /// fails. Keys and values may start with '-' (they are passed after "--").
  /// put: sets `key` to `value`.
  void put(const std::string& key, const std::string& value) const {
    checked({"put", "--", key, value});
  }
  /// The value of `key` (a linearizable read), or nullopt if the key does not exist.
  std::optional<std::string> get(const std::string& key) const;
  /// Deletes the single key `key` (no prefix or range); succeeds if it did not exist.
  void del(const std::string& key) const { checked({"del", "--", key}); }
  /// `etcdctl compact REV --physical`: drops history before `revision`; reads and watches
  /// from an older revision then fail as compacted. Throws if `revision` is already
  /// compacted or is beyond the current revision.
  void compact(std::int64_t revision) const {
    checked({"compact", std::to_string(revision), "--physical"});
  }
  /// The store's current revision (header.revision of a linearizable `get -w json`).
  std::int64_t revision() const;

 private:
  struct member {
    std::string name, data_dir, log;
    std::uint16_t client_port = 0, peer_port = 0;
    std::unique_ptr<child_process> proc;  ///< null while stopped
  };
  /// What `endpoint status` says of one member: its id and its leader's ("" if none).
  struct member_status {
    int member;
    std::string id, leader;
  };

  const member& at(int i) const;
  member& at(int i) { return const_cast<member&>(std::as_const(*this).at(i)); }
  /// The indices of all members, or of the running ones.
  std::vector<int> indices(bool running_only = false) const;
  std::vector<std::string> addresses(const std::vector<int>& which) const;
  /// The status of each member in `which` that answered; `raw` gets etcdctl's output.
  std::vector<member_status> statuses(const std::vector<int>& which, std::string& raw) const;
  void spawn(int i, bool fresh);
  /// Polls until every member in `which` is healthy: true; false if one exited because its
  /// port was taken; throws on any other exit, or at `deadline`.
  bool await_healthy(const std::vector<int>& which, std::chrono::steady_clock::time_point deadline);
  /// Member i's whole log, and its last lines (for error messages).
  std::string log_text(int i) const;
  std::string log_tail(int i) const;
  ctl_result run_ctl(const std::vector<std::string>& endpoints,
                     const std::vector<std::string>& args, const std::string& timeout) const;
  ctl_result checked(const std::vector<std::string>& args) const;

  temp_dir dir_;  // removed after the members (declared later) are stopped
  etcd_cluster_options options_;
  std::vector<std::string> ctl_flags_;
  std::string token_;
  std::vector<member> members_;
};

}  // namespace achan::test
