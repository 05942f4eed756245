// The scenario file's `expect` section (docs/scenarios.md): each expectation kind, its
// window and its bounds.
#include <achan/scenario_model.hpp>

#include <set>

#include "testkit/scenario/yaml_reader.hpp"

namespace achan::scenario::detail {
namespace {

void window(const YAML::Node& v, expectation& x) {
  if (v["from"])
    x.from = span(v["from"], "from");
  if (v["to"])
    x.to = span(v["to"], "to");
  if (x.to <= x.from)
    fail(v, "'to' must be after 'from'");
}

void bounds(const YAML::Node& v, expectation& x, double hi) {
  if (v["min"])
    x.min = number(v["min"], "min", 0, hi);
  if (v["max"])
    x.max = number(v["max"], "max", 0, hi);
  if (!x.min && !x.max)
    fail(v, "needs min or max");
}

}  // namespace

void read_expectation(const YAML::Node& n, scenario& sc) {
  expect_keys(
      n, {"failed_calls", "calls", "share", "latency", "state", "subchannel", "count", "retries"},
      "an expectation");
  if (n.size() != 1)
    fail(n, "an expectation has exactly one key");
  auto k = n.begin()->first.Scalar();
  YAML::Node v = n.begin()->second;
  expectation x;
  x.line = line_of(n);
  x.text = flow(n);
  auto backend = [&](bool need) {
    if (!v["backend"]) {
      if (need)
        fail(v, k + " needs a backend");
      return;
    }
    x.backend = text(v["backend"], "backend");
    if (sc.resolve(x.backend).empty())
      fail(v["backend"], "unknown backend '" + x.backend + "'");
  };
  if (k == "failed_calls") {
    x.what = expectation::kind::failed_calls;
    if (v.IsScalar()) {
      x.max = number(v, "failed_calls", 0, 1e12);
    } else {
      expect_keys(v, {"max", "min", "status", "from", "to"}, "failed_calls");
      bounds(v, x, 1e12);
      if (v["status"])
        x.status = code(v["status"], "status");
      window(v, x);
    }
  } else if (k == "calls" || k == "retries") {
    x.what = k == "calls" ? expectation::kind::calls : expectation::kind::retries;
    expect_keys(v, {"min", "max", "from", "to"}, k);
    bounds(v, x, 1e12);
    window(v, x);
  } else if (k == "share") {
    x.what = expectation::kind::share;
    expect_keys(v, {"backend", "min", "max", "from", "to"}, "share");
    backend(true);
    bounds(v, x, 1);
    window(v, x);
  } else if (k == "latency") {
    expect_keys(v, {"p50", "p90", "p95", "p99", "p999", "from", "to"}, "latency");
    bool any = false;
    for (auto [q, val] :
         {std::pair{"p50", 0.5}, {"p90", 0.9}, {"p95", 0.95}, {"p99", 0.99}, {"p999", 0.999}})
      if (v[q]) {
        auto y = x;
        y.what = expectation::kind::latency;
        y.quantile = val;
        y.bound = span(v[q], q);
        window(v, y);
        sc.expect.push_back(std::move(y));
        any = true;
      }
    if (!any)
      fail(v, "latency needs a bound: p50, p90, p95, p99 or p999");
    return;
  } else if (k == "state") {
    x.what = expectation::kind::state;
    expect_keys(v, {"channel", "by", "after"}, "state");
    if (!v["channel"] || !v["by"])
      fail(v, "state needs channel (a state) and by (a time)");
    x.state = state(v["channel"], "channel");
    x.to = span(v["by"], "by");
    if (v["after"])
      x.from = span(v["after"], "after");
  } else if (k == "subchannel") {
    x.what = expectation::kind::subchannel;
    expect_keys(v, {"backend", "passes"}, "subchannel");
    backend(true);
    if (!v["passes"] || !v["passes"].IsSequence() || v["passes"].size() == 0)
      fail(v, "subchannel needs passes: [STATE, ...]");
    for (const auto& s : v["passes"])
      x.passes.push_back(state(s, "passes"));
  } else {
    x.what = expectation::kind::count;
    expect_keys(v, {"event", "status", "backend", "min", "max", "from", "to"}, "count");
    if (!v["event"])
      fail(v, "count needs an event name (call_end, subchannel_state, ...)");
    x.event_name = text(v["event"], "event");
    static const std::set<std::string> events{
        "call_start",       "call_end",        "call_skipped",   "channel_state",
        "subchannel_state", "resolver_update", "service_config", "timeline"};
    if (!events.count(x.event_name))
      fail(v["event"], "unknown trace event '" + x.event_name + "'");
    if (v["status"])
      x.status = code(v["status"], "status");
    backend(false);
    bounds(v, x, 1e12);
    window(v, x);
  }
  sc.expect.push_back(std::move(x));
}

}  // namespace achan::scenario::detail
