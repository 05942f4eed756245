// achan's hand-rolled ORCA codec (core/orca/load_report.hpp) against protobuf's generated
// code for proto/orca.proto: each reads what the other writes, and on truncated or
// mutated bytes both accept or both refuse, with the same values.
#include <doctest/doctest.h>

#include <google/protobuf/io/coded_stream.h>
#include <google/protobuf/io/zero_copy_stream_impl_lite.h>
#include <google/protobuf/stubs/logging.h>

#include <algorithm>
#include <bit>
#include <cstdio>
#include <random>
#include <string>

#include "core/orca/load_report.hpp"
#include "proto/orca.pb.h"
#include "tests/support/seed.hpp"

using namespace achan;
using pb_report = xds::data::orca::v3::OrcaLoadReport;
using entries = std::vector<std::pair<std::string, double>>;

namespace {

entries sorted(const google::protobuf::Map<std::string, double>& m) {
  entries out(m.begin(), m.end());
  std::sort(out.begin(), out.end());
  return out;
}

bool same_bits(double a, double b) {
  return std::bit_cast<std::uint64_t>(a) == std::bit_cast<std::uint64_t>(b);
}

bool same_map(const entries& a, const entries& b) {
  return a.size() == b.size() && std::equal(a.begin(), a.end(), b.begin(), [](auto& x, auto& y) {
           return x.first == y.first && same_bits(x.second, y.second);
         });
}

/// True if achan's decoding `ours` says what protobuf's `theirs` says. achan folds the
/// deprecated integer rps into rps_fractional when that field was absent, which protobuf
/// cannot tell from a zero one.
bool agree(const orca_load_report& ours, const pb_report& theirs) {
  bool rps = same_bits(ours.rps_fractional, theirs.rps_fractional()) ||
             (theirs.rps_fractional() == 0 &&
              (ours.rps_fractional == 0 || ours.rps_fractional == double(theirs.rps())));
  return same_bits(ours.cpu_utilization, theirs.cpu_utilization()) &&
         same_bits(ours.mem_utilization, theirs.mem_utilization()) && rps &&
         same_bits(ours.eps, theirs.eps()) &&
         same_bits(ours.application_utilization, theirs.application_utilization()) &&
         same_map(ours.request_cost, sorted(theirs.request_cost())) &&
         same_map(ours.utilization, sorted(theirs.utilization())) &&
         same_map(ours.named_metrics, sorted(theirs.named_metrics()));
}

/// Both decoders on `bytes`: both refuse, or both accept with the same values.
void check_verdicts(const std::string& bytes) {
  google::protobuf::LogSilencer quiet;  // (protobuf logs the invalid UTF-8 it refuses)
  pb_report theirs;
  bool pb_ok = theirs.ParseFromString(bytes);
  auto ours = decode_orca_report(bytes);
  CHECK_MESSAGE(ours.ok() == pb_ok, (ours ? "accepted" : ours.error().message));
  if (ours && pb_ok)
    CHECK(agree(*ours, theirs));
}

pb_report full_pb() {
  pb_report m;
  m.set_cpu_utilization(0.25);
  m.set_mem_utilization(0.5);
  m.set_rps_fractional(1234.5);
  m.set_eps(3);
  m.set_application_utilization(1.5);
  (*m.mutable_request_cost())["db"] = 2;
  (*m.mutable_request_cost())["io"] = 0;
  (*m.mutable_utilization())["gpu"] = 0.75;
  (*m.mutable_named_metrics())["queue"] = 17;
  (*m.mutable_named_metrics())["z\xC3\xA9"] = -1;
  return m;
}

orca_load_report full_ours() {
  orca_load_report r;
  r.cpu_utilization = 0.25;
  r.mem_utilization = 0.5;
  r.rps_fractional = 1234.5;
  r.eps = 3;
  r.application_utilization = 1.5;
  r.request_cost = {{"db", 2}, {"io", 0}};
  r.utilization = {{"gpu", 0.75}};
  r.named_metrics = {{"queue", 17}, {"z\xC3\xA9", -1}};
  return r;
}

std::string deterministic(const pb_report& m) {
  std::string out;
  {
    google::protobuf::io::StringOutputStream s{&out};
    google::protobuf::io::CodedOutputStream c{&s};
    c.SetSerializationDeterministic(true);
    m.SerializeToCodedStream(&c);
  }
  return out;
}

}  // namespace

TEST_CASE("orca proto: protobuf reads achan's encoding and achan reads protobuf's") {
  pb_report theirs;
  REQUIRE(theirs.ParseFromString(encode_orca_report(full_ours())));
  CHECK(agree(full_ours(), theirs));
  auto ours = decode_orca_report(full_pb().SerializeAsString());
  REQUIRE_MESSAGE(ours, ours.error().message);
  CHECK(agree(*ours, full_pb()));
  pb_report rps_only;  // the deprecated field alone
  rps_only.set_rps(77);
  CHECK(decode_orca_report(rps_only.SerializeAsString())->rps_fractional == 77);
}

TEST_CASE("orca proto: achan writes the bytes protobuf's deterministic serializer writes") {
  CHECK(encode_orca_report(full_ours()) == deterministic(full_pb()));
  CHECK(encode_orca_report({}) == deterministic(pb_report{}));
  orca_load_report odd;  // a negative zero is sent, an empty key and a zero value too
  odd.eps = -0.0;
  odd.utilization = {{"", 0}};
  pb_report m;
  m.set_eps(-0.0);
  (*m.mutable_utilization())[""] = 0;
  CHECK(encode_orca_report(odd) == deterministic(m));
}

TEST_CASE("orca proto: unknown fields and groups are skipped by both alike") {
  auto unknown = std::string{"\x50\x96\x01\x59"} + "12345678" + "\x62\x03xyz\x6D" + "abcd" +
                 "\x73\x08\x01\x7B\x7C\x74";
  auto known = encode_orca_report(full_ours());
  check_verdicts(unknown + known + unknown);
  check_verdicts(std::string(100, '\x7B') + std::string(100, '\x7C'));  // the recursion limit
  check_verdicts(std::string(101, '\x7B') + std::string(101, '\x7C'));
  // Inside a map entry, one level down.
  for (int n : {98, 99, 100}) {
    auto groups = std::string(n, '\x7B') + std::string(n, '\x7C');
    std::string entry = "\x0A\x01k" + groups;
    check_verdicts("\x42" + std::string(1, char(0x80 | (entry.size() & 0x7F))) +
                   std::string(1, char(entry.size() >> 7)) + entry);
  }
}

TEST_CASE("orca proto: every prefix gets the same verdict from both decoders") {
  auto m = full_pb();
  m.set_rps(9);
  auto bytes = m.SerializeAsString() + "\x73\x08\x01\x7B\x7C\x74";
  for (std::size_t n = 0; n <= bytes.size(); ++n) {
    CAPTURE(n);
    check_verdicts(bytes.substr(0, n));
  }
}

TEST_CASE("orca proto: mutated reports get the same verdict from both decoders") {
  auto seed = test::test_seed();
  std::printf("orca proto mutation seed %llu\n", static_cast<unsigned long long>(seed));
  std::mt19937_64 rng{seed};
  auto good = encode_orca_report(full_ours());
  for (int i = 0; i < 5000; ++i) {
    auto bytes = good;
    for (int k = 0, n = 1 + int(rng() % 3); k < n; ++k)
      bytes[rng() % bytes.size()] = static_cast<char>(rng());
    CAPTURE(i);
    check_verdicts(bytes);
  }
}
