#pragma once
/// What a call's call_metric_recorder writes into, and how the server turns it and the
/// server-wide values into the call's ORCA report (include/achan/server_metrics.hpp).
#include <cstdint>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <achan/server_metrics.hpp>
#include "core/orca/load_report.hpp"

namespace achan::transport {

/// One call's recorded load. Made by the connection when the call reaches its handler
/// (only with server_options::orca), shared with the handler's recorders.
struct call_metrics_state {
  /// Which scalars the call recorded (a recorded 0 still hides the server's value).
  enum bits : std::uint8_t { cpu = 1, mem = 2, app = 4, qps = 8, eps = 16 };
  // The handler records from its own threads while the connection may build the report
  // on its I/O thread (a deadline): one uncontended lock per recording, only with ORCA on.
  std::mutex mx;
  orca_load_report report;  // guarded by mx
  std::uint8_t set = 0;     // guarded by mx
};

/// The report for one call: `server`'s values under those `call` recorded (`call` may be
/// null: the call never reached a handler). Called on the connection's I/O thread.
orca_load_report merged_report(const server_metric_recorder& server, call_metrics_state* call);

/// Appends the call's report to trailer `fields` (wire form: base64, as the trailer is
/// binary metadata) when ORCA is on (`server` not null); nothing otherwise.
void add_load_report(const server_metric_recorder* server, call_metrics_state* call,
                     std::vector<std::pair<std::string, std::string>>& fields);

}  // namespace achan::transport
