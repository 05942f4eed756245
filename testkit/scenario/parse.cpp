// The scenario file's schema (docs/scenarios.md): sections, keys, bounds, and the
// cross-checks (names that exist, a load that fits the run).
#include <achan/fault_proxy.hpp>
#include <achan/scenario_model.hpp>

#include <algorithm>
#include <fstream>
#include <set>
#include <sstream>

#include "testkit/scenario/yaml_reader.hpp"

namespace achan::scenario {
namespace {
using namespace detail;

std::vector<std::string> known_instances(const scenario& sc, const YAML::Node& at,
                                         const std::vector<std::string>& names) {
  std::vector<std::string> out;
  for (const auto& n : names) {
    auto r = sc.resolve(n);
    if (r.empty())
      fail(at, "unknown backend '" + n + "'");
    out.insert(out.end(), r.begin(), r.end());
  }
  return out;
}

void read_backends(const YAML::Node& n, scenario& sc) {
  if (!n.IsSequence() || n.size() == 0)
    fail(n, "backends must be a non-empty list");
  std::set<std::string> seen;
  for (const auto& b : n) {
    expect_keys(b, {"name", "count", "latency", "error_rate", "error_status", "health"},
                "a backend");
    backend_spec s;
    s.line = line_of(b);
    if (!b["name"])
      fail(b, "a backend needs a name");
    s.name = text(b["name"], "backend name");
    if (s.name.empty() || s.name.size() > 64 || s.name.find_first_of(" ,:/\t") != std::string::npos)
      fail(b["name"], "backend name '" + s.name + "' must be 1..64 characters, no spaces , : /");
    if (b["count"])
      s.count = static_cast<std::size_t>(integer(b["count"], "count", 1, 256));
    if (b["latency"])
      s.latency = latency(b["latency"]);
    if (b["error_rate"])
      s.error_rate = number(b["error_rate"], "error_rate", 0, 1);
    if (b["error_status"])
      s.error_status = code(b["error_status"], "error_status");
    if (b["health"]) {
      auto h = text(b["health"], "health");
      if (h != "SERVING" && h != "NOT_SERVING")
        fail(b["health"], "health must be SERVING or NOT_SERVING");
      s.serving = h == "SERVING";
    }
    sc.backends.push_back(std::move(s));
    for (const auto& i : sc.resolve(sc.backends.back().name))
      if (!seen.insert(i).second)
        fail(b["name"], "backend instance '" + i + "' is defined twice");
    if (seen.size() > 1024)
      fail(b, "at most 1024 backend instances");
  }
}

void read_channel(const YAML::Node& n, scenario& sc) {
  expect_keys(
      n,
      {"target", "policy", "policy_config", "service_config", "wait_for_ready", "keepalive_time",
       "keepalive_timeout", "backoff_base", "backoff_max", "connect_timeout", "initial"},
      "channel");
  auto& c = sc.channel;
  if (n["target"]) {
    auto t = text(n["target"], "target");
    if (t != "manual" && t != "static")
      fail(n["target"], "target must be manual (resolver events drive it) or static (ipv4: list)");
    c.target =
        t == "manual" ? channel_spec::target_form::manual : channel_spec::target_form::static_list;
  }
  if (n["policy"])
    c.policy = text(n["policy"], "policy");
  if (n["policy_config"])
    c.policy_config = json_object(n["policy_config"], "policy_config");
  if (n["service_config"])
    c.service_config = json_object(n["service_config"], "service_config");
  if (n["wait_for_ready"])
    c.wait_for_ready = boolean(n["wait_for_ready"], "wait_for_ready");
  if (n["keepalive_time"])
    c.keepalive_time = span(n["keepalive_time"], "keepalive_time");
  if (n["keepalive_timeout"])
    c.keepalive_timeout = span(n["keepalive_timeout"], "keepalive_timeout");
  if (n["backoff_base"])
    c.backoff_base = span(n["backoff_base"], "backoff_base");
  if (n["backoff_max"])
    c.backoff_max = span(n["backoff_max"], "backoff_max");
  if (n["connect_timeout"])
    c.connect_timeout = span(n["connect_timeout"], "connect_timeout");
  if (n["initial"])
    c.initial = known_instances(sc, n["initial"], names(n["initial"], "initial"));
}

void read_load(const YAML::Node& n, scenario& sc) {
  expect_keys(n,
              {"concurrency", "rate", "max_in_flight", "start", "duration", "method", "deadline",
               "wait_for_ready", "payload", "fail_pause", "drain"},
              "load");
  auto& l = sc.load;
  if (n["concurrency"])
    l.concurrency = static_cast<std::size_t>(integer(n["concurrency"], "concurrency", 1, 100000));
  if (n["rate"])
    l.rate = number(n["rate"], "rate", 0.001, 1e6);
  if ((l.concurrency > 0) == (l.rate > 0))
    fail(n, "load needs exactly one of concurrency and rate");
  if (n["max_in_flight"])
    l.max_in_flight =
        static_cast<std::size_t>(integer(n["max_in_flight"], "max_in_flight", 1, 100000));
  if (n["start"])
    l.start = span(n["start"], "start");
  if (n["duration"])
    l.length = span(n["duration"], "load duration");
  if (n["method"]) {
    l.method = text(n["method"], "method");
    if (l.method.size() < 3 || l.method[0] != '/' || l.method.find('/', 1) == std::string::npos)
      fail(n["method"], "method must be /package.Service/Method");
  }
  if (n["deadline"])
    l.deadline = span(n["deadline"], "deadline");
  if (n["wait_for_ready"])
    l.wait_for_ready = boolean(n["wait_for_ready"], "wait_for_ready");
  if (n["payload"])
    l.payload = static_cast<std::size_t>(integer(n["payload"], "payload", 0, 1 << 20));
  if (n["fail_pause"])
    l.fail_pause = span(n["fail_pause"], "fail_pause");
  if (n["drain"])
    l.drain = span(n["drain"], "drain");
  if (l.fail_pause <= duration::zero())
    fail(n["fail_pause"], "fail_pause must be above 0 (a failing closed loop would spin)");
}

toxic_spec read_toxic(const YAML::Node& n, bool adding) {
  toxic_spec t;
  if (!n.IsMap())
    fail(n, "a toxic must be a map");
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto k = it->first.Scalar();
    YAML::Node v = it->second;
    if (k == "backend")
      continue;
    if (k == "name")
      t.name = text(v, "toxic name");
    else if (adding && k == "type")
      t.type = text(v, "toxic type");
    else if (adding && k == "stream")
      t.stream = text(v, "toxic stream");
    else if (adding && k == "toxicity")
      t.toxicity = number(v, "toxicity", 0, 1);
    else if (adding)
      t.attributes[k] = integer(v, k, 0, std::int64_t{1} << 40);
    else
      fail(it->first, "remove_toxic takes backend and name only");
  }
  if (!adding && t.name.empty())
    fail(n, "remove_toxic needs the toxic's name");
  if (adding) {
    fault::toxic ft;
    ft.name = t.name;
    ft.type = t.type;
    ft.toxicity = t.toxicity;
    ft.attributes = t.attributes;
    if (t.stream != "downstream" && t.stream != "upstream")
      fail(n, "toxic stream must be downstream or upstream");
    ft.stream = t.stream == "upstream" ? fault::stream::upstream : fault::stream::downstream;
    auto v = fault::validate(ft);
    if (!v)
      fail(n, v.error().message);
    t.name = v->name;
  }
  return t;
}

event read_event(const YAML::Node& n, const scenario& sc) {
  static const std::vector<std::pair<std::string, event::kind>> simple{
      {"kill", event::kind::kill},           {"restart", event::kind::restart},
      {"pause", event::kind::pause},         {"resume", event::kind::resume},
      {"partition", event::kind::partition}, {"heal", event::kind::heal},
      {"goaway", event::kind::goaway}};
  expect_keys(n,
              {"at", "kill", "restart", "pause", "resume", "partition", "heal", "goaway",
               "add_toxic", "remove_toxic", "resolver", "health", "set"},
              "a timeline event");
  if (!n["at"])
    fail(n, "a timeline event needs 'at'");
  if (n.size() != 2)
    fail(n, "a timeline event has 'at' and exactly one action");
  event e;
  e.line = line_of(n);
  e.at = span(n["at"], "at");
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto k = it->first.Scalar();
    YAML::Node v = it->second;
    if (k == "at")
      continue;
    for (const auto& [name, kind] : simple)
      if (k == name) {
        e.what = kind;
        e.instances = known_instances(sc, v, names(v, k));
        return e;
      }
    if (k == "resolver") {
      e.what = event::kind::resolver;
      if (sc.channel.target != channel_spec::target_form::manual)
        fail(v, "resolver events need channel.target manual");
      e.instances = v.IsSequence() && v.size() == 0 ? std::vector<std::string>{}
                                                    : known_instances(sc, v, names(v, k));
      return e;
    }
    if (!v.IsMap() || !v["backend"])
      fail(v, k + " needs a backend");
    e.instances = known_instances(sc, v["backend"], names(v["backend"], "backend"));
    if (k == "add_toxic" || k == "remove_toxic") {
      e.what = k == "add_toxic" ? event::kind::add_toxic : event::kind::remove_toxic;
      e.toxic = read_toxic(v, k == "add_toxic");
    } else if (k == "health") {
      expect_keys(v, {"backend", "status"}, "health");
      e.what = event::kind::health;
      auto s = v["status"] ? text(v["status"], "health status") : "";
      if (s != "SERVING" && s != "NOT_SERVING")
        fail(v, "health needs status SERVING or NOT_SERVING");
      e.serving = s == "SERVING";
    } else {
      expect_keys(v, {"backend", "latency", "error_rate", "error_status"}, "set");
      e.what = event::kind::set;
      if (v["latency"])
        e.latency = latency(v["latency"]);
      if (v["error_rate"])
        e.error_rate = number(v["error_rate"], "error_rate", 0, 1);
      if (v["error_status"])
        e.error_status = code(v["error_status"], "error_status");
    }
  }
  return e;
}

scenario read(const YAML::Node& root) {
  expect_keys(root,
              {"name", "description", "duration", "seed", "backends", "channel", "load", "timeline",
               "expect"},
              "the scenario");
  scenario sc;
  if (root["name"])
    sc.name = text(root["name"], "name");
  if (root["description"])
    sc.description = text(root["description"], "description");
  if (!root["duration"])
    fail(root, "the scenario needs a duration");
  sc.length = span(root["duration"], "duration");
  if (sc.length <= duration::zero() || sc.length > std::chrono::hours(24))
    fail(root["duration"], "duration must be above 0 and at most 24h");
  if (root["seed"])
    sc.seed = static_cast<std::uint64_t>(integer(root["seed"], "seed", 0, INT64_MAX));
  if (!root["backends"])
    fail(root, "the scenario needs backends");
  read_backends(root["backends"], sc);
  if (root["channel"])
    read_channel(root["channel"], sc);
  if (!root["load"])
    fail(root, "the scenario needs a load");
  read_load(root["load"], sc);
  if (sc.load.start >= sc.length ||
      sc.load.start + sc.load.length.value_or(duration::zero()) > sc.length)
    fail(root["load"], "the load must start and end within the scenario's duration");
  if (const auto& t = root["timeline"]) {
    if (!t.IsSequence())
      fail(t, "timeline must be a list");
    if (t.size() > 10000)
      fail(t, "at most 10000 timeline events");
    for (const auto& e : t) {
      sc.timeline.push_back(read_event(e, sc));
      if (sc.timeline.back().at > sc.length)
        fail(e, "event at " + flow(e["at"]) + " is after the scenario's end");
    }
    std::stable_sort(sc.timeline.begin(), sc.timeline.end(),
                     [](const event& a, const event& b) { return a.at < b.at; });
  }
  if (const auto& x = root["expect"]) {
    if (!x.IsSequence())
      fail(x, "expect must be a list");
    for (const auto& e : x)
      read_expectation(e, sc);
  }
  return sc;
}

}  // namespace

std::vector<std::string> scenario::instances() const {
  std::vector<std::string> out;
  for (const auto& b : backends)
    for (std::size_t i = 0; i < b.count; ++i)
      out.push_back(b.count == 1 ? b.name : b.name + "-" + std::to_string(i));
  return out;
}

std::vector<std::string> scenario::resolve(std::string_view name) const {
  for (const auto& b : backends)
    if (b.name == name) {
      std::vector<std::string> out;
      for (std::size_t i = 0; i < b.count; ++i)
        out.push_back(b.count == 1 ? b.name : b.name + "-" + std::to_string(i));
      return out;
    }
  for (const auto& i : instances())
    if (i == name)
      return {i};
  return {};
}

result<scenario> parse_text(std::string_view yaml, std::string_view origin) {
  auto where = [&](int line, int col) {
    return std::string{origin} + ":" + std::to_string(line) + ":" + std::to_string(col) + ": ";
  };
  try {
    auto root = YAML::Load(std::string{yaml});
    if (!root.IsMap())
      return status{status_code::invalid_argument,
                    where(1, 1) + "a scenario is a YAML map (name, duration, backends, ...)"};
    auto sc = read(root);
    sc.origin = std::string{origin};
    return sc;
  } catch (const parse_error& e) {
    return status{status_code::invalid_argument, where(e.line, e.column) + e.message};
  } catch (const YAML::Exception& e) {
    return status{status_code::invalid_argument, where(e.mark.line + 1, e.mark.column + 1) + e.msg};
  } catch (const std::exception& e) {
    return status{status_code::invalid_argument, std::string{origin} + ": " + e.what()};
  }
}

result<scenario> parse_file(const std::string& path) {
  std::ifstream in{path, std::ios::binary};
  if (!in)
    return status{status_code::not_found, "cannot read scenario file " + path};
  std::string text(1 << 20, '\0');
  in.read(text.data(), static_cast<std::streamsize>(text.size()));
  text.resize(static_cast<std::size_t>(in.gcount()));
  if (in.peek() != std::char_traits<char>::eof())
    return status{status_code::invalid_argument, path + ": over 1 MiB"};
  return parse_text(text, path);
}

}  // namespace achan::scenario
