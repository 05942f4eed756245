#pragma once
/// Service discovery on etcd (v3 API, spoken over achan's own channel): the `etcd://`
/// resolver and endpoint registration with leases. docs/etcd.md.
///
///   // client: built in, with default options
///   auto ch = achan::dial(sys, "etcd://10.0.0.1:2379,10.0.0.2:2379/services/echo");
///   // or with credentials
///   achan::etcd_options eo;  eo.user = "app";  eo.password = "...";
///   opts.resolvers.push_back(achan::make_etcd_resolver(eo));
///
///   // server: keep "services/echo/10.0.0.5:50051" alive while the process lives
///   auto reg = achan::etcd_registration::start(sys, "etcd://10.0.0.1:2379/services/echo",
///                                              "10.0.0.5:50051");
///   ...
///   reg->stop();  // revokes the lease: the key is gone at once
///
/// Target: `etcd://HOST:PORT[,HOST:PORT...]/PREFIX`. The authority lists etcd members
/// (an empty one means 127.0.0.1:2379); the resolver balances its calls to etcd over them
/// and fails over between them. It reads every key under `PREFIX/` (a PREFIX that ends in
/// '/' is used as is; `etcd://h:p//abs/path` gives "/abs/path/"), then watches from the
/// next revision and sends a complete address list on every change.
#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <caf/fwd.hpp>

#include <achan/backoff.hpp>
#include <achan/resolver.hpp>
#include <achan/result.hpp>
#include <achan/tls.hpp>

namespace achan {

/// How achan talks to etcd (the resolver's and a registration's channel).
struct etcd_options {
  /// TLS to the members (unset: plaintext h2c).
  std::optional<client_tls> tls;
  /// etcd user name and password (auth enabled on the cluster): achan authenticates and
  /// sends the token with every call, again when etcd rejects it. Empty user: no auth.
  std::string user, password;
  /// Deadline of each unary call to etcd (Range, Put, LeaseGrant, Authenticate).
  std::chrono::milliseconds call_timeout{std::chrono::seconds(5)};
  /// Delay between failed attempts (list, watch, register): 100 ms growing 1.6x to 10 s,
  /// ±20 % jitter; back to the start once an attempt succeeds.
  backoff_params retry{std::chrono::milliseconds(100), 1.6, 0.2, std::chrono::seconds(10),
                       std::chrono::seconds(5)};
  /// HTTP/2 keepalive to the members, so a partitioned member is noticed (etcd allows a
  /// ping every 5 s by default).
  std::chrono::milliseconds keepalive_time{std::chrono::seconds(10)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(5)};
  /// Keys one prefix may hold (a listing with more fails with RESOURCE_EXHAUSTED; watch
  /// events beyond it are skipped with a note), and keys per Range page.
  std::size_t max_keys = 100000;
  std::int64_t page_size = 1000;
};

/// Checks `o` (positive timeouts, a usable backoff, max_keys and page_size > 0):
/// INVALID_ARGUMENT naming the field.
result<void> validate(const etcd_options& o);

/// The `etcd` resolver builder with options `o` (add it to dial_options::resolvers to
/// replace the built-in one, which uses default options). Errors of `validate(o)` make
/// every dial with it fail with errc::invalid_target and the message.
resolver_builder_ptr make_etcd_resolver(etcd_options o = {});

/// What an etcd target names: the members' "host:port" list and the key prefix.
struct etcd_target {
  std::vector<std::string> members;
  std::string prefix;
};
/// Parses `etcd://HOST:PORT[,HOST:PORT...]/PREFIX` (as parse_target split it):
/// INVALID_ARGUMENT for a member without a port or an empty PREFIX.
result<etcd_target> parse_etcd_target(const target& t);

/// Settings of one registration.
struct etcd_registration_options {
  /// Lease TTL (etcd may round it up to its minimum); keepalives go every TTL/3.
  std::chrono::seconds ttl{10};
  /// The key (default: PREFIX/ADDRESS, as grpc-go's endpoints manager writes it).
  std::string key;
  /// The value (default: etcd's gRPC naming format {"Op":0,"Addr":"ADDRESS"}, with
  /// "Metadata":{"weight":N} when `weight` is not 1).
  std::string value;
  std::uint32_t weight = 1;
  etcd_options etcd;
};

/// Keeps one endpoint registered under an etcd prefix while it lives: grants a lease,
/// puts the key with it and keeps it alive over LeaseKeepAlive; registers again (new
/// lease, new put) when the lease is lost, and retries with backoff while etcd is
/// unreachable. stop() or the destructor revokes the lease, so the key vanishes at once;
/// if the process dies, the key expires with the lease. Thread-safe; the work runs on an
/// actor of `sys`.
class etcd_registration {
 public:
  /// Parses `target` (an etcd:// target naming the prefix) and starts registering
  /// `address` ("host:port"). INVALID_ARGUMENT for a bad target, address or option;
  /// the registration itself proceeds in the background (see registered()).
  static result<std::shared_ptr<etcd_registration>> start(caf::actor_system& sys,
                                                          const std::string& target,
                                                          const std::string& address,
                                                          etcd_registration_options opts = {});
  ~etcd_registration();
  etcd_registration(const etcd_registration&) = delete;
  etcd_registration& operator=(const etcd_registration&) = delete;

  /// The key being kept alive.
  const std::string& key() const noexcept;
  /// True while the key is known to be in etcd with a live lease.
  bool registered() const noexcept;
  /// How many times the key was put (1 after the first registration; more after lost leases).
  std::uint64_t registrations() const noexcept;
  /// The last error, "" if none since the last success.
  std::string last_error() const;
  /// Revokes the lease (waiting up to `timeout` for etcd's answer) and stops. Idempotent.
  /// Must not be called from an actor of `sys` (it blocks); the destructor then only
  /// sends the revoke without waiting.
  void stop(std::chrono::milliseconds timeout = std::chrono::seconds(2));

  struct impl;
  explicit etcd_registration(std::shared_ptr<impl> i);

 private:
  std::shared_ptr<impl> impl_;
};

}  // namespace achan
