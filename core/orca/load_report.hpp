#pragma once
/// ORCA load reports (xds.data.orca.v3.OrcaLoadReport, proto/orca.proto): what a backend
/// says about its load, per call in the trailer `endpoint-load-metrics-bin` (gRFC A51).
/// A hand-rolled protobuf codec, so neither the core nor the server needs protobuf:
/// the server encodes the reports its handlers record (include/achan/server_metrics.hpp)
/// and load-aware policies (weighted_round_robin, gRFC A58) decode them.
///
///   auto bytes = achan::encode_orca_report({.cpu_utilization = 0.5, .rps_fractional = 100});
///   auto r = achan::decode_orca_report(bytes);   // r->cpu_utilization == 0.5, or r.error()
///
/// Built into achan_transport (the bottom, CAF-free library), not achan_core, because the
/// server in achan_h2 encodes reports and achan_h2 does not link the core.
#include <cstddef>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include <achan/result.hpp>

namespace achan {

/// The trailer a backend's per-call load report travels in (binary metadata: raw bytes
/// in achan's API, base64 on the wire).
inline constexpr std::string_view orca_trailer = "endpoint-load-metrics-bin";

/// Entries decode_orca_report() accepts per map (request_cost, utilization,
/// named_metrics); a report with more is rejected, so a hostile backend cannot make a
/// client store an unbounded report.
inline constexpr std::size_t orca_max_map_entries = 1000;

/// One OrcaLoadReport. Zero means "not reported" (proto3: absent fields read as 0). The
/// codec does not judge values: a consumer checks ranges (utilization in [0, 1], ...)
/// before it trusts them. Map entries keep their order when encoded; decoding sorts them
/// by key, and a key repeated on the wire keeps its last value (protobuf's map rule).
struct orca_load_report {
  double cpu_utilization = 0;          ///< field 1
  double mem_utilization = 0;          ///< field 2
  double rps_fractional = 0;           ///< field 6 (or the deprecated uint64 rps, field 3)
  double eps = 0;                      ///< field 7: errors per second
  double application_utilization = 0;  ///< field 9
  std::vector<std::pair<std::string, double>> request_cost;   ///< field 4
  std::vector<std::pair<std::string, double>> utilization;    ///< field 5
  std::vector<std::pair<std::string, double>> named_metrics;  ///< field 8
};

/// The report in protobuf wire format, as protobuf's generated code writes it (scalar
/// fields whose bits are all zero omitted; map entries with both key and value). Keys
/// are written as given: they should be UTF-8, which a protobuf decoder insists on.
std::string encode_orca_report(const orca_load_report& report);

/// Parses an OrcaLoadReport. Unknown fields of every wire type (groups included) are
/// skipped; a known field with an unexpected wire type is skipped as unknown, as protobuf
/// does. INTERNAL "malformed OrcaLoadReport (what, at byte N)" for truncated or
/// malformed input (a bad tag or wire type, a length past the end, a key that is not
/// UTF-8, groups nested deeper than 100), and for a map over orca_max_map_entries.
/// Never reads outside `bytes`; allocates only for map entries.
result<orca_load_report> decode_orca_report(std::string_view bytes);

}  // namespace achan
