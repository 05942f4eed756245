#include "core/orca/load_report.hpp"

#include "transport/grpc/proto_wire.hpp"

#include <algorithm>
#include <bit>
#include <cstdint>
#include <optional>

namespace achan {
namespace {

using namespace proto_wire;

using entries = std::vector<std::pair<std::string, double>>;

// Field numbers of xds.data.orca.v3.OrcaLoadReport (proto/orca.proto).
enum field : std::uint32_t {
  cpu_field = 1,
  mem_field = 2,
  rps_field = 3,  // deprecated uint64
  request_cost_field = 4,
  utilization_field = 5,
  rps_fractional_field = 6,
  eps_field = 7,
  named_metrics_field = 8,
  application_field = 9,
};

// --- encoding ------------------------------------------------------------------

/// A double field; omitted when its bits are all zero (+0.0), as protobuf does for proto3.
void put_double(std::string& out, std::uint32_t number, double v) {
  if (std::bit_cast<std::uint64_t>(v) == 0)
    return;
  put_tag(out, number, fixed64_wire);
  put_fixed64(out, std::bit_cast<std::uint64_t>(v));
}

/// A map<string, double>: one length-delimited entry per pair, key (1) and value (2).
void put_map(std::string& out, std::uint32_t number, const entries& map) {
  for (const auto& [key, value] : map) {
    put_tag(out, number, length_wire);
    put_varint(out, 1 + varint_size(key.size()) + key.size() + 1 + 8);
    out.push_back('\x0A');  // field 1, length-delimited
    put_varint(out, key.size());
    out.append(key);
    out.push_back('\x11');  // field 2, fixed64
    put_fixed64(out, std::bit_cast<std::uint64_t>(value));
  }
}

// --- decoding ------------------------------------------------------------------

/// True if `s` is well-formed UTF-8 (no overlong forms, surrogates or code points past
/// U+10FFFF), which protobuf and upb require of proto3 strings.
bool valid_utf8(std::string_view s) {
  std::size_t i = 0;
  while (i < s.size()) {
    auto c = static_cast<std::uint8_t>(s[i]);
    if (c < 0x80) {
      ++i;
      continue;
    }
    std::size_t n = c >= 0xF0 ? 4 : c >= 0xE0 ? 3 : c >= 0xC2 ? 2 : 0;
    if (n == 0 || c > 0xF4 || s.size() - i < n)
      return false;
    auto c1 = static_cast<std::uint8_t>(s[i + 1]);
    std::uint8_t lo = 0x80, hi = 0xBF;  // the second byte's range depends on the first
    if (c == 0xE0)
      lo = 0xA0;
    else if (c == 0xED)
      hi = 0x9F;
    else if (c == 0xF0)
      lo = 0x90;
    else if (c == 0xF4)
      hi = 0x8F;
    if (c1 < lo || c1 > hi)
      return false;
    for (std::size_t k = 2; k < n; ++k)
      if ((static_cast<std::uint8_t>(s[i + k]) & 0xC0) != 0x80)
        return false;
    i += n;
  }
  return true;
}

/// One map entry (a nested message: key 1, value 2, either may be absent) appended to
/// `out`; false with `outer` failed otherwise.
bool read_entry(reader& outer, entries& out, const char* map_name) {
  auto body = outer.bytes();
  if (!body)
    return false;
  if (out.size() >= orca_max_map_entries)
    return outer.fail("more than " + std::to_string(orca_max_map_entries) + " " + map_name +
                      " entries, the decoder's limit");
  reader r{body->first, "OrcaLoadReport", body->second,
           std::string{"in a "} + map_name + " entry: "};
  std::string_view key;
  double value = 0;
  while (!r.done()) {
    auto t = r.tag();
    if (!t)
      break;
    if (t->first == 1 && t->second == length_wire) {
      auto k = r.bytes();
      if (!k)
        break;
      key = k->first;
      if (!valid_utf8(key)) {
        r.fail("map key is not UTF-8");
        break;
      }
    } else if (t->first == 2 && t->second == fixed64_wire) {
      auto v = r.fixed64();
      if (!v)
        break;
      value = std::bit_cast<double>(*v);
    } else if (!r.skip(t->first, t->second, 1)) {  // (the entry is one level, as in protobuf)
      break;
    }
  }
  if (r.error())
    return outer.fail(*r.error());
  out.emplace_back(std::string{key}, value);
  return true;
}

/// Sorts a decoded map by key; of a repeated key only the last value stays.
void settle(entries& map) {
  if (map.size() < 2)
    return;
  std::stable_sort(map.begin(), map.end(),
                   [](const auto& a, const auto& b) { return a.first < b.first; });
  std::size_t w = 0;
  for (std::size_t i = 0; i < map.size(); ++i) {
    if (i + 1 < map.size() && map[i + 1].first == map[i].first)
      continue;  // a later one wins
    if (w != i)
      map[w] = std::move(map[i]);
    ++w;
  }
  map.resize(w);
}

}  // namespace

std::string encode_orca_report(const orca_load_report& r) {
  std::string out;
  put_double(out, cpu_field, r.cpu_utilization);
  put_double(out, mem_field, r.mem_utilization);
  put_map(out, request_cost_field, r.request_cost);
  put_map(out, utilization_field, r.utilization);
  put_double(out, rps_fractional_field, r.rps_fractional);
  put_double(out, eps_field, r.eps);
  put_map(out, named_metrics_field, r.named_metrics);
  put_double(out, application_field, r.application_utilization);
  return out;
}

result<orca_load_report> decode_orca_report(std::string_view bytes) {
  orca_load_report out;
  reader r{bytes, "OrcaLoadReport"};
  std::optional<std::uint64_t> rps;
  bool have_rps_fractional = false;
  while (!r.done()) {
    auto t = r.tag();
    if (!t)
      break;
    auto [number, wire_type] = *t;
    double* scalar = nullptr;
    entries* map = nullptr;
    const char* map_name = "";
    switch (number) {
      case cpu_field:
        scalar = &out.cpu_utilization;
        break;
      case mem_field:
        scalar = &out.mem_utilization;
        break;
      case rps_fractional_field:
        scalar = &out.rps_fractional;
        break;
      case eps_field:
        scalar = &out.eps;
        break;
      case application_field:
        scalar = &out.application_utilization;
        break;
      case request_cost_field:
        map = &out.request_cost, map_name = "request_cost";
        break;
      case utilization_field:
        map = &out.utilization, map_name = "utilization";
        break;
      case named_metrics_field:
        map = &out.named_metrics, map_name = "named_metrics";
        break;
      default:
        break;
    }
    if (scalar && wire_type == fixed64_wire) {
      auto v = r.fixed64();
      if (!v)
        break;
      *scalar = std::bit_cast<double>(*v);
      have_rps_fractional |= number == rps_fractional_field;
    } else if (map && wire_type == length_wire) {
      if (!read_entry(r, *map, map_name))
        break;
    } else if (number == rps_field && wire_type == varint_wire) {
      rps = r.varint("truncated varint");
      if (!rps)
        break;
    } else if (!r.skip(number, wire_type)) {  // unknown, or a known one of another type
      break;
    }
  }
  if (auto e = r.error())
    return std::move(*e);
  if (rps && !have_rps_fractional)
    out.rps_fractional = static_cast<double>(*rps);
  settle(out.request_cost);
  settle(out.utilization);
  settle(out.named_metrics);
  return out;
}

}  // namespace achan
