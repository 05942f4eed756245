// Toxic types, their attributes and bounds, and the builders (include/achan/fault_proxy.hpp).
#include <achan/fault_proxy.hpp>

#include <limits>

namespace achan::fault {
namespace {

constexpr std::int64_t hour_ms = 3'600'000;

/// The largest value an attribute may take; bounds keep a hostile API client from arming
/// timers for years or slicing into a billion pieces.
std::int64_t attribute_bound(const std::string& type, const std::string& attr) {
  if (type == "bandwidth")
    return 10'000'000;  // KB/s: 10 GB/s, above what loopback carries
  if (type == "slicer") {
    if (attr == "delay")
      return 60'000'000;  // us
    return 1 << 20;       // average_size, size_variation: bytes
  }
  if (type == "limit_data")
    return std::numeric_limits<std::int64_t>::max() / 2;
  return hour_ms;  // latency, jitter, delay, timeout
}

const char* stream_name(stream s) {
  return s == stream::upstream ? "upstream" : "downstream";
}

toxic make(const char* type, stream s, std::map<std::string, std::int64_t> attrs) {
  toxic t;
  t.type = type;
  t.stream = s;
  t.attributes = std::move(attrs);
  t.name = std::string{type} + "_" + stream_name(s);
  return t;  // checked when added (validate())
}

}  // namespace

const std::map<std::string, std::vector<std::string>>& toxic_types() {
  static const std::map<std::string, std::vector<std::string>> types{
      {"latency", {"latency", "jitter"}}, {"bandwidth", {"rate"}},
      {"slow_close", {"delay"}},          {"timeout", {"timeout"}},
      {"reset_peer", {"timeout"}},        {"slicer", {"average_size", "size_variation", "delay"}},
      {"limit_data", {"bytes"}},          {"partition", {}},
  };
  return types;
}

result<toxic> validate(toxic t) {
  auto& types = toxic_types();
  auto it = types.find(t.type);
  if (it == types.end()) {
    std::string known;
    for (auto& [name, attrs] : types)
      known += (known.empty() ? "" : ", ") + name;
    return status{status_code::invalid_argument,
                  "unknown toxic type '" + t.type + "' (known: " + known + ")"};
  }
  if (!(t.toxicity >= 0.0 && t.toxicity <= 1.0))
    return status{status_code::invalid_argument, "toxicity must be between 0 and 1"};
  for (auto& [attr, value] : t.attributes) {
    bool known = false;
    for (auto& a : it->second)
      known = known || a == attr;
    if (!known)
      return status{status_code::invalid_argument,
                    "toxic type '" + t.type + "' has no attribute '" + attr + "'"};
    if (value < 0)
      return status{status_code::invalid_argument, "attribute '" + attr + "' must not be negative"};
    if (auto bound = attribute_bound(t.type, attr); value > bound)
      return status{status_code::invalid_argument,
                    "attribute '" + attr + "' must be at most " + std::to_string(bound)};
  }
  for (auto& a : it->second)
    t.attributes.try_emplace(a, 0);
  if (t.type == "slicer" && t.attributes["average_size"] < 1)
    return status{status_code::invalid_argument, "slicer: average_size must be at least 1"};
  if (t.type == "slicer" && t.attributes["size_variation"] >= t.attributes["average_size"])
    return status{status_code::invalid_argument,
                  "slicer: size_variation must be smaller than average_size"};
  if (t.name.empty())
    t.name = t.type + "_" + stream_name(t.stream);
  if (t.name.size() > 256)
    return status{status_code::invalid_argument, "toxic name longer than 256 bytes"};
  return t;
}

toxic latency(std::int64_t ms, std::int64_t jitter_ms, stream s) {
  return make("latency", s, {{"latency", ms}, {"jitter", jitter_ms}});
}
toxic bandwidth(std::int64_t kb_per_s, stream s) {
  return make("bandwidth", s, {{"rate", kb_per_s}});
}
toxic slow_close(std::int64_t delay_ms, stream s) {
  return make("slow_close", s, {{"delay", delay_ms}});
}
toxic timeout(std::int64_t ms, stream s) {
  return make("timeout", s, {{"timeout", ms}});
}
toxic reset_peer(std::int64_t after_ms, stream s) {
  return make("reset_peer", s, {{"timeout", after_ms}});
}
toxic slicer(std::int64_t average_size, std::int64_t size_variation, std::int64_t delay_us,
             stream s) {
  return make(
      "slicer", s,
      {{"average_size", average_size}, {"size_variation", size_variation}, {"delay", delay_us}});
}
toxic limit_data(std::int64_t bytes, stream s) {
  return make("limit_data", s, {{"bytes", bytes}});
}
toxic partition() {
  return make("partition", stream::downstream, {});
}

}  // namespace achan::fault
