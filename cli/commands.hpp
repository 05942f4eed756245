#pragma once
/// The `achan` subcommands. main() parses a command's words against its spec (printing
/// the help for --help) and calls its runner, which prints to stdout/stderr and returns
/// the process exit code: 0 success, 1 the operation failed (a call ended with a non-OK
/// status, a server could not listen...), 2 usage error (thrown as usage_error and
/// printed by main()).
#include "cli/flags.hpp"

namespace achan::cli {

/// `achan call TARGET METHOD`: one call (any of the four kinds) with JSON in and out.
command_spec call_spec();
int run_call(const parsed_args& args);
/// `achan bench TARGET METHOD`: load generator with a latency histogram and JSON report.
command_spec bench_spec();
int run_bench(const parsed_args& args);
/// `achan watch TARGET`: prints connectivity and resolver events as they happen.
command_spec watch_spec();
int run_watch(const parsed_args& args);
/// `achan serve`: the echo test service plus health and reflection, until SIGINT/SIGTERM.
command_spec serve_spec();
int run_serve(const parsed_args& args);
/// `achan fault-proxy`: TCP fault proxies behind toxiproxy's HTTP API, until SIGINT/SIGTERM.
command_spec fault_proxy_spec();
int run_fault_proxy(const parsed_args& args);
/// `achan proxy`: a gRPC L7 proxy balancing each call, with fault injection.
command_spec proxy_spec();
int run_proxy(const parsed_args& args);
/// `achan scenario run|check FILE`: scenario scripts in virtual time (--sim) or for real.
command_spec scenario_spec();
int run_scenario(const parsed_args& args);

}  // namespace achan::cli
