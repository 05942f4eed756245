#pragma once
/// A gRPC L7 proxy: achan's server in front, one achan channel per route behind, so
/// clients that cannot balance (any language, any gRPC stack) get per-call balancing,
/// and failure tests get gRPC-level faults (Envoy's fault filter). `achan proxy` serves
/// it (docs/proxy.md); tests and programs embed it:
///
///   caf::actor_system sys{cfg};
///   achan::proxy::proxy_options o;
///   o.routes.push_back({.name = "default", .target = "ipv4:127.0.0.1:50051,127.0.0.1:50052"});
///   auto p = achan::proxy::grpc_proxy::start(sys, std::move(o), "127.0.0.1", 0);
///   if (!p.ok()) { std::cerr << p.error().message; return; }
///   connect_to((*p)->port());
///
/// Every method is forwarded transparently, all four call kinds alike: request and
/// response metadata (-bin too), messages, status, message and trailers; services the
/// proxy has no .proto for pass through. The deadline goes on (grpc-timeout minus the
/// time spent in the proxy); cancellation goes both ways; each direction of each call
/// buffers at most proxy_options::stream_buffer bytes before it stops granting its
/// sender HTTP/2 flow-control window (end-to-end flow control).
#include <array>
#include <chrono>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <string>
#include <vector>

#include <achan/dial_options.hpp>
#include <achan/result.hpp>
#include <achan/server.hpp>
#include <achan/status.hpp>

namespace caf {
class actor_system;
}  // namespace caf

namespace achan::proxy {

/// One fault rule of a route (Envoy's HTTP fault filter, on gRPC calls). A call whose
/// method starts with `method` (empty: every call) is aborted with `abort_code` with
/// probability abort_percent/100, else delayed by `delay` (plus a uniform draw in
/// [0, delay_jitter]) with probability delay_percent/100. The first matching rule
/// applies. Draws come from the proxy's seed and the call's arrival order, so a run with
/// the same seed and the same call order repeats.
struct fault_rule {
  std::string method;        ///< method prefix, e.g. "/pkg.Svc/" or "/pkg.Svc/Get"
  double delay_percent = 0;  ///< 0..100
  std::chrono::milliseconds delay{0};
  std::chrono::milliseconds delay_jitter{0};
  double abort_percent = 0;                           ///< 0..100
  status_code abort_code = status_code::unavailable;  ///< not OK
  std::string abort_message;                          ///< empty: "fault injected by achan proxy"
};

/// One route: calls whose method starts with `prefix` go to `target` through their own
/// channel. The longest matching prefix wins; "" matches every method (the default).
struct route_config {
  std::string name;    ///< for stats, logs and the API; unique
  std::string prefix;  ///< "/pkg.Svc/", "/pkg.", or "" for everything
  std::string target;  ///< any achan target (dns:///, ipv4:, etcd://, ...)
  /// The route's channel settings (balancer, service config, TLS to the backends...).
  dial_options dial;
  std::vector<fault_rule> faults;
  /// Honour the request headers x-achan-fault-delay-ms (a delay, 0..60000) and
  /// x-achan-fault-abort-code (a status code 1..16) on this route's calls: they override
  /// the rules for that call and are not forwarded. Off: they pass through as metadata.
  bool fault_headers = false;
};

/// Proxy settings.
struct proxy_options {
  std::vector<route_config> routes;
  /// The server clients connect to (limits, TLS, I/O threads).
  transport::server_options server;
  /// Bytes one direction of one call may hold in the proxy (requests not yet sent to the
  /// backend, responses not yet sent to the client) before the proxy stops granting that
  /// direction's sender flow-control window; it grants it again below half of this.
  /// The sender may still send what its window had left (server_options::stream_window
  /// from clients, h2_options::stream_window from backends), so one direction of a call
  /// holds at most stream_buffer + that window + one message.
  std::size_t stream_buffer = 256 * 1024;
  /// Adds `via: achan-proxy` (or via_name) to the request metadata sent to backends and
  /// to the response headers sent to clients.
  bool add_via = false;
  std::string via_name = "achan-proxy";
  /// Seeds the fault draws (0 is a seed like any other).
  std::uint64_t seed = 1;
  /// One line per notable event: a route's channel changing state, a listen error.
  /// Called on achan threads; must not block.
  std::function<void(const std::string&)> log;
};

/// Counters of one route since start (grpc_proxy::stats). `by_code` is indexed by
/// status_code; `backends` counts answered calls by the backend address that carried them.
struct route_stats {
  std::string name;
  std::uint64_t calls = 0;      ///< calls routed here
  std::uint64_t in_flight = 0;  ///< started and not yet ended
  std::uint64_t delayed = 0;    ///< delayed by a fault
  std::uint64_t aborted = 0;    ///< aborted by a fault
  std::array<std::uint64_t, 17> by_code{};
  std::map<std::string, std::uint64_t> backends;
};

/// The proxy. start() dials every route and listens; the destructor shuts down (2 s grace).
class grpc_proxy {
 public:
  struct impl;
  explicit grpc_proxy(std::unique_ptr<impl> i);
  ~grpc_proxy();
  grpc_proxy(const grpc_proxy&) = delete;
  grpc_proxy& operator=(const grpc_proxy&) = delete;

  /// Validates `opts` (INVALID_ARGUMENT naming the route and field: no routes, a
  /// duplicate name or prefix, a bad target, a fault percentage outside 0..100, an OK
  /// abort code), dials the routes' channels and listens on host:port (0: a free port;
  /// UNAVAILABLE if it cannot be bound). Channels run on `sys`, which must outlive the
  /// proxy.
  static result<std::unique_ptr<grpc_proxy>> start(caf::actor_system& sys, proxy_options opts,
                                                   const std::string& host, std::uint16_t port);

  /// The port clients connect to.
  std::uint16_t port() const noexcept;
  /// A snapshot of every route's counters, in route order.
  std::vector<route_stats> stats() const;
  /// The fault rules of route `name` now.
  result<std::vector<fault_rule>> faults(const std::string& name) const;
  /// Replaces route `name`'s fault rules (and its fault_headers switch) for calls that
  /// arrive from now on. NOT_FOUND for an unknown route, INVALID_ARGUMENT for a bad rule.
  /// Thread-safe.
  status set_faults(const std::string& name, std::vector<fault_rule> rules,
                    std::optional<bool> fault_headers = std::nullopt);
  /// The routes as configured (faults as they are now).
  std::vector<route_config> routes() const;
  /// Graceful stop: GOAWAY to clients, their calls finish (within `grace`), then the
  /// channels close. Idempotent; never call it from a proxied call's thread.
  void shutdown(std::chrono::milliseconds grace);

 private:
  std::unique_ptr<impl> impl_;
};

/// The proxy's HTTP control API (docs/proxy.md lists the routes): GET /routes, GET
/// /stats, GET|PUT|DELETE /routes/NAME/faults. Handlers run on its own threads.
class control_api {
 public:
  /// Binds host:port (0: a free port) and starts serving `p`, which must outlive it;
  /// throws std::runtime_error when it cannot bind.
  control_api(grpc_proxy& p, const std::string& host, std::uint16_t port);
  /// Stops serving and joins its threads.
  ~control_api();
  control_api(const control_api&) = delete;
  control_api& operator=(const control_api&) = delete;
  std::uint16_t port() const noexcept;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
};

/// Checks one rule: percentages 0..100, delays 0..1 h, abort_code not OK.
status validate(const fault_rule& rule);

}  // namespace achan::proxy
