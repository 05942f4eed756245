#pragma once
/// Runs a program to completion for tests of command-line tools: stdin from a string,
/// stdout and stderr captured separately, killed (SIGKILL) if it outlives a time limit.
/// No shell, no PATH search.
#include <chrono>
#include <string>
#include <vector>

namespace achan::test {

/// What a finished run produced.
struct command_output {
  int exit_code = -1;  ///< exit status, or 128 + signal number
  bool timed_out = false;
  std::string out;  ///< everything written to stdout
  std::string err;  ///< everything written to stderr
  /// stdout split into lines (without newlines; no trailing empty line).
  std::vector<std::string> out_lines() const;
};

/// Runs `program` (a path) with `args`, feeding `input` to its stdin, and waits at most
/// `limit`. Throws std::system_error if it cannot be started.
command_output run_command(const std::string& program, const std::vector<std::string>& args,
                           const std::string& input = {},
                           std::chrono::milliseconds limit = std::chrono::seconds(30));

}  // namespace achan::test
