// Expectations checked over a finished trace (docs/scenarios.md, "expect").
#include <achan/scenario.hpp>

#include <algorithm>
#include <cstdio>
#include <map>
#include <set>

namespace achan::scenario {
namespace {

using k = trace_event::kind;

bool within(const expectation& x, duration t) {
  return t >= x.from && t < x.to;
}

std::string fmt(double v) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.4g", v);
  return buf;
}

std::string ms(duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(d.count()) / 1e6);
  return buf;
}

bool in_bounds(const expectation& x, double v) {
  return (!x.min || v >= *x.min) && (!x.max || v <= *x.max);
}

std::set<std::int32_t> indexes(const scenario& sc, const trace& tr, const std::string& name) {
  std::set<std::int32_t> out;
  for (const auto& n : sc.resolve(name))
    for (std::size_t i = 0; i < tr.instances.size(); ++i)
      if (tr.instances[i] == n)
        out.insert(static_cast<std::int32_t>(i));
  return out;
}

verdict check(const scenario& sc, const trace& tr, const run_figures& fig, const expectation& x) {
  verdict v{x.text, false, {}, x.line};
  switch (x.what) {
    case expectation::kind::failed_calls: {
      std::uint64_t n = 0;
      std::map<status_code, std::uint64_t> by;
      for (const auto& e : tr.events)
        if (e.what == k::call_end && e.code != status_code::ok && within(x, e.t) &&
            (!x.status || e.code == *x.status)) {
          ++n;
          ++by[e.code];
        }
      v.pass = in_bounds(x, static_cast<double>(n));
      v.detail = std::to_string(n) + " failed calls";
      for (auto [c, m] : by)
        v.detail += std::string{" "} + std::string{to_string(c)} + "=" + std::to_string(m);
      break;
    }
    case expectation::kind::calls: {
      std::uint64_t n = 0;
      for (const auto& e : tr.events)
        n += e.what == k::call_end && within(x, e.t);
      v.pass = in_bounds(x, static_cast<double>(n));
      v.detail = std::to_string(n) + " calls ended";
      break;
    }
    case expectation::kind::share: {
      auto mine = indexes(sc, tr, x.backend);
      std::uint64_t all = 0, of = 0;
      for (const auto& e : tr.events)
        if (e.what == k::call_end && e.code == status_code::ok && within(x, e.t)) {
          ++all;
          of += mine.count(e.backend);
        }
      if (all == 0) {
        v.detail = "no OK calls in the window";
        break;
      }
      double share = static_cast<double>(of) / static_cast<double>(all);
      v.pass = in_bounds(x, share);
      v.detail = x.backend + " served " + std::to_string(of) + " of " + std::to_string(all) +
                 " OK calls (" + fmt(share) + ")";
      break;
    }
    case expectation::kind::latency: {
      std::vector<duration> l;
      for (const auto& e : tr.events)
        if (e.what == k::call_end && e.code == status_code::ok && within(x, e.t))
          l.push_back(e.latency);
      if (l.empty()) {
        v.detail = "no OK calls in the window";
        break;
      }
      auto i = static_cast<std::size_t>(x.quantile * static_cast<double>(l.size() - 1));
      std::nth_element(l.begin(), l.begin() + static_cast<std::ptrdiff_t>(i), l.end());
      v.pass = l[i] <= x.bound;
      v.detail = "p" + fmt(x.quantile * 100) + " " + ms(l[i]) + " (bound " + ms(x.bound) + ", " +
                 std::to_string(l.size()) + " OK calls)";
      break;
    }
    case expectation::kind::state: {
      auto now = connectivity_state::idle;
      bool seen = false;
      duration when{};
      for (const auto& e : tr.events) {
        if (e.what != k::channel_state)
          continue;
        if (e.t > x.to)
          break;
        if (e.t <= x.from)
          now = e.to;
        else if (e.to == x.state && !seen) {
          seen = true;
          when = e.t;
        }
      }
      if (now == x.state && !seen) {
        seen = true;
        when = x.from;
      }
      v.pass = seen;
      v.detail =
          seen
              ? std::string{"channel "} + std::string{to_string(x.state)} + " at " + ms(when)
              : std::string{"channel never "} + std::string{to_string(x.state)} + " by " + ms(x.to);
      break;
    }
    case expectation::kind::subchannel: {
      v.pass = true;
      for (auto b : indexes(sc, tr, x.backend)) {
        std::size_t next = 0;
        std::string path;
        for (const auto& e : tr.events)
          if (e.what == k::subchannel_state && e.backend == b) {
            path += std::string{path.empty() ? "" : ">"} + std::string{to_string(e.to)};
            if (next < x.passes.size() && e.to == x.passes[next])
              ++next;
          }
        bool ok = next == x.passes.size();
        v.pass = v.pass && ok;
        v.detail += std::string{v.detail.empty() ? "" : "; "} +
                    tr.instances[static_cast<std::size_t>(b)] + (ok ? " passed: " : " did not: ") +
                    (path.empty() ? "no state changes" : path);
      }
      break;
    }
    case expectation::kind::count: {
      std::set<std::int32_t> mine;
      if (!x.backend.empty())
        mine = indexes(sc, tr, x.backend);
      std::uint64_t n = 0;
      for (const auto& e : tr.events)
        if (to_string(e.what) == x.event_name && within(x, e.t) &&
            (!x.status || (e.what == k::call_end && e.code == *x.status)) &&
            (x.backend.empty() || mine.count(e.backend)))
          ++n;
      v.pass = in_bounds(x, static_cast<double>(n));
      v.detail = std::to_string(n) + " " + x.event_name + " events";
      break;
    }
    case expectation::kind::retries: {
      v.pass = in_bounds(x, static_cast<double>(fig.retries));
      v.detail = std::to_string(fig.retries) + " retry attempts (" + std::to_string(fig.hedges) +
                 " hedges)";
      break;
    }
  }
  return v;
}

}  // namespace

run_figures figures_of(const trace& tr) {
  run_figures f;
  f.ok_by_backend.assign(tr.instances.size(), 0);
  std::vector<duration> l;
  for (const auto& e : tr.events) {
    if (e.what == k::call_skipped)
      ++f.skipped;
    if (e.what != k::call_end)
      continue;
    ++f.calls;
    if (e.code != status_code::ok) {
      ++f.failed;
      continue;
    }
    ++f.ok;
    l.push_back(e.latency);
    if (e.backend >= 0 && static_cast<std::size_t>(e.backend) < f.ok_by_backend.size())
      ++f.ok_by_backend[static_cast<std::size_t>(e.backend)];
  }
  if (!l.empty()) {
    std::sort(l.begin(), l.end());
    f.p50 = l[(l.size() - 1) / 2];
    f.p99 = l[static_cast<std::size_t>(0.99 * static_cast<double>(l.size() - 1))];
  }
  return f;
}

std::vector<verdict> evaluate(const scenario& sc, const trace& tr, const run_figures& fig) {
  std::vector<verdict> out;
  for (const auto& x : sc.expect)
    out.push_back(check(sc, tr, fig, x));
  return out;
}

}  // namespace achan::scenario
