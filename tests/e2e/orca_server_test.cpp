// ORCA load reports from achan's server (include/achan/server_metrics.hpp) over loopback:
// what a handler records, merged with the server-wide values, reaches the client's
// call_result trailers as endpoint-load-metrics-bin and decodes.
#include <doctest/doctest.h>

#include <atomic>
#include <future>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/server.hpp>
#include "core/orca/load_report.hpp"

using namespace achan;
using namespace std::chrono_literals;
using entries = std::vector<std::pair<std::string, double>>;

namespace {

/// A server with methods that record load (or check they cannot), and a client.
struct orca_fixture {
  std::shared_ptr<transport::server_metric_recorder> load =
      std::make_shared<transport::server_metric_recorder>();
  std::unique_ptr<transport::h2_server> server;
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::optional<channel> ch;
  std::atomic<bool> handler_saw_active{false};

  explicit orca_fixture(bool orca) {
    transport::server_options o;
    if (orca)
      o.orca = load;
    server = std::make_unique<transport::h2_server>(o);
    server->add_unary("/t.Load/Record", [this](transport::server_call_info info, std::string req,
                                               transport::responder respond) {
      handler_saw_active = info.metrics.active();
      info.metrics.record_cpu_utilization(0.3)
          .record_eps(2)
          .record_utilization("gpu", 0.5)
          .record_request_cost("db", 7)
          .record_named_metric("queue", 4);
      if (req == "fail")
        return respond.fail({status_code::resource_exhausted, "busy"});
      respond.reply("ok");
    });
    server->add_server_stream("/t.Load/Stream", [](transport::server_call_info info, std::string,
                                                   transport::server_writer out) {
      out.write("one");
      info.metrics.record_qps(9);
      out.finish();
    });
    auto l = server->listen("127.0.0.1", 0);
    REQUIRE(l.ok());
    dial_options d;
    d.block_until_ready = 10s;
    auto c = achan::dial(sys, "ipv4:127.0.0.1:" + std::to_string(*l), d);
    REQUIRE(c);
    ch = *c;
  }

  call_result call(const std::string& method, const std::string& request) {
    return ch->call(method, request, {.timeout = 5s}).get();
  }
};

/// The decoded endpoint-load-metrics-bin trailer of `r` (fails the test without one).
orca_load_report report_of(const call_result& r) {
  const std::string* raw = nullptr;
  for (auto& [k, v] : r.trailers)
    if (k == orca_trailer)
      raw = &v;
  REQUIRE_MESSAGE(raw, "no " << orca_trailer << " trailer");
  auto decoded = decode_orca_report(*raw);  // the client already undid the base64
  REQUIRE_MESSAGE(decoded, decoded.error().message);
  return *decoded;
}

bool has_report(const call_result& r) {
  for (auto& [k, v] : r.trailers)
    if (k == orca_trailer)
      return true;
  return false;
}

}  // namespace

TEST_CASE(
    "orca server: a handler's recorded values reach the client's trailers over the server's") {
  orca_fixture f{true};
  f.load->set_cpu_utilization(0.9);  // hidden by the call's own value
  f.load->set_memory_utilization(0.4);
  f.load->set_qps(50);
  auto r = f.call("/t.Load/Record", "hi");
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(f.handler_saw_active);
  auto rep = report_of(r);
  CHECK(rep.cpu_utilization == 0.3);
  CHECK(rep.mem_utilization == 0.4);
  CHECK(rep.rps_fractional == 50);
  CHECK(rep.eps == 2);
  CHECK(rep.utilization == entries{{"gpu", 0.5}});
  CHECK(rep.request_cost == entries{{"db", 7}});
  CHECK(rep.named_metrics == entries{{"queue", 4}});
}

TEST_CASE("orca server: failed calls - unknown methods and streams carry a report too") {
  orca_fixture f{true};
  f.load->set_qps(50);
  auto failed = f.call("/t.Load/Record", "fail");  // trailers-only
  CHECK(failed.status.code == status_code::resource_exhausted);
  CHECK(report_of(failed).cpu_utilization == 0.3);
  auto unknown = f.call("/t.Load/Nope", "x");  // no handler: the server-wide values
  CHECK(unknown.status.code == status_code::unimplemented);
  auto u = report_of(unknown);
  CHECK(u.rps_fractional == 50);
  CHECK(u.cpu_utilization == 0);
  std::promise<call_result> done;
  f.ch->server_stream(
      "/t.Load/Stream", "", {.timeout = 5s}, [](std::string&&) {},
      [&](call_result&& r) { done.set_value(std::move(r)); });
  auto streamed = done.get_future().get();
  REQUIRE_MESSAGE(streamed.status.ok(), streamed.status.to_string());
  CHECK(report_of(streamed).rps_fractional == 9);  // recorded after a message was sent
}

TEST_CASE("orca server: off by default - no trailer and the handler's recorder is inactive") {
  orca_fixture f{false};
  auto r = f.call("/t.Load/Record", "hi");
  REQUIRE(r.status.ok());
  CHECK_FALSE(f.handler_saw_active);
  CHECK_FALSE(has_report(r));
  CHECK_FALSE(has_report(f.call("/t.Load/Nope", "x")));
}
