#pragma once
/// The `achan` subcommands. Each takes the words after its name, prints to
/// stdout/stderr, and returns the process exit code: 0 success, 1 the operation failed
/// (a call ended with a non-OK status, a server could not listen...), 2 usage error
/// (thrown as usage_error and printed by main()).
#include <string>
#include <vector>

namespace achan::cli {

/// `achan call TARGET METHOD`: one call (any of the four kinds) with JSON in and out.
int run_call(const std::vector<std::string>& args);
/// `achan bench TARGET METHOD`: load generator with a latency histogram and JSON report.
int run_bench(const std::vector<std::string>& args);
/// `achan watch TARGET`: prints connectivity and resolver events as they happen.
int run_watch(const std::vector<std::string>& args);
/// `achan serve`: the echo test service plus health and reflection, until SIGINT/SIGTERM.
int run_serve(const std::vector<std::string>& args);

}  // namespace achan::cli
