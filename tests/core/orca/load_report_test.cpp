// The ORCA load report codec by hand: known bytes, round trips, unknown fields, and
// every kind of malformed input (protobuf's own view of the same bytes:
// tests/proto/orca_proto_test.cpp).
#include "core/orca/load_report.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstdio>
#include <random>
#include <string>

#include "tests/support/seed.hpp"

using namespace achan;
using namespace std::string_literals;

namespace {

orca_load_report full_report() {
  orca_load_report r;
  r.cpu_utilization = 0.25;
  r.mem_utilization = 0.5;
  r.rps_fractional = 1234.5;
  r.eps = 3;
  r.application_utilization = 1.5;
  r.request_cost = {{"db", 2}, {"io", 0}};
  r.utilization = {{"gpu", 0.75}};
  r.named_metrics = {{"queue", 17}, {"z\xC3\xA9", -1}};  // a two-byte UTF-8 key
  return r;
}

void check_same(const orca_load_report& a, const orca_load_report& b) {
  CHECK(a.cpu_utilization == b.cpu_utilization);
  CHECK(a.mem_utilization == b.mem_utilization);
  CHECK(a.rps_fractional == b.rps_fractional);
  CHECK(a.eps == b.eps);
  CHECK(a.application_utilization == b.application_utilization);
  CHECK(a.request_cost == b.request_cost);
  CHECK(a.utilization == b.utilization);
  CHECK(a.named_metrics == b.named_metrics);
}

/// The error message of decoding `bytes`, or "" if it decoded.
std::string error_of(const std::string& bytes) {
  auto r = decode_orca_report(bytes);
  if (r)
    return "";
  CHECK(r.error().code == status_code::internal);
  return r.error().message;
}

/// `n` nested start groups of field 15, closed again.
std::string nested_groups(int n) {
  return std::string(static_cast<std::size_t>(n), '\x7B') +  // field 15, start group
         std::string(static_cast<std::size_t>(n), '\x7C');   // field 15, end group
}

}  // namespace

TEST_CASE("orca load_report: known bytes of scalar fields and of a map entry") {
  CHECK(encode_orca_report({}).empty());
  orca_load_report cpu;
  cpu.cpu_utilization = 0.5;  // field 1 fixed64: 0x09, then 0.5 little-endian
  CHECK(encode_orca_report(cpu) == "\x09\x00\x00\x00\x00\x00\x00\xE0\x3F"s);
  orca_load_report util;
  util.utilization = {{"a", 1}};  // field 5 entry: key 1 "a" and value 2 = 1.0
  CHECK(encode_orca_report(util) == "\x2A\x0C\x0A\x01\x61\x11\x00\x00\x00\x00\x00\x00\xF0\x3F"s);
  orca_load_report negative_zero;
  negative_zero.eps = -0.0;  // not all-zero bits: protobuf writes it too
  CHECK(encode_orca_report(negative_zero).size() == 9);
}

TEST_CASE("orca load_report: a full report round-trips and an empty one is all zeros") {
  auto r = full_report();
  auto back = decode_orca_report(encode_orca_report(r));
  REQUIRE_MESSAGE(back, back.error().message);
  check_same(*back, r);
  auto empty = decode_orca_report("");
  REQUIRE(empty);
  check_same(*empty, {});
}

TEST_CASE("orca load_report: the deprecated integer rps counts only without rps_fractional") {
  auto rps_only = "\x18\xE8\x07"s;  // field 3 varint 1000
  CHECK(decode_orca_report(rps_only)->rps_fractional == 1000);
  orca_load_report fractional;
  fractional.rps_fractional = 2.5;
  auto both = rps_only + encode_orca_report(fractional);
  CHECK(decode_orca_report(both)->rps_fractional == 2.5);
  CHECK(decode_orca_report(encode_orca_report(fractional) + rps_only)->rps_fractional == 2.5);
}

TEST_CASE("orca load_report: unknown fields of every wire type and groups are skipped") {
  auto unknown =
      "\x50\x96\x01"s  // field 10 varint
      "\x59"
      "12345678"     // field 11 fixed64
      "\x62\x03xyz"  // field 12 bytes
      "\x6D"
      "abcd"                        // field 13 fixed32
      "\x73\x08\x01\x7B\x7C\x74"s;  // field 14 group: a varint, a group 15
  auto known = encode_orca_report(full_report());
  auto r = decode_orca_report(unknown + known + unknown);
  REQUIRE_MESSAGE(r, r.error().message);
  check_same(*r, full_report());
  CHECK(decode_orca_report(nested_groups(100)));  // protobuf's recursion limit
  // A known field with another wire type is an unknown field, as protobuf treats it.
  auto cpu_as_varint = "\x08\x05"s;
  CHECK(decode_orca_report(cpu_as_varint)->cpu_utilization == 0);
  // Unknown fields inside a map entry, and entries missing their key or value.
  auto entry =
      "\x42\x0A\x18\x01\x0A\x01k\x25"
      "abcd"s;  // named_metrics {k: 0}, junk around
  auto no_key = "\x42\x09\x11\x00\x00\x00\x00\x00\x00\x00\x40"s;  // {"": 2}
  auto m = decode_orca_report(entry + no_key);
  REQUIRE_MESSAGE(m, m.error().message);
  CHECK(m->named_metrics == std::vector<std::pair<std::string, double>>{{"", 2}, {"k", 0}});
}

TEST_CASE("orca load_report: maps come back sorted and a repeated key keeps its last value") {
  orca_load_report r;
  r.request_cost = {{"b", 1}, {"a", 2}, {"b", 3}, {"c", 4}, {"a", 5}};
  auto back = decode_orca_report(encode_orca_report(r));
  REQUIRE(back);
  CHECK(back->request_cost ==
        std::vector<std::pair<std::string, double>>{{"a", 5}, {"b", 3}, {"c", 4}});
}

TEST_CASE("orca load_report: malformed input is an INTERNAL error naming what and where") {
  CHECK(error_of("\x00"s).find("field number 0, at byte 0") != std::string::npos);
  CHECK(error_of("\x0E"s).find("wire type 6 or 7") != std::string::npos);
  CHECK(error_of("\x0F"s).find("wire type 6 or 7") != std::string::npos);
  CHECK(error_of("\x0C"s).find("end of group without a start") != std::string::npos);
  CHECK(error_of("\x73\x7C"s).find("wrong field number") != std::string::npos);
  CHECK(error_of("\x73\x08\x01"s).find("unterminated group") != std::string::npos);
  CHECK(error_of("\x62\x05xy"s).find("past the end") != std::string::npos);
  CHECK(error_of("\x09\x00\x00"s).find("truncated fixed64 field") != std::string::npos);
  CHECK(error_of("\x50"s + std::string(11, '\xFF')).find("truncated varint") != std::string::npos);
  CHECK(error_of("\xFF\xFF\xFF\xFF\x7F"s).find("over 32 bits") != std::string::npos);
  CHECK(error_of(nested_groups(101)).find("nested too deep") != std::string::npos);
  // Inside a map entry, with the entry's byte offset in the whole report.
  auto bad_key = "\x09\x00\x00\x00\x00\x00\x00\xE0\x3F\x2A\x04\x0A\x02\xC3\x28"s;
  CHECK(error_of(bad_key) ==
        "malformed OrcaLoadReport (in a utilization entry: map key is not UTF-8, at byte 15)");
  CHECK(error_of("\x22\x02\x11\x01"s).find("in a request_cost entry: truncated fixed64") !=
        std::string::npos);
  for (auto overlong : {"\xC0\x80"s, "\xE0\x80\x80"s, "\xED\xA0\x80"s, "\xF4\x90\x80\x80"s}) {
    auto e = "\x42"s + static_cast<char>(2 + overlong.size()) + "\x0A"s +
             static_cast<char>(overlong.size()) + overlong;
    CHECK(error_of(e).find("not UTF-8") != std::string::npos);
  }
}

TEST_CASE("orca load_report: a map over the entry limit is refused and says so") {
  orca_load_report r;
  for (std::size_t i = 0; i < orca_max_map_entries; ++i)
    r.utilization.emplace_back("k" + std::to_string(i), 0.5);
  auto at_limit = decode_orca_report(encode_orca_report(r));
  REQUIRE(at_limit);
  CHECK(at_limit->utilization.size() == orca_max_map_entries);
  r.utilization.emplace_back("one-more", 0.5);
  CHECK(error_of(encode_orca_report(r)).find("more than 1000 utilization entries") !=
        std::string::npos);
}

TEST_CASE("orca load_report: every prefix decodes exactly when it ends between fields") {
  // The report field by field: each part's encoding alone, concatenated, is the whole.
  auto r = full_report();
  std::vector<orca_load_report> parts(10);
  parts[0].cpu_utilization = r.cpu_utilization;
  parts[1].mem_utilization = r.mem_utilization;
  parts[2].request_cost = {r.request_cost[0]};
  parts[3].request_cost = {r.request_cost[1]};
  parts[4].utilization = r.utilization;
  parts[5].rps_fractional = r.rps_fractional;
  parts[6].eps = r.eps;
  parts[7].named_metrics = {r.named_metrics[0]};
  parts[8].named_metrics = {r.named_metrics[1]};
  parts[9].application_utilization = r.application_utilization;
  std::string whole;
  std::vector<std::size_t> ends{0};
  for (auto& p : parts) {
    whole += encode_orca_report(p);
    ends.push_back(whole.size());
  }
  REQUIRE(whole == encode_orca_report(r));
  for (std::size_t n = 0; n <= whole.size(); ++n) {
    bool boundary = std::find(ends.begin(), ends.end(), n) != ends.end();
    CAPTURE(n);
    CHECK(decode_orca_report(std::string_view{whole}.substr(0, n)).ok() == boundary);
  }
}

TEST_CASE("orca load_report: random bytes and mutated reports never crash the decoder") {
  auto seed = test::test_seed();
  std::printf("orca load_report fuzz seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng{seed};
  auto good = encode_orca_report(full_report());
  int decoded = 0;
  for (int i = 0; i < 20000; ++i) {
    std::string bytes;
    if (i % 2 == 0) {
      bytes.resize(rng() % 64);
      for (auto& c : bytes)
        c = static_cast<char>(rng());
    } else {
      bytes = good;
      for (int k = 0; k < 3; ++k)
        bytes[rng() % bytes.size()] = static_cast<char>(rng());
    }
    auto r = decode_orca_report(bytes);
    decoded += r.ok();
    if (!r)
      CHECK(r.error().message.rfind("malformed OrcaLoadReport (", 0) == 0);
  }
  CHECK(decoded > 0);  // (and under ASan: no read outside the input)
}
