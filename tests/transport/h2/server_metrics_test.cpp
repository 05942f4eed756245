// The server's ORCA recorders as plain objects: ranges, the merge of a call's values over
// the server-wide ones, and the per-call name cap (tests/e2e/orca_server_test.cpp sends
// them over sockets).
#include <doctest/doctest.h>

#include <limits>
#include <memory>

#include "transport/grpc/wire_text.hpp"
#include "transport/h2/server_metrics_state.hpp"

using namespace achan;
using namespace achan::transport;

namespace {

const double nan = std::numeric_limits<double>::quiet_NaN();
const double inf = std::numeric_limits<double>::infinity();

}  // namespace

TEST_CASE("server_metrics: server-wide values keep the last valid one and clear") {
  server_metric_recorder s;
  CHECK_FALSE(s.cpu_utilization());
  s.set_cpu_utilization(1.5);  // cpu may exceed 1 (more than the process's share)
  s.set_cpu_utilization(-0.1);
  s.set_cpu_utilization(nan);
  s.set_cpu_utilization(inf);
  CHECK(s.cpu_utilization() == 1.5);
  s.set_memory_utilization(0.5);
  s.set_memory_utilization(1.01);
  CHECK(s.memory_utilization() == 0.5);
  s.set_qps(10);
  s.set_qps(-1);
  s.set_eps(0);
  s.set_application_utilization(3);
  CHECK(s.qps() == 10);
  CHECK(s.eps() == 0);
  CHECK(s.application_utilization() == 3);
  s.clear_qps();
  s.clear_cpu_utilization();
  CHECK_FALSE(s.qps());
  CHECK_FALSE(s.cpu_utilization());
  CHECK(s.memory_utilization() == 0.5);
}

TEST_CASE("server_metrics: what a call records hides the server's value even when it is 0") {
  server_metric_recorder s;
  s.set_cpu_utilization(0.9);
  s.set_memory_utilization(0.4);
  s.set_qps(100);
  s.set_eps(5);
  auto state = std::make_shared<call_metrics_state>();
  call_metric_recorder call{state};
  CHECK(call.active());
  call.record_cpu_utilization(0.3).record_eps(0).record_memory_utilization(2);  // 2: ignored
  auto r = merged_report(s, state.get());
  CHECK(r.cpu_utilization == 0.3);
  CHECK(r.mem_utilization == 0.4);
  CHECK(r.rps_fractional == 100);
  CHECK(r.eps == 0);
  CHECK(r.application_utilization == 0);  // set by nobody
  auto no_call = merged_report(s, nullptr);
  CHECK(no_call.cpu_utilization == 0.9);
  CHECK(no_call.eps == 5);
}

TEST_CASE("server_metrics: named values replace by name and stop at 1000 names per map") {
  auto state = std::make_shared<call_metrics_state>();
  call_metric_recorder call{state};
  call.record_utilization("gpu", 0.5).record_utilization("gpu", 0.75).record_utilization("x", 7);
  call.record_request_cost("db", -2).record_named_metric("queue", 4);
  for (int i = 0; i < 1100; ++i)
    call.record_named_metric("m" + std::to_string(i), i);
  call.record_named_metric("queue", 5);  // an existing name still changes
  auto r = merged_report(server_metric_recorder{}, state.get());
  CHECK(r.utilization == std::vector<std::pair<std::string, double>>{{"gpu", 0.75}});
  CHECK(r.request_cost == std::vector<std::pair<std::string, double>>{{"db", -2}});
  REQUIRE(r.named_metrics.size() == orca_max_map_entries);
  CHECK(r.named_metrics.front() == std::pair<std::string, double>{"queue", 5});
}

TEST_CASE("server_metrics: an inactive recorder ignores everything and no server adds nothing") {
  call_metric_recorder off;
  CHECK_FALSE(off.active());
  off.record_cpu_utilization(0.5).record_named_metric("a", 1);  // no effect, no crash
  std::vector<std::pair<std::string, std::string>> fields;
  add_load_report(nullptr, nullptr, fields);
  CHECK(fields.empty());
  server_metric_recorder s;
  s.set_qps(2);
  add_load_report(&s, nullptr, fields);
  REQUIRE(fields.size() == 1);
  CHECK(fields[0].first == orca_trailer);
  auto raw = grpc::base64_decode(fields[0].second);  // the wire form of a -bin value
  REQUIRE(raw);
  auto decoded = decode_orca_report(*raw);
  REQUIRE(decoded);
  CHECK(decoded->rps_fractional == 2);
}
