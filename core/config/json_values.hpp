#pragma once
/// The JSON readers of the service config parser (service_config_json.cpp): a value with
/// its JSON path, and protobuf JSON mapping values (integers, numbers, durations, status
/// codes) validated as they are read. Private to achan_core; throws `invalid`, which
/// parse_service_config catches.
#include <charconv>
#include <chrono>
#include <cmath>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <string_view>
#include <system_error>
#include <vector>

#include <nlohmann/json.hpp>

#include <achan/call.hpp>
#include <achan/status.hpp>

namespace achan::sc_json {

using json = nlohmann::json;

// Deeper nesting is refused while parsing: dump() (messages, lb_config::config) recurses,
// and a service config can come from a peer (a DNS TXT record, an xDS server).
constexpr int max_nesting_depth = 64;
// google.protobuf.Duration's range.
constexpr std::uint64_t max_duration_seconds = 315'576'000'000;
constexpr int last_status_code = static_cast<int>(status_code::unauthenticated);

// The first validation error. Thrown only in this file and caught by parse_service_config,
// so the schema walk need not carry a result<> up through every level; it never escapes.
struct invalid {
  std::string message;
};

/// A value as a message shows it: its JSON text, cut to about 40 bytes at a UTF-8 boundary.
std::string shown(const json& v);

// A value and the JSON path that led to it ("methodConfig[0].timeout"), for messages.
struct node {
  const json* v;
  std::string path;

  [[noreturn]] void fail(const std::string& what) const { throw invalid{path + ": " + what}; }
  // "must be X" failures show what was there instead.
  [[noreturn]] void must_be(const std::string& what) const {
    fail("must be " + what + ", not " + shown(*v));
  }

  // Member `key`, or none when absent or null (protobuf's JSON mapping reads null as the
  // field's default, and gRPC treats it as absent). Only on objects.
  std::optional<node> get(std::string_view key) const {
    auto i = v->find(key);
    if (i == v->end() || i->is_null())
      return std::nullopt;
    return node{&*i, field(key)};
  }
  node need(std::string_view key) const {
    if (auto n = get(key))
      return *n;
    throw invalid{field(key) + ": is required"};
  }
  node at(std::size_t i) const { return {&(*v)[i], path + "[" + std::to_string(i) + "]"}; }
  std::string field(std::string_view key) const {
    return path.empty() ? std::string(key) : path + "." + std::string(key);
  }

  const node& object() const {
    if (!v->is_object())
      must_be("an object");
    return *this;
  }
  const node& array() const {
    if (!v->is_array())
      must_be("an array");
    return *this;
  }
  bool boolean() const {
    if (!v->is_boolean())
      must_be("a boolean");
    return v->get<bool>();
  }
  const std::string& text() const {
    if (!v->is_string())
      must_be("a string");
    return v->get_ref<const std::string&>();
  }
};

// An integer as protobuf's JSON mapping gives one: a number without a fraction, or a
// string of decimal digits. The magnitude saturates at UINT64_MAX; callers cap lower.
struct integer {
  bool negative = false;
  std::uint64_t magnitude = 0;
};

/// The integer `v` holds (a number without a fraction or a string of digits), or none.
std::optional<integer> as_integer(const json& v);

/// maxAttempts: 2 or more, clamped to `cap` (a cap below 2 turns retries and hedging off).
int max_attempts(const node& n, int cap);
/// A non-negative integer, capped at SIZE_MAX.
std::size_t byte_count(const node& n);

// A finite number: a JSON number, or a string holding one (protobuf's JSON mapping), that
// satisfies `ok`; `rule` describes it for the message.
template <class Pred>
double number(const node& n, Pred ok, const char* rule) {
  std::optional<double> d;
  if (n.v->is_number()) {
    d = n.v->get<double>();
  } else if (n.v->is_string()) {
    const auto& s = n.v->get_ref<const std::string&>();
    double x = 0;
    auto [end, ec] = std::from_chars(s.data(), s.data() + s.size(), x);
    if (ec == std::errc{} && end == s.data() + s.size())
      d = x;
  }
  if (!d || !std::isfinite(*d) || !ok(*d))
    n.must_be(rule);
  return *d;
}

/// A google.protobuf.Duration in JSON ("1s", "0.25s"); see json_values.cpp.
clock_duration duration(const node& n);
/// A duration > 0.
clock_duration positive_duration(const node& n);
/// A list of status codes (names in any case, or numbers 0..16); repeats dropped.
std::vector<status_code> status_codes(const node& list);

}  // namespace achan::sc_json
