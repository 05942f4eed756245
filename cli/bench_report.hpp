#pragma once
/// How `achan bench` prints its result: one JSON object (--json) or a readable summary
/// with a latency histogram.
#include <string>

#include "cli/bench_run.hpp"

namespace achan::cli {

/// The --json object, on one line:
///   {"count":N,"ok":N,"errors":{"UNAVAILABLE":n,...},"qps":F,"duration_s":F,
///    "latency_us":{"p50":F,"p90":F,"p99":F,"p999":F,"max":F},
///    "per_backend":{"127.0.0.1:5001":n,...},"cpu_us_per_call":F}
/// Latencies are of the OK calls; qps is count / duration_s.
std::string bench_json(const bench_result& r);

/// The readable summary: counts, rate, latency percentiles, a 10-bar histogram, status
/// codes (with the first message of each error code) and calls per backend.
std::string bench_text(const bench_result& r);

}  // namespace achan::cli
