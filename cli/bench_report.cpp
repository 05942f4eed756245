#include "cli/bench_report.hpp"

#include <cstdio>

#include <nlohmann/json.hpp>

namespace achan::cli {
namespace {

double qps(const bench_result& r) {
  return r.duration_s > 0 ? static_cast<double>(r.count) / r.duration_s : 0.0;
}

double us(double ns) {
  return ns / 1000.0;
}

std::string fmt(const char* f, double v) {
  char buf[64];
  std::snprintf(buf, sizeof buf, f, v);
  return buf;
}

}  // namespace

std::string bench_json(const bench_result& r) {
  nlohmann::ordered_json j;
  j["count"] = r.count;
  j["ok"] = r.ok;
  j["errors"] = nlohmann::ordered_json::object();
  for (auto& [code, n] : r.errors)
    j["errors"][code] = n;
  j["qps"] = qps(r);
  j["duration_s"] = r.duration_s;
  auto& l = j["latency_us"];
  l["p50"] = us(r.latency.quantile(0.50));
  l["p90"] = us(r.latency.quantile(0.90));
  l["p99"] = us(r.latency.quantile(0.99));
  l["p999"] = us(r.latency.quantile(0.999));
  l["max"] = us(static_cast<double>(r.latency.max()));
  j["per_backend"] = nlohmann::ordered_json::object();
  for (auto& [peer, n] : r.per_backend)
    j["per_backend"][peer] = n;
  j["per_backend_latency_us"] = nlohmann::ordered_json::object();
  for (auto& [peer, h] : r.per_backend_latency) {
    auto& b = j["per_backend_latency_us"][peer];
    b["p50"] = us(h.quantile(0.50));
    b["p90"] = us(h.quantile(0.90));
    b["p99"] = us(h.quantile(0.99));
    b["max"] = us(static_cast<double>(h.max()));
  }
  j["cpu_us_per_call"] = r.cpu_us_per_call;
  auto& a = j["attempts"];
  a["by_code"] = nlohmann::ordered_json::object();
  for (std::size_t i = 0; i < r.attempts.attempts_by_code.size(); ++i)
    if (auto n = r.attempts.attempts_by_code[i])
      a["by_code"][std::string{to_string(static_cast<status_code>(i))}] = n;
  a["retries"] = r.attempts.retries;
  a["hedges"] = r.attempts.hedges;
  a["transparent_retries"] = r.attempts.transparent_retries;
  return j.dump();
}

std::string bench_text(const bench_result& r) {
  std::string out = "Summary:\n";
  out += "  Count:          " + std::to_string(r.count) + "\n";
  out += "  OK:             " + std::to_string(r.ok) + "\n";
  out += "  Errors:         " + std::to_string(r.count - r.ok) + "\n";
  out += "  Duration:       " + fmt("%.3f s", r.duration_s) + "\n";
  out += "  Calls/s:        " + fmt("%.1f", qps(r)) + "\n";
  out += "  CPU per call:   " + fmt("%.2f us", r.cpu_us_per_call) + "\n";
  out += "\nLatency of OK calls (us):\n";
  const std::pair<const char*, double> qs[] = {
      {"p50", 0.5}, {"p90", 0.9}, {"p99", 0.99}, {"p99.9", 0.999}};
  for (auto& [name, q] : qs)
    out += "  " + std::string{name} + std::string(8 - std::string{name}.size(), ' ') +
           fmt("%.1f", us(r.latency.quantile(q))) + "\n";
  out += "  max     " + fmt("%.1f", us(static_cast<double>(r.latency.max()))) + "\n";
  auto bins = r.latency.linear_bins(10);
  if (!bins.empty()) {
    out += "\nHistogram (us, upper edge):\n";
    std::uint64_t most = 1;
    for (auto& b : bins)
      most = std::max(most, b.second);
    for (auto& [edge, n] : bins) {
      auto bar =
          static_cast<std::size_t>(40.0 * static_cast<double>(n) / static_cast<double>(most));
      out += fmt("  %10.1f", us(edge)) + fmt(" [%8.0f] ", static_cast<double>(n)) +
             std::string(bar, '#') + "\n";
    }
  }
  out += "\nStatus codes:\n";
  out += "  OK  " + std::to_string(r.ok) + "\n";
  for (auto& [code, n] : r.errors) {
    out += "  " + code + "  " + std::to_string(n);
    if (auto i = r.error_examples.find(code); i != r.error_examples.end() && !i->second.empty())
      out += "  (e.g. " + i->second + ")";
    out += "\n";
  }
  out += "\nCalls per backend:\n";
  if (r.per_backend.empty())
    out += "  (none reached a backend)\n";
  for (auto& [peer, n] : r.per_backend) {
    out += "  " + peer + "  " + std::to_string(n);
    if (auto h = r.per_backend_latency.find(peer); h != r.per_backend_latency.end())
      out += fmt("  p50 %.1f us", us(h->second.quantile(0.5))) +
             fmt("  p99 %.1f us", us(h->second.quantile(0.99)));
    out += "\n";
  }
  return out;
}

}  // namespace achan::cli
