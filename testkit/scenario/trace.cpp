// The trace's JSON-lines form and digest, and the summary.
#include <achan/scenario.hpp>

#include <nlohmann/json.hpp>

#include <algorithm>
#include <cstdio>
#include <sstream>

namespace achan::scenario {

std::string_view to_string(trace_event::kind k) noexcept {
  switch (k) {
    case trace_event::kind::call_start:
      return "call_start";
    case trace_event::kind::call_end:
      return "call_end";
    case trace_event::kind::call_skipped:
      return "call_skipped";
    case trace_event::kind::channel_state:
      return "channel_state";
    case trace_event::kind::subchannel_state:
      return "subchannel_state";
    case trace_event::kind::resolver_update:
      return "resolver_update";
    case trace_event::kind::service_config:
      return "service_config";
    case trace_event::kind::timeline:
      return "timeline";
  }
  return "unknown";
}

std::uint32_t trace::intern(std::string_view s) {
  if (s.empty())
    return 0;
  auto [it, fresh] = text_index.try_emplace(std::string{s}, 0);
  if (fresh) {
    it->second = static_cast<std::uint32_t>(texts.size());
    texts.emplace_back(s);
  }
  return it->second;
}

namespace {
std::string quoted(const std::string& s) {
  return nlohmann::json(s).dump();
}
long long micros(duration d) {
  return static_cast<long long>(std::chrono::duration_cast<std::chrono::microseconds>(d).count());
}
}  // namespace

void trace::write_jsonl(std::ostream& out, std::optional<std::uint64_t> seed) const {
  std::string line;
  for (const auto& e : events) {
    line = "{";
    if (seed)
      line += "\"seed\":" + std::to_string(*seed) + ",";
    line += "\"t_us\":" + std::to_string(micros(e.t)) + ",\"ev\":\"";
    line += to_string(e.what);
    line += '"';
    auto backend = [&] {
      if (e.backend >= 0 && static_cast<std::size_t>(e.backend) < instances.size())
        line += ",\"backend\":" + quoted(instances[static_cast<std::size_t>(e.backend)]);
    };
    auto text = [&](const char* key) {
      if (e.text != 0 && e.text < texts.size())
        line += std::string{",\""} + key + "\":" + quoted(texts[e.text]);
    };
    using k = trace_event::kind;
    switch (e.what) {
      case k::call_start:
      case k::call_skipped:
        line += ",\"call\":" + std::to_string(e.call);
        break;
      case k::call_end:
        line += ",\"call\":" + std::to_string(e.call);
        backend();
        line += ",\"status\":\"";
        line += achan::to_string(e.code);
        line += "\",\"latency_us\":" + std::to_string(micros(e.latency));
        text("message");
        break;
      case k::channel_state:
      case k::subchannel_state:
        backend();
        line += ",\"from\":\"";
        line += achan::to_string(e.from);
        line += "\",\"to\":\"";
        line += achan::to_string(e.to);
        line += '"';
        text("reason");
        break;
      case k::resolver_update:
        text("backends");
        break;
      case k::service_config:
        text("config");
        break;
      case k::timeline:
        text("what");
        break;
    }
    line += "}\n";
    out << line;
  }
}

std::uint64_t trace::digest() const {
  std::ostringstream s;
  write_jsonl(s);
  std::uint64_t h = 1469598103934665603ULL;  // FNV-1a
  for (unsigned char c : s.str()) {
    h ^= c;
    h *= 1099511628211ULL;
  }
  return h;
}

bool run_result::passed() const noexcept {
  return !error && std::all_of(verdicts.begin(), verdicts.end(),
                               [](const verdict& v) { return v.pass || v.advisory; });
}

namespace {
std::string ms(duration d) {
  char buf[32];
  std::snprintf(buf, sizeof buf, "%.3fms", static_cast<double>(d.count()) / 1e6);
  return buf;
}
}  // namespace

void write_summary(std::ostream& out, const scenario& sc, const run_result& r) {
  if (r.error) {
    out << "ERROR seed " << r.seed << ": " << r.error->to_string() << "\n";
    return;
  }
  for (const auto& v : r.verdicts)
    out << (v.pass       ? "PASS "
            : v.advisory ? "WARN "
                         : "FAIL ")
        << v.expectation << ": " << v.detail << "  ("
        << (sc.origin.empty() ? "scenario" : sc.origin) << ":" << v.line << ")\n";
  const auto& f = r.figures;
  out << "seed " << r.seed << ": " << f.calls << " calls, " << f.ok << " ok, " << f.failed
      << " failed";
  if (f.skipped)
    out << ", " << f.skipped << " skipped";
  out << "; p50 " << ms(f.p50) << " p99 " << ms(f.p99);
  if (f.retries || f.hedges)
    out << "; " << f.retries << " retries, " << f.hedges << " hedges";
  out << "\n  ok by backend:";
  for (std::size_t i = 0; i < f.ok_by_backend.size() && i < r.trace.instances.size(); ++i)
    out << " " << r.trace.instances[i] << "=" << f.ok_by_backend[i];
  auto wall = static_cast<double>(f.wall.count()) / 1e9;
  auto sim = static_cast<double>(f.simulated.count()) / 1e9;
  char buf[96];
  std::snprintf(buf, sizeof buf, "\n  %.3f s of scenario time in %.3f s wall (%.1fx)\n", sim, wall,
                wall > 0 ? sim / wall : 0.0);
  out << buf;
  out << (r.passed() ? "PASSED" : "FAILED") << " " << (sc.name.empty() ? sc.origin : sc.name)
      << " seed " << r.seed << "\n";
}

}  // namespace achan::scenario
