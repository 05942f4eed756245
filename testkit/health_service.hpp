#pragma once
/// The standard gRPC health service (grpc.health.v1.Health, proto/health.proto) for
/// `achan serve`, on achan's h2_server through the generated stubs:
///   Check  unary: the status of "" (the whole server) or of a known service; an unknown
///          service is the NOT_FOUND status.
///   Watch  server stream: the current status at once (SERVICE_UNKNOWN for a service not
///          known yet, without ending the stream), then every change; open until the
///          client cancels, shutdown() is called or the server closes it.
///
///   auto health = achan::testkit::health_service::add(srv, {"achan.test.Echo"});
///   health->set_status("achan.test.Echo", achan::testkit::serving_status::not_serving);
#include <cstddef>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <achan/server.hpp>

namespace achan::testkit {

/// A service's serving status (grpc.health.v1.HealthCheckResponse.ServingStatus values).
enum class serving_status {
  unknown = 0,
  serving = 1,
  not_serving = 2,
  service_unknown = 3,  ///< only sent by Watch, for a service the server does not know
};

/// The health statuses of one server and its Watch streams. Thread-safe: handlers run
/// on the server's I/O threads, set_status() and shutdown() on any thread.
class health_service {
 public:
  /// Registers Check and Watch on `server` (before listen()), with "" and each of
  /// `services` SERVING. Keep the returned object alive while the server serves; if it
  /// is gone, both methods answer UNAVAILABLE.
  static std::shared_ptr<health_service> add(transport::h2_server& server,
                                             const std::vector<std::string>& services);

  /// Sets `service`'s status ("" is the whole server), adding the service if new; every
  /// Watch on it hears the new status if it changed. Ignored after shutdown().
  void set_status(const std::string& service, serving_status s);

  /// Sets every known service's status ("" included), as set_status() does for each.
  /// Ignored after shutdown().
  void set_all(serving_status s);

  /// The current status, or nullopt for a service not known.
  std::optional<serving_status> status(const std::string& service) const;

  /// For a server going away: every known service becomes NOT_SERVING (watchers hear
  /// it), then every Watch stream ends with UNAVAILABLE so that the server's graceful
  /// shutdown need not wait for them; later set_status() calls and Watches are refused.
  void shutdown();

  /// Watch streams currently open (ones the client cancelled are dropped first).
  std::size_t watchers() const;

  /// Starts a Watch of `service` on `out` (serialized HealthCheckResponses): the current
  /// status at once (SERVICE_UNKNOWN if not known), then every change; after
  /// shutdown(), ends `out` with UNAVAILABLE instead. The Watch method calls it.
  void watch(const std::string& service, const transport::server_writer& out);

  /// Use add(); public only for std::make_shared.
  explicit health_service(const std::vector<std::string>& services);

 private:
  struct watcher {
    std::string service;
    transport::server_writer out;
  };
  /// Drops watchers whose call has ended. Lock held.
  void prune() const;

  // Handlers (I/O threads) vs the program's set_status()/shutdown(); writes to a Watch
  // stream happen under it too, so each watcher sees statuses in the order they were set.
  // A plain lock: this is transport-side service state, not control-plane actor state.
  mutable std::mutex mx_;
  std::map<std::string, serving_status> statuses_;
  mutable std::vector<watcher> watchers_;
  bool shut_down_ = false;
};

}  // namespace achan::testkit
