// The ORCA recorders of include/achan/server_metrics.hpp and the merge into one report.
#include <algorithm>
#include <cmath>

#include "transport/grpc/wire_text.hpp"
#include "transport/h2/server_metrics_state.hpp"

namespace achan::transport {
namespace {

using entries = std::vector<std::pair<std::string, double>>;

bool at_least_zero(double v) {
  return v >= 0 && std::isfinite(v);  // (false for NaN)
}

bool unit_interval(double v) {
  return v >= 0 && v <= 1;
}

/// Sets `name` in `map`, or adds it while the map is under the decoders' cap.
void put(entries& map, std::string_view name, double v) {
  auto it = std::find_if(map.begin(), map.end(), [&](const auto& e) { return e.first == name; });
  if (it != map.end())
    it->second = v;
  else if (map.size() < orca_max_map_entries)
    map.emplace_back(std::string{name}, v);
}

/// Records scalar `v` of the call behind `s` into `field`, marking `bit`.
void record(call_metrics_state* s, double orca_load_report::*field, std::uint8_t bit, double v) {
  if (!s)
    return;
  std::lock_guard lk{s->mx};
  s->report.*field = v;
  s->set |= bit;
}

void record(call_metrics_state* s, entries orca_load_report::*map, std::string_view name,
            double v) {
  if (!s)
    return;
  std::lock_guard lk{s->mx};
  put(s->report.*map, name, v);
}

void store_if(std::atomic<double>& a, bool valid, double v) {
  if (valid)
    a.store(v, std::memory_order_relaxed);
}

}  // namespace

// --- call_metric_recorder ---------------------------------------------------------

using bits = call_metrics_state::bits;
using report = orca_load_report;

const call_metric_recorder& call_metric_recorder::record_cpu_utilization(double v) const {
  if (at_least_zero(v))
    record(s_.get(), &report::cpu_utilization, bits::cpu, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_memory_utilization(double v) const {
  if (unit_interval(v))
    record(s_.get(), &report::mem_utilization, bits::mem, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_application_utilization(double v) const {
  if (at_least_zero(v))
    record(s_.get(), &report::application_utilization, bits::app, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_qps(double v) const {
  if (at_least_zero(v))
    record(s_.get(), &report::rps_fractional, bits::qps, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_eps(double v) const {
  if (at_least_zero(v))
    record(s_.get(), &report::eps, bits::eps, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_utilization(std::string_view name,
                                                                     double v) const {
  if (unit_interval(v))
    record(s_.get(), &report::utilization, name, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_request_cost(std::string_view name,
                                                                      double v) const {
  record(s_.get(), &report::request_cost, name, v);
  return *this;
}

const call_metric_recorder& call_metric_recorder::record_named_metric(std::string_view name,
                                                                      double v) const {
  record(s_.get(), &report::named_metrics, name, v);
  return *this;
}

// --- server_metric_recorder -------------------------------------------------------

void server_metric_recorder::set_cpu_utilization(double v) noexcept {
  store_if(cpu_, at_least_zero(v), v);
}
void server_metric_recorder::set_memory_utilization(double v) noexcept {
  store_if(mem_, unit_interval(v), v);
}
void server_metric_recorder::set_application_utilization(double v) noexcept {
  store_if(app_, at_least_zero(v), v);
}
void server_metric_recorder::set_qps(double v) noexcept {
  store_if(qps_, at_least_zero(v), v);
}
void server_metric_recorder::set_eps(double v) noexcept {
  store_if(eps_, at_least_zero(v), v);
}
void server_metric_recorder::clear_cpu_utilization() noexcept {
  cpu_.store(unset, std::memory_order_relaxed);
}
void server_metric_recorder::clear_memory_utilization() noexcept {
  mem_.store(unset, std::memory_order_relaxed);
}
void server_metric_recorder::clear_application_utilization() noexcept {
  app_.store(unset, std::memory_order_relaxed);
}
void server_metric_recorder::clear_qps() noexcept {
  qps_.store(unset, std::memory_order_relaxed);
}
void server_metric_recorder::clear_eps() noexcept {
  eps_.store(unset, std::memory_order_relaxed);
}

// --- the merge ---------------------------------------------------------------------

orca_load_report merged_report(const server_metric_recorder& server, call_metrics_state* call) {
  orca_load_report r;
  std::uint8_t set = 0;
  if (call) {
    std::lock_guard lk{call->mx};
    r = std::move(call->report);  // built once per call: later recordings are not sent
    set = call->set;
  }
  auto fill = [set](double& field, std::uint8_t bit, std::optional<double> v) {
    if (!(set & bit) && v)
      field = *v;
  };
  fill(r.cpu_utilization, bits::cpu, server.cpu_utilization());
  fill(r.mem_utilization, bits::mem, server.memory_utilization());
  fill(r.application_utilization, bits::app, server.application_utilization());
  fill(r.rps_fractional, bits::qps, server.qps());
  fill(r.eps, bits::eps, server.eps());
  return r;
}

void add_load_report(const server_metric_recorder* server, call_metrics_state* call,
                     std::vector<std::pair<std::string, std::string>>& fields) {
  if (server)
    fields.emplace_back(orca_trailer,
                        grpc::base64_encode(encode_orca_report(merged_report(*server, call))));
}

}  // namespace achan::transport
