// toxiproxy's JSON shapes (json.hpp).
#include "testkit/fault_proxy/json.hpp"

#include <cmath>

namespace achan::fault::json {
namespace {

using nlohmann::json;

status bad(const std::string& why) {
  return {status_code::invalid_argument, why};
}

const char* stream_name(stream s) {
  return s == stream::upstream ? "upstream" : "downstream";
}

/// The string field `key` of `j` into `out`; an error when present and not a string.
result<void> get_string(const json& j, const char* key, std::string& out, bool required) {
  auto it = j.find(key);
  if (it == j.end() || it->is_null())
    return required ? result<void>{bad(std::string{"missing required field: "} + key)}
                    : result<void>{};
  if (!it->is_string())
    return bad(std::string{"field '"} + key + "' must be a string");
  out = it->get<std::string>();
  return {};
}

result<std::int64_t> integer(const json& v, const std::string& name) {
  if (v.is_number_integer())
    return v.get<std::int64_t>();
  if (v.is_number_unsigned() && v.get<std::uint64_t>() <= std::uint64_t(INT64_MAX))
    return static_cast<std::int64_t>(v.get<std::uint64_t>());
  if (v.is_number_float()) {
    auto d = v.get<double>();
    if (std::isfinite(d) && d == std::floor(d) && std::fabs(d) < 9e18)
      return static_cast<std::int64_t>(d);
  }
  return bad("attribute '" + name + "' must be an integer");
}

result<void> attributes(const json& j, std::map<std::string, std::int64_t>& out) {
  auto it = j.find("attributes");
  if (it == j.end() || it->is_null())
    return {};
  if (!it->is_object())
    return bad("field 'attributes' must be an object");
  for (auto& [k, v] : it->items()) {
    auto n = integer(v, k);
    if (!n)
      return n.error();
    out[k] = *n;
  }
  return {};
}

result<double> toxicity(const json& v) {
  if (!v.is_number())
    return bad("field 'toxicity' must be a number");
  return v.get<double>();
}

}  // namespace

nlohmann::json to_json(const toxic& t) {
  json a = json::object();
  for (auto& [k, v] : t.attributes)
    a[k] = v;
  json j{{"name", t.name},
         {"type", t.type},
         {"stream", stream_name(t.stream)},
         {"toxicity", t.toxicity},
         {"attributes", a}};
  if (t.scope != scope::all)
    j["scope"] = t.scope == scope::fresh ? "new" : "established";
  return j;
}

nlohmann::json to_json(const proxy_info& p) {
  json toxics = json::array();
  for (auto& t : p.toxics)
    toxics.push_back(to_json(t));
  return {{"name", p.config.name},
          {"listen", p.config.listen},
          {"upstream", p.config.upstream},
          {"enabled", p.config.enabled},
          {"toxics", toxics}};
}

nlohmann::json to_json(const proxy_stats& s) {
  return {{"accepted", s.accepted},
          {"open", s.open},
          {"upstream_failures", s.upstream_failures},
          {"rejected", s.rejected},
          {"bytes_upstream", s.bytes_upstream},
          {"bytes_downstream", s.bytes_downstream}};
}

result<toxic> toxic_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return bad("a toxic must be a JSON object");
  toxic t;
  std::string s;
  if (auto r = get_string(j, "stream", s, false); !r)
    return r.error();
  for (auto& c : s)
    c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (s == "upstream")
    t.stream = stream::upstream;
  else if (!s.empty() && s != "downstream")
    return bad("stream must be 'upstream' or 'downstream', not '" + s + "'");
  if (auto r = get_string(j, "type", t.type, true); !r)
    return r.error();
  if (auto r = get_string(j, "name", t.name, false); !r)
    return r.error();
  if (auto it = j.find("toxicity"); it != j.end() && !it->is_null()) {
    auto v = toxicity(*it);
    if (!v)
      return v.error();
    t.toxicity = *v;
  }
  std::string sc;
  if (auto r = get_string(j, "scope", sc, false); !r)
    return r.error();
  if (sc == "new")
    t.scope = scope::fresh;
  else if (sc == "established")
    t.scope = scope::established;
  else if (!sc.empty() && sc != "all")
    return bad("scope must be 'all', 'new' or 'established', not '" + sc + "'");
  if (auto r = attributes(j, t.attributes); !r)
    return r.error();
  return t;
}

result<toxic_update> toxic_update_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return bad("a toxic update must be a JSON object");
  toxic_update u;
  if (auto it = j.find("toxicity"); it != j.end() && !it->is_null()) {
    auto v = toxicity(*it);
    if (!v)
      return v.error();
    u.toxicity = *v;
  }
  if (auto r = attributes(j, u.attributes); !r)
    return r.error();
  return u;
}

result<proxy_config> proxy_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return bad("a proxy must be a JSON object");
  proxy_config c;
  if (auto r = get_string(j, "name", c.name, true); !r)
    return r.error();
  if (auto r = get_string(j, "upstream", c.upstream, true); !r)
    return r.error();
  if (auto r = get_string(j, "listen", c.listen, false); !r)
    return r.error();
  if (c.listen.empty())
    c.listen = "127.0.0.1:0";
  if (auto it = j.find("enabled"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      return bad("field 'enabled' must be true or false");
    c.enabled = it->get<bool>();
  }
  return c;
}

result<proxy_update> proxy_update_from_json(const nlohmann::json& j) {
  if (!j.is_object())
    return bad("a proxy update must be a JSON object");
  proxy_update u;
  std::string s;
  if (j.contains("listen")) {
    if (auto r = get_string(j, "listen", s, true); !r)
      return r.error();
    u.listen = s;
  }
  if (j.contains("upstream")) {
    if (auto r = get_string(j, "upstream", s, true); !r)
      return r.error();
    u.upstream = s;
  }
  if (auto it = j.find("enabled"); it != j.end() && !it->is_null()) {
    if (!it->is_boolean())
      return bad("field 'enabled' must be true or false");
    u.enabled = it->get<bool>();
  }
  return u;
}

result<std::vector<proxy_config>> proxy_list_from_json(std::string_view text) {
  auto j = json::parse(text, nullptr, false);
  if (j.is_discarded())
    return bad("bad JSON");
  if (!j.is_array())
    return bad("expected a JSON array of proxies");
  std::vector<proxy_config> out;
  for (auto& e : j) {
    auto c = proxy_from_json(e);
    if (!c)
      return status{status_code::invalid_argument,
                    "proxy " + std::to_string(out.size()) + ": " + c.error().message};
    out.push_back(std::move(*c));
  }
  return out;
}

}  // namespace achan::fault::json
