#pragma once
/// Asynchronous A/AAAA (and, when asked, TXT) lookups with c-ares, driven by one thread
/// of the service's own.
///
///   auto svc = achan::dns::ares_service::shared();
///   svc->lookup({"svc.test", 50051, "127.0.0.1:5353", 5s}, [](dns::lookup_result&& r) {
///     // on the service thread: hand `r` to its owner (an actor message), do not block
///   });
///
/// Each lookup gets its own c-ares channel (servers, per-try timeout and the /etc/hosts
/// choice differ per lookup; lookups are rare: a resolver asks at most once per
/// rate-limit window). The thread polls the channels' sockets and a wake-up eventfd and
/// feeds c-ares with ares_process_fd; it starts with the first lookup that needs a query,
/// so literals and "localhost" never start it. The caller never blocks.
#include <memory>

#include "transport/dns/lookup.hpp"

namespace achan::dns {

/// The lookup service. All members are thread-safe.
class ares_service {
 public:
  /// The process-wide service, created on first use and destroyed (thread joined) when
  /// the last shared_ptr to it goes away; the next call makes a new one.
  static std::shared_ptr<ares_service> shared();

  ares_service();
  /// Stops the thread. Lookups still pending end with lookup_error::cancelled; their
  /// callbacks run on the service thread before it exits. On any other thread the
  /// destructor joins it, which takes one turn of its loop (c-ares channels destroyed,
  /// the cancelled callbacks run, which must not block): it returns when every callback
  /// has run. On the thread of any ares_service (a lookup callback dropping the last
  /// reference to its own service or to another one) it does not wait at all: the
  /// thread, which owns what it needs, cancels the lookups and ends on its own, so
  /// neither a self-join nor two services joining each other's threads can happen.
  ~ares_service();
  ares_service(const ares_service&) = delete;
  ares_service& operator=(const ares_service&) = delete;

  /// Resolves `req.host` (A and AAAA): `done` runs exactly once. Literals and "localhost"
  /// are answered at once on the caller's thread (see answer_locally); everything else
  /// on the service thread, within about `req.timeout`. With `req.server` set, only that
  /// server is asked and /etc/hosts is skipped; otherwise the system's resolv.conf
  /// servers, then /etc/hosts, as c-ares does by default. Failures carry a message such
  /// as "DNS lookup of 'svc.test' failed: name not found (NXDOMAIN) [server
  /// 127.0.0.1:5353]".
  ///
  /// With `req.txt_name` set, a TXT query for it (ares_search, so resolv.conf's search
  /// list applies as for the host) runs on the same channel within the same
  /// `req.timeout`, and `done` waits for both. Its outcome is reported apart
  /// (lookup_result::txt / txt_error / txt_message, "DNS TXT lookup of
  /// '_grpc_config.svc.test' failed: timed out after 5000 ms [...]"), so a TXT failure
  /// leaves the addresses usable. NXDOMAIN and NODATA for the TXT name are no records,
  /// not an error.
  void lookup(const lookup_request& req, lookup_callback done);

  /// A lookup_fn that calls lookup() on `svc` (keeping it alive).
  static lookup_fn as_function(std::shared_ptr<ares_service> svc);

 private:
  struct engine;
  std::shared_ptr<engine> engine_;
};

}  // namespace achan::dns
