// parse_service_config (<achan/service_config.hpp>): gRPC's service config JSON
// (doc/service_config.md, gRFCs A2, A6, A17, A21) read with protobuf's JSON mapping for
// durations and numbers, validated while it is read. The first error ends the walk; its
// message starts with the JSON path of the offending value.
#include <achan/service_config.hpp>

#include <algorithm>
#include <cctype>
#include <charconv>
#include <chrono>
#include <cmath>
#include <limits>
#include <system_error>

#include <nlohmann/json.hpp>

#include "core/balancer/registry.hpp"
#include "core/config/json_values.hpp"
#include "core/config/lb_list.hpp"

namespace achan {
namespace {

using namespace sc_json;

retry_policy retry(const node& n, int cap) {
  n.object();
  retry_policy p;
  p.max_attempts = max_attempts(n.need("maxAttempts"), cap);
  p.initial_backoff = positive_duration(n.need("initialBackoff"));
  p.max_backoff = positive_duration(n.need("maxBackoff"));
  p.backoff_multiplier = number(
      n.need("backoffMultiplier"), [](double d) { return d > 0; }, "a number > 0");
  auto codes = n.need("retryableStatusCodes");
  p.retryable_status_codes = status_codes(codes);
  if (p.retryable_status_codes.empty())
    codes.fail("must not be empty");
  return p;
}

hedging_policy hedging(const node& n, int cap) {
  n.object();
  hedging_policy p;
  p.max_attempts = max_attempts(n.need("maxAttempts"), cap);
  if (auto d = n.get("hedgingDelay"))
    p.hedging_delay = duration(*d);
  if (auto codes = n.get("nonFatalStatusCodes"))
    p.non_fatal_status_codes = status_codes(*codes);
  return p;
}

method_config method_settings(const node& e, int cap) {
  method_config mc;
  if (auto n = e.get("waitForReady"))
    mc.wait_for_ready = n->boolean();
  if (auto n = e.get("timeout"))
    mc.timeout = duration(*n);
  if (auto n = e.get("maxRequestMessageBytes"))
    mc.max_request_message_bytes = byte_count(*n);
  if (auto n = e.get("maxResponseMessageBytes"))
    mc.max_response_message_bytes = byte_count(*n);
  auto r = e.get("retryPolicy");
  auto h = e.get("hedgingPolicy");
  if (r && h)
    e.fail("has both retryPolicy and hedgingPolicy; at most one is allowed");
  if (r)
    mc.retry = retry(*r, cap);
  if (h)
    mc.hedging = hedging(*h, cap);
  return mc;
}

// One methodConfig name, resolved to the map it goes into.
struct method_name {
  enum { exact, service, fallback } kind;
  std::string key;  // "service/method", "service", or "" (the default)
};

void method_configs(const node& list, service_config& sc, int cap) {
  list.array();
  string_map<std::string> first_seen;  // kind + key → path of its first appearance
  for (std::size_t i = 0; i < list.v->size(); ++i) {
    auto e = list.at(i);
    e.object();
    std::vector<method_name> names;
    if (auto ns = e.get("name")) {
      ns->array();
      for (std::size_t j = 0; j < ns->v->size(); ++j) {
        auto n = ns->at(j);
        n.object();
        std::string service, method;
        if (auto s = n.get("service"))
          service = s->text();
        if (auto m = n.get("method"))
          method = m->text();
        if (service.empty() && !method.empty())
          n.fail("method '" + method + "' given without a service");
        auto name = !method.empty()    ? method_name{method_name::exact, service + "/" + method}
                    : !service.empty() ? method_name{method_name::service, service}
                                       : method_name{method_name::fallback, ""};
        auto label = std::to_string(static_cast<int>(name.kind)) + name.key;
        if (auto [at, fresh] = first_seen.emplace(label, n.path); !fresh)
          n.fail((name.kind == method_name::fallback ? "duplicate default name (no service)"
                                                     : "duplicate name '" + name.key + "'") +
                 ", first given at " + at->second);
        names.push_back(std::move(name));
      }
    }
    auto mc = method_settings(e, cap);
    if (names.empty())
      continue;  // applies to nothing
    auto index = sc.methods.size();
    sc.methods.push_back(std::move(mc));
    for (auto& name : names) {
      if (name.kind == method_name::exact)
        sc.by_method.emplace(std::move(name.key), index);
      else if (name.kind == method_name::service)
        sc.by_service.emplace(std::move(name.key), index);
      else
        sc.default_method = index;
    }
  }
}

using known_fn = policy_known_fn;
using check_fn = policy_check_fn;

std::shared_ptr<service_config> walk(const json& root, const service_config_parse_options& opts) {
  if (!root.is_object())
    throw invalid{"service config must be a JSON object, not " + shown(root)};
  known_fn known = opts.policy_known;
  check_fn check = opts.policy_config_error;
  if (!known) {
    known = [](std::string_view p) { return policy_registry::builtins().find(p) != nullptr; };
    if (!check)
      check = [](std::string_view p, std::string_view j, const std::string& path) {
        return policy_registry::builtins().config_error(p, j, path);
      };
  }
  node top{&root, ""};
  auto sc = std::make_shared<service_config>();
  if (auto n = top.get("loadBalancingConfig"))
    sc->lb = lb_from_list(*n, known, check);
  // Deprecated; checked even when loadBalancingConfig overrides it, as gRPC core does.
  if (auto n = top.get("loadBalancingPolicy")) {
    auto name = n->text();
    std::transform(name.begin(), name.end(), name.begin(),
                   [](unsigned char c) { return static_cast<char>(std::tolower(c)); });
    if (!known(name))
      n->fail("unknown policy '" + name + "'");
    if (!sc->lb)
      sc->lb = lb_config{.name = std::move(name)};
  }
  if (auto n = top.get("methodConfig"))
    method_configs(*n, *sc, opts.max_attempts_cap);
  if (auto n = top.get("retryThrottling")) {
    n->object();
    retry_throttling t;
    t.max_tokens = number(
        n->need("maxTokens"), [](double d) { return d > 0 && d <= 1000; }, "a number in (0, 1000]");
    t.token_ratio = number(
        n->need("tokenRatio"), [](double d) { return d > 0; }, "a number > 0");
    sc->throttling = t;
  }
  if (auto n = top.get("healthCheckConfig")) {
    n->object();
    auto name = n->get("serviceName");
    sc->health_check_service = name ? name->text() : std::string();
  }
  return sc;
}

}  // namespace

result<service_config_ptr> parse_service_config(std::string_view text,
                                                const service_config_parse_options& opts) {
  // nlohmann reports a container's start at the depth of the containers around it.
  auto depth_guard = [](int depth, json::parse_event_t event, json&) {
    bool opens =
        event == json::parse_event_t::object_start || event == json::parse_event_t::array_start;
    if (opens && depth >= max_nesting_depth)
      throw invalid{"service config nests deeper than " + std::to_string(max_nesting_depth) +
                    " levels"};
    return true;
  };
  try {
    auto sc = walk(json::parse(text.begin(), text.end(), depth_guard), opts);
    sc->json = std::string(text);
    return service_config_ptr(std::move(sc));
  } catch (const invalid& e) {
    return status{status_code::invalid_argument, e.message};
  } catch (const json::parse_error& e) {
    // Drop nlohmann's "[json.exception.parse_error.101] " prefix; keep what follows.
    std::string_view what = e.what();
    if (auto p = what.find("] "); what.front() == '[' && p != std::string_view::npos)
      what.remove_prefix(p + 2);
    return status{status_code::invalid_argument,
                  "service config is not valid JSON: " + std::string(what)};
  }
}

}  // namespace achan
