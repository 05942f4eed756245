#pragma once
/// ORCA load reports from achan's server (gRFC A51), shaped like grpc++'s
/// grpc::experimental::CallMetricRecorder and ServerMetricRecorder: a handler records its
/// call's load, server-wide values fill in what the call did not record, and the server
/// sends the merged xds.data.orca.v3.OrcaLoadReport in the trailer
/// `endpoint-load-metrics-bin` of every call, OK or not, so load-aware client policies
/// (weighted_round_robin) can weigh this backend.
///
///   auto load = std::make_shared<achan::transport::server_metric_recorder>();
///   achan::transport::server_options opts;
///   opts.orca = load;                                   // on; unset: off, at no cost
///   achan::transport::h2_server srv{opts};
///   srv.add_unary(method, [](server_call_info info, std::string req, responder respond) {
///     info.metrics.record_cpu_utilization(0.3).record_named_metric("queue", 4);
///     respond.reply(answer(req));
///   });
///   load->set_qps(1200);                                // any thread, any time
///
/// Values outside a field's range (and NaN) are ignored, as grpc++ does: the previous
/// value stays. Ranges: utilizations named and memory in [0, 1]; cpu and application
/// utilization in [0, inf) (a process may use more than its share); qps, eps >= 0;
/// request costs and named metrics any number.
#include <atomic>
#include <limits>
#include <memory>
#include <optional>
#include <string_view>

namespace achan::transport {

struct call_metrics_state;

/// What one call recorded about its own load. A handle: copies record into the same
/// call; any thread (a mutex per call guards it). Inactive (every method does nothing)
/// when the server runs without server_options::orca, or default-constructed. The server
/// builds the report when it sends the call's trailers (the handler answered, the deadline
/// passed): record before answering; what is recorded later is not sent. Recording a name
/// again replaces its value; each map keeps at most 1000 names (later new ones are
/// ignored), which decoders (achan's too) also cap.
class call_metric_recorder {
 public:
  call_metric_recorder() = default;
  /// The server makes these (one state per call); not for handlers.
  explicit call_metric_recorder(std::shared_ptr<call_metrics_state> s) : s_(std::move(s)) {}

  /// True if the server sends what is recorded here.
  bool active() const noexcept { return s_ != nullptr; }

  /// CPU utilization of this call's share of the backend, >= 0.
  const call_metric_recorder& record_cpu_utilization(double v) const;
  /// Memory utilization, in [0, 1].
  const call_metric_recorder& record_memory_utilization(double v) const;
  /// Application-defined utilization, >= 0.
  const call_metric_recorder& record_application_utilization(double v) const;
  /// Queries per second, >= 0 (the report's rps_fractional).
  const call_metric_recorder& record_qps(double v) const;
  /// Errors per second, >= 0.
  const call_metric_recorder& record_eps(double v) const;
  /// A named resource's utilization, in [0, 1] (the report's utilization map).
  const call_metric_recorder& record_utilization(std::string_view name, double v) const;
  /// A named cost of this request (request_cost map), any number.
  const call_metric_recorder& record_request_cost(std::string_view name, double v) const;
  /// A named application metric (named_metrics map), any number.
  const call_metric_recorder& record_named_metric(std::string_view name, double v) const;

 private:
  std::shared_ptr<call_metrics_state> s_;
};

/// Server-wide load values, set from anywhere (a sampler thread, an actor) while the
/// server runs, lock-free: every call's report takes those its call did not record
/// itself. Shared by the servers whose server_options::orca point at it.
class server_metric_recorder {
 public:
  server_metric_recorder() = default;
  server_metric_recorder(const server_metric_recorder&) = delete;
  server_metric_recorder& operator=(const server_metric_recorder&) = delete;

  /// CPU utilization of the backend, >= 0 (usually busy time / cores, in [0, 1]).
  void set_cpu_utilization(double v) noexcept;
  /// Memory utilization, in [0, 1].
  void set_memory_utilization(double v) noexcept;
  /// Application-defined utilization, >= 0.
  void set_application_utilization(double v) noexcept;
  /// Queries per second the backend serves, >= 0.
  void set_qps(double v) noexcept;
  /// Errors per second, >= 0.
  void set_eps(double v) noexcept;
  /// Unsets a value: reports no longer carry it (unless a call records it).
  void clear_cpu_utilization() noexcept;
  void clear_memory_utilization() noexcept;
  void clear_application_utilization() noexcept;
  void clear_qps() noexcept;
  void clear_eps() noexcept;

  /// The current values; nullopt when unset.
  std::optional<double> cpu_utilization() const noexcept { return get(cpu_); }
  std::optional<double> memory_utilization() const noexcept { return get(mem_); }
  std::optional<double> application_utilization() const noexcept { return get(app_); }
  std::optional<double> qps() const noexcept { return get(qps_); }
  std::optional<double> eps() const noexcept { return get(eps_); }

 private:
  // NaN means unset: no valid value is NaN.
  static constexpr double unset = std::numeric_limits<double>::quiet_NaN();
  static std::optional<double> get(const std::atomic<double>& a) noexcept {
    double v = a.load(std::memory_order_relaxed);
    return v == v ? std::optional<double>{v} : std::nullopt;
  }
  std::atomic<double> cpu_{unset};
  std::atomic<double> mem_{unset};
  std::atomic<double> app_{unset};
  std::atomic<double> qps_{unset};
  std::atomic<double> eps_{unset};
};

}  // namespace achan::transport
