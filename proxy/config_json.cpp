// JSON for the proxy's route file, fault rules and counters.
#include "proxy/config_json.hpp"

#include <set>

namespace achan::proxy::json {

using njson = nlohmann::json;

namespace {

status bad(const std::string& where, const std::string& what) {
  return {status_code::invalid_argument, where + ": " + what};
}

std::optional<status_code> code_from(const njson& v) {
  if (v.is_number_integer()) {
    auto n = v.get<std::int64_t>();
    if (n >= 0 && n <= 16)
      return static_cast<status_code>(n);
    return std::nullopt;
  }
  if (!v.is_string())
    return std::nullopt;
  auto s = v.get<std::string>();
  for (auto& ch : s)
    ch = static_cast<char>(std::toupper(static_cast<unsigned char>(ch)));
  for (int c = 0; c <= 16; ++c)
    if (to_string(static_cast<status_code>(c)) == s)
      return static_cast<status_code>(c);
  return std::nullopt;
}

}  // namespace

result<fault_rule> fault_from_json(const njson& j) {
  if (!j.is_object())
    return bad("fault rule", "must be an object");
  static const std::set<std::string> known{"method",        "delay_ms",      "delay_jitter_ms",
                                           "delay_percent", "abort_percent", "abort_code",
                                           "abort_message"};
  fault_rule r;
  for (auto& [k, v] : j.items()) {
    if (!known.count(k))
      return bad("fault rule", "unknown field '" + k + "'");
    bool ok = true;
    if (k == "method" || k == "abort_message") {
      ok = v.is_string();
      if (ok)
        (k == "method" ? r.method : r.abort_message) = v.get<std::string>();
    } else if (k == "abort_code") {
      auto c = code_from(v);
      ok = c.has_value();
      if (ok)
        r.abort_code = *c;
    } else if (k == "delay_ms" || k == "delay_jitter_ms") {
      ok = v.is_number_integer();
      if (ok)
        (k == "delay_ms" ? r.delay : r.delay_jitter) =
            std::chrono::milliseconds{v.get<std::int64_t>()};
    } else {
      ok = v.is_number();
      if (ok)
        (k == "delay_percent" ? r.delay_percent : r.abort_percent) = v.get<double>();
    }
    if (!ok)
      return bad("fault rule", "field '" + k + "' has a value of the wrong kind");
  }
  if (auto st = validate(r); !st.ok())
    return st;
  return r;
}

result<std::vector<route_config>> routes_from_json(const std::string& text) {
  auto j = njson::parse(text, nullptr, false);
  if (j.is_discarded())
    return status{status_code::invalid_argument, "not valid JSON"};
  if (!j.is_object() || !j.contains("routes") || !j["routes"].is_array())
    return status{status_code::invalid_argument, "expected {\"routes\": [...]}"};
  static const std::set<std::string> known{
      "name", "prefix", "target", "lb", "lb_config", "service_config", "faults", "fault_headers"};
  std::vector<route_config> out;
  int index = 0;
  for (auto& rj : j["routes"]) {
    std::string where = "routes[" + std::to_string(index++) + "]";
    if (!rj.is_object())
      return bad(where, "must be an object");
    route_config r;
    for (auto& [k, v] : rj.items()) {
      if (!known.count(k))
        return bad(where, "unknown field '" + k + "'");
      bool ok = true;
      if (k == "faults") {
        ok = v.is_array();
        for (std::size_t i = 0; ok && i < v.size(); ++i) {
          auto f = fault_from_json(v[i]);
          if (!f.ok())
            return bad(where + ".faults[" + std::to_string(i) + "]", f.error().message);
          r.faults.push_back(std::move(*f));
        }
      } else if (k == "fault_headers") {
        ok = v.is_boolean();
        if (ok)
          r.fault_headers = v.get<bool>();
      } else if (k == "lb_config" || k == "service_config") {
        // An object, or its JSON text.
        ok = v.is_object() || v.is_string();
        if (ok) {
          auto s = v.is_string() ? v.get<std::string>() : v.dump();
          if (k == "lb_config")
            r.dial.lb_policy_config = s;
          else
            r.dial.service_config = s;
        }
      } else {
        ok = v.is_string();
        if (ok) {
          auto s = v.get<std::string>();
          if (k == "name")
            r.name = s;
          else if (k == "prefix")
            r.prefix = s;
          else if (k == "target")
            r.target = s;
          else
            r.dial.lb_policy = s;
        }
      }
      if (!ok)
        return bad(where, "field '" + k + "' has a value of the wrong kind");
    }
    if (r.name.empty())
      r.name = r.prefix.empty() ? "default" : r.prefix;
    if (r.target.empty())
      return bad(where, "no target");
    out.push_back(std::move(r));
  }
  if (out.empty())
    return status{status_code::invalid_argument, "no routes"};
  return out;
}

njson to_json(const fault_rule& r) {
  return {{"method", r.method},
          {"delay_ms", r.delay.count()},
          {"delay_jitter_ms", r.delay_jitter.count()},
          {"delay_percent", r.delay_percent},
          {"abort_percent", r.abort_percent},
          {"abort_code", std::string{to_string(r.abort_code)}},
          {"abort_message", r.abort_message}};
}

njson to_json(const route_config& r) {
  njson faults = njson::array();
  for (auto& f : r.faults)
    faults.push_back(to_json(f));
  return {{"name", r.name},
          {"prefix", r.prefix},
          {"target", r.target},
          {"lb", r.dial.lb_policy},
          {"fault_headers", r.fault_headers},
          {"faults", faults}};
}

njson to_json(const route_stats& s) {
  njson codes = njson::object();
  for (std::size_t c = 0; c < s.by_code.size(); ++c)
    if (s.by_code[c] > 0)
      codes[std::string{to_string(static_cast<status_code>(c))}] = s.by_code[c];
  return {{"name", s.name},        {"calls", s.calls},     {"in_flight", s.in_flight},
          {"delayed", s.delayed},  {"aborted", s.aborted}, {"codes", codes},
          {"backends", s.backends}};
}

}  // namespace achan::proxy::json
