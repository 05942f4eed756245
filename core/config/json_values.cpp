// The service config parser's JSON readers (json_values.hpp).
#include "core/config/json_values.hpp"

#include <algorithm>
#include <cctype>
#include <charconv>
#include <cmath>
#include <system_error>

namespace achan::sc_json {

// A value as a message shows it: its JSON text, cut to about 40 bytes at a UTF-8 boundary.
std::string shown(const json& v) {
  auto s = v.dump(-1, ' ', false, json::error_handler_t::replace);
  if (s.size() <= 40)
    return s;
  std::size_t n = 37;
  while (n > 0 && (static_cast<unsigned char>(s[n]) & 0xC0) == 0x80)
    --n;
  s.resize(n);
  return s + "...";
}

std::optional<integer> as_integer(const json& v) {
  constexpr auto max = std::numeric_limits<std::uint64_t>::max();
  if (v.is_number_unsigned())
    return integer{false, v.get<std::uint64_t>()};
  if (v.is_number_integer()) {
    auto i = v.get<std::int64_t>();
    auto m = static_cast<std::uint64_t>(i);
    return integer{i < 0, i < 0 ? 0 - m : m};
  }
  if (v.is_number_float()) {
    auto d = v.get<double>();
    if (!std::isfinite(d) || std::trunc(d) != d)
      return std::nullopt;
    auto m = std::fabs(d);
    return integer{d < 0, m >= 18446744073709551616.0 ? max : static_cast<std::uint64_t>(m)};
  }
  if (!v.is_string())
    return std::nullopt;
  std::string_view s = v.get_ref<const std::string&>();
  integer r;
  if (!s.empty() && s.front() == '-') {
    r.negative = true;
    s.remove_prefix(1);
  }
  if (s.empty())
    return std::nullopt;
  for (char c : s) {
    if (c < '0' || c > '9')
      return std::nullopt;
    auto d = static_cast<unsigned>(c - '0');
    r.magnitude = r.magnitude > (max - d) / 10 ? max : r.magnitude * 10 + d;
  }
  r.negative = r.negative && r.magnitude != 0;
  return r;
}

// maxAttempts: 2 or more, clamped to `cap` (a cap below 2 turns retries and hedging off).
int max_attempts(const node& n, int cap) {
  auto i = as_integer(*n.v);
  if (!i || i->negative || i->magnitude < 2)
    n.must_be("an integer >= 2");
  return static_cast<int>(std::min<std::uint64_t>(i->magnitude, std::max(cap, 1)));
}

std::size_t byte_count(const node& n) {
  auto i = as_integer(*n.v);
  if (!i || i->negative)
    n.must_be("a non-negative integer");
  return static_cast<std::size_t>(
      std::min<std::uint64_t>(i->magnitude, std::numeric_limits<std::size_t>::max()));
}

// A google.protobuf.Duration in JSON: "<seconds>[.<up to 9 digits>]s" ("1s", "0.25s",
// "1.000340012s"). As in grpc-go either side of the point may be empty, not both.
// Negative durations are refused (no field here takes one); values beyond what
// clock_duration holds (about 292 years) saturate at clock_duration::max().
clock_duration duration(const node& n) {
  auto malformed = [&] { n.must_be("a duration like \"1.5s\""); };
  if (!n.v->is_string())
    malformed();
  std::string_view s = n.v->get_ref<const std::string&>();
  if (s.empty() || s.back() != 's')
    malformed();
  s.remove_suffix(1);
  bool negative = !s.empty() && s.front() == '-';
  if (negative)
    s.remove_prefix(1);
  auto dot = s.find('.');
  auto whole = s.substr(0, dot);
  auto frac = dot == std::string_view::npos ? std::string_view{} : s.substr(dot + 1);
  auto digits = [](std::string_view d) {
    return std::all_of(d.begin(), d.end(), [](char c) { return c >= '0' && c <= '9'; });
  };
  if ((whole.empty() && frac.empty()) || !digits(whole) || !digits(frac))
    malformed();
  if (frac.size() > 9)
    n.must_be("a duration with at most 9 fractional digits");
  std::uint64_t secs = 0, nanos = 0;
  for (char c : whole) {
    secs = secs * 10 + static_cast<unsigned>(c - '0');
    if (secs > max_duration_seconds)
      n.fail("is out of range (at most " + std::to_string(max_duration_seconds) + "s), not " +
             shown(*n.v));
  }
  for (std::size_t i = 0; i < 9; ++i)
    nanos = nanos * 10 + (i < frac.size() ? static_cast<unsigned>(frac[i] - '0') : 0);
  if (negative && (secs != 0 || nanos != 0))
    n.must_be("a duration >= 0");
  using namespace std::chrono;
  auto whole_secs = seconds(static_cast<seconds::rep>(secs));
  if (whole_secs >= duration_cast<seconds>(clock_duration::max()))
    return clock_duration::max();
  return duration_cast<clock_duration>(whole_secs) +
         duration_cast<clock_duration>(nanoseconds(static_cast<nanoseconds::rep>(nanos)));
}

clock_duration positive_duration(const node& n) {
  auto d = duration(n);
  if (d <= clock_duration::zero())
    n.must_be("a duration > 0");
  return d;
}

// A list of status codes, each its name as gRPC spells it in any case ("UNAVAILABLE",
// "unavailable") or its number 0..16. Repeats are dropped.
std::vector<status_code> status_codes(const node& list) {
  list.array();
  std::vector<status_code> out;
  for (std::size_t i = 0; i < list.v->size(); ++i) {
    auto n = list.at(i);
    std::optional<status_code> code;
    if (n.v->is_string()) {
      const auto& s = n.v->get_ref<const std::string&>();
      auto same = [](char a, char b) { return std::toupper(static_cast<unsigned char>(a)) == b; };
      for (int c = 0; c <= last_status_code && !code; ++c) {
        auto name = to_string(static_cast<status_code>(c));
        if (std::equal(s.begin(), s.end(), name.begin(), name.end(), same))
          code = static_cast<status_code>(c);
      }
    } else if (auto k = n.v->is_number() ? as_integer(*n.v) : std::nullopt;
               k && !k->negative && k->magnitude <= last_status_code) {
      code = static_cast<status_code>(k->magnitude);
    }
    if (!code)
      n.must_be("a status code name like \"UNAVAILABLE\" or a number 0..16");
    if (std::find(out.begin(), out.end(), *code) == out.end())
      out.push_back(*code);
  }
  return out;
}

}  // namespace achan::sc_json
