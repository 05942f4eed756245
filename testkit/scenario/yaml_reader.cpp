// Typed reads from yaml-cpp nodes, and the scenario's value syntaxes (durations, status
// codes, states): see yaml_reader.hpp.
#include "testkit/scenario/yaml_reader.hpp"

#include <nlohmann/json.hpp>

#include <array>
#include <cctype>
#include <charconv>
#include <cmath>

namespace achan::scenario {

std::optional<duration> parse_duration(std::string_view s) {
  if (s == "0")
    return duration::zero();
  std::size_t i = 0;
  while (i < s.size() && (std::isdigit(static_cast<unsigned char>(s[i])) || s[i] == '.'))
    ++i;
  if (i == 0 || i == s.size())
    return std::nullopt;
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + i, v);
  if (ec != std::errc{} || p != s.data() + i || !std::isfinite(v))
    return std::nullopt;
  static constexpr std::array<std::pair<std::string_view, double>, 6> units{
      {{"ns", 1}, {"us", 1e3}, {"ms", 1e6}, {"s", 1e9}, {"m", 60e9}, {"h", 3600e9}}};
  for (auto [u, scale] : units)
    if (s.substr(i) == u) {
      double ns = v * scale;
      if (ns > 365.0 * 24 * 3600e9)
        return std::nullopt;  // over a year: surely a typo
      return duration{static_cast<std::int64_t>(std::llround(ns))};
    }
  return std::nullopt;
}

std::optional<status_code> parse_status_code(std::string_view s) {
  for (int c = 0; c <= 16; ++c) {
    auto code = static_cast<status_code>(c);
    auto name = to_string(code);
    bool same = name.size() == s.size();
    for (std::size_t i = 0; same && i < s.size(); ++i)
      same = std::toupper(static_cast<unsigned char>(s[i])) == name[i];
    if (same || s == std::to_string(c))
      return code;
  }
  return std::nullopt;
}

std::optional<connectivity_state> parse_state(std::string_view s) {
  for (auto st :
       {connectivity_state::idle, connectivity_state::connecting, connectivity_state::ready,
        connectivity_state::transient_failure, connectivity_state::shutdown}) {
    auto name = to_string(st);
    bool same = name.size() == s.size();
    for (std::size_t i = 0; same && i < s.size(); ++i)
      same = std::toupper(static_cast<unsigned char>(s[i])) == name[i];
    if (same)
      return st;
  }
  return std::nullopt;
}

namespace detail {

int line_of(const YAML::Node& n) {
  auto m = n.Mark();
  return m.line < 0 ? 0 : m.line + 1;
}

void fail(const YAML::Node& n, std::string message) {
  auto m = n.Mark();
  throw parse_error{m.line < 0 ? 0 : m.line + 1, m.column < 0 ? 0 : m.column + 1,
                    std::move(message)};
}

void expect_keys(const YAML::Node& n, std::initializer_list<std::string_view> allowed,
                 std::string_view what) {
  if (!n.IsMap())
    fail(n, std::string{what} + " must be a map");
  for (auto it = n.begin(); it != n.end(); ++it) {
    auto key = it->first.Scalar();
    bool known = false;
    for (auto a : allowed)
      known = known || key == a;
    if (!known) {
      std::string list;
      for (auto a : allowed)
        list += (list.empty() ? "" : ", ") + std::string{a};
      fail(it->first,
           "unknown key '" + key + "' in " + std::string{what} + " (allowed: " + list + ")");
    }
  }
}

std::string text(const YAML::Node& n, std::string_view what) {
  if (!n.IsScalar())
    fail(n, std::string{what} + " must be a string");
  return n.Scalar();
}

double number(const YAML::Node& n, std::string_view what, double lo, double hi) {
  auto s = text(n, what);
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size() || !std::isfinite(v))
    fail(n, std::string{what} + " must be a number, not '" + s + "'");
  if (v < lo || v > hi)
    fail(n, std::string{what} + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) +
                ", not " + s);
  return v;
}

std::int64_t integer(const YAML::Node& n, std::string_view what, std::int64_t lo, std::int64_t hi) {
  auto s = text(n, what);
  std::int64_t v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec != std::errc{} || p != s.data() + s.size())
    fail(n, std::string{what} + " must be an integer, not '" + s + "'");
  if (v < lo || v > hi)
    fail(n, std::string{what} + " must be in " + std::to_string(lo) + ".." + std::to_string(hi) +
                ", not " + s);
  return v;
}

bool boolean(const YAML::Node& n, std::string_view what) {
  auto s = text(n, what);
  if (s == "true" || s == "yes" || s == "on")
    return true;
  if (s == "false" || s == "no" || s == "off")
    return false;
  fail(n, std::string{what} + " must be true or false, not '" + s + "'");
}

namespace {
/// `n`'s text through `parse`, or a parse_error "NOUN 'text' for WHAT (HINT)".
template <class Parse>
auto checked(const YAML::Node& n, std::string_view what, Parse parse, const char* noun,
             const char* hint) {
  auto s = text(n, what);
  auto v = parse(s);
  if (!v)
    fail(n, std::string{noun} + " '" + s + "' for " + std::string{what} + " (" + hint + ")");
  return *v;
}
}  // namespace

duration span(const YAML::Node& n, std::string_view what) {
  return checked(n, what, parse_duration, "bad duration",
                 "a number with a unit: 150ms, 2s, 1.5s, 1m, 500us; or 0");
}

status_code code(const YAML::Node& n, std::string_view what) {
  return checked(n, what, parse_status_code, "unknown status code",
                 "a gRPC code name such as UNAVAILABLE, or its number");
}

connectivity_state state(const YAML::Node& n, std::string_view what) {
  return checked(n, what, parse_state, "unknown state",
                 "IDLE, CONNECTING, READY, TRANSIENT_FAILURE or SHUTDOWN");
}

latency_dist latency(const YAML::Node& n) {
  latency_dist d;
  if (n.IsScalar()) {
    d.a = span(n, "latency");
    return d;
  }
  expect_keys(n, {"fixed", "uniform", "normal", "lognormal", "exponential"}, "latency");
  if (n.size() != 1)
    fail(n, "latency takes one distribution (fixed, uniform, normal, lognormal, exponential)");
  auto it = n.begin();
  auto kind = it->first.Scalar();
  YAML::Node v = it->second;
  if (kind == "fixed") {
    d.a = span(v, "latency.fixed");
  } else if (kind == "uniform") {
    if (!v.IsSequence() || v.size() != 2)
      fail(v, "latency.uniform is [MIN, MAX]");
    d.kind = latency_dist::shape::uniform;
    d.a = span(v[0], "latency.uniform min");
    d.b = span(v[1], "latency.uniform max");
    if (d.b < d.a)
      fail(v, "latency.uniform: max is below min");
  } else if (kind == "normal") {
    expect_keys(v, {"mean", "stddev"}, "latency.normal");
    d.kind = latency_dist::shape::normal;
    d.a = span(v["mean"], "latency.normal.mean");
    d.b = v["stddev"] ? span(v["stddev"], "latency.normal.stddev") : duration{};
  } else if (kind == "lognormal") {
    expect_keys(v, {"median", "sigma"}, "latency.lognormal");
    d.kind = latency_dist::shape::lognormal;
    d.a = span(v["median"], "latency.lognormal.median");
    d.sigma = v["sigma"] ? number(v["sigma"], "latency.lognormal.sigma", 0, 5) : 0.5;
  } else {
    expect_keys(v, {"mean"}, "latency.exponential");
    d.kind = latency_dist::shape::exponential;
    d.a = span(v["mean"], "latency.exponential.mean");
  }
  return d;
}

namespace {
nlohmann::json to_json(const YAML::Node& n, int depth) {
  if (depth > 32)
    fail(n, "nested too deeply");
  if (n.IsMap()) {
    auto o = nlohmann::json::object();
    for (auto it = n.begin(); it != n.end(); ++it)
      o[it->first.Scalar()] = to_json(it->second, depth + 1);
    return o;
  }
  if (n.IsSequence()) {
    auto a = nlohmann::json::array();
    for (const auto& e : n)
      a.push_back(to_json(e, depth + 1));
    return a;
  }
  if (n.IsNull())
    return nullptr;
  const auto& s = n.Scalar();
  if (n.Tag() == "!")
    return s;  // quoted: a string
  if (s == "true" || s == "false")
    return s == "true";
  double v = 0;
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), v);
  if (ec == std::errc{} && p == s.data() + s.size() && std::isfinite(v)) {
    std::int64_t i = 0;
    auto [q, ec2] = std::from_chars(s.data(), s.data() + s.size(), i);
    if (ec2 == std::errc{} && q == s.data() + s.size())
      return i;
    return v;
  }
  return s;
}
}  // namespace

std::string json_object(const YAML::Node& n, std::string_view what) {
  if (n.IsScalar()) {
    auto j = nlohmann::json::parse(n.Scalar(), nullptr, false);
    if (j.is_discarded() || !j.is_object())
      fail(n, std::string{what} + " must be a JSON object or a YAML map");
    return j.dump();
  }
  if (!n.IsMap())
    fail(n, std::string{what} + " must be a JSON object or a YAML map");
  return to_json(n, 0).dump();
}

std::vector<std::string> names(const YAML::Node& n, std::string_view what) {
  std::vector<std::string> out;
  if (n.IsSequence()) {
    for (const auto& e : n)
      out.push_back(text(e, what));
  } else {
    out.push_back(text(n, what));
  }
  return out;
}

std::string flow(const YAML::Node& n) {
  YAML::Emitter e;
  e << YAML::Flow << n;
  return e.c_str();
}

}  // namespace detail
}  // namespace achan::scenario
