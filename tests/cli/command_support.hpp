#pragma once
/// Helpers for the tests that spawn the `achan` binary: run it to completion, and start
/// `achan serve` backends on free loopback ports.
#include <doctest/doctest.h>

#include <memory>
#include <string>
#include <vector>

#include "tests/support/process.hpp"
#include "tests/support/run_command.hpp"

namespace achan::test {

/// Path of the built `achan` binary (next to the test binary).
inline std::string achan_bin() {
  return test_binary("achan");
}

/// proto/echo.proto in the source tree.
inline std::string echo_proto() {
  return std::string{ACHAN_SOURCE_DIR} + "/proto/echo.proto";
}

/// Runs `achan ARGS...` to completion (30 s limit), with `input` on stdin.
inline command_output run_achan(const std::vector<std::string>& args,
                                const std::string& input = {}) {
  auto r = run_command(achan_bin(), args, input);
  INFO("achan stderr: " << r.err);
  REQUIRE_FALSE(r.timed_out);
  return r;
}

/// One `achan serve --port 0 --name NAME` process; stopped (SIGTERM) on destruction.
struct served {
  std::unique_ptr<child_process> proc;
  std::string address;  ///< "127.0.0.1:PORT"

  explicit served(const std::string& name, std::vector<std::string> extra = {}) {
    std::vector<std::string> args{"serve", "--port", "0", "--name", name};
    args.insert(args.end(), extra.begin(), extra.end());
    proc = std::make_unique<child_process>(achan_bin(), args);
    auto line = proc->wait_for_line("listening on ", std::chrono::seconds(20));
    REQUIRE(line);
    address = line->substr(std::string{"listening on "}.size());
  }
};

}  // namespace achan::test
