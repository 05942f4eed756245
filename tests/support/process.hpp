#pragma once
/// A child process for tests that need a real peer (a grpc++ server or client, or one of
/// achan's own programs): started with posix_spawn (no shell), stdout captured through a
/// pipe and read line by line, stopped with SIGTERM then SIGKILL. stderr is inherited so a
/// failing peer's diagnostics show up in the test log. Not thread-safe: one test thread
/// owns each object.
#include <sys/types.h>
#include <chrono>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace achan::test {

/// One spawned program and the read end of its stdout.
class child_process {
 public:
  /// Starts `program` (a path; no PATH search) with `args` (argv[1..]). Throws
  /// std::system_error if the pipe cannot be made or the spawn fails (for example, the
  /// file does not exist).
  child_process(const std::string& program, const std::vector<std::string>& args);
  /// Calls stop().
  ~child_process();
  child_process(const child_process&) = delete;
  child_process& operator=(const child_process&) = delete;

  /// Reads stdout until a line starting with `prefix` arrives and returns it (without
  /// the newline). Earlier lines are kept in lines(). Returns nullopt if `timeout`
  /// passes or stdout reaches EOF first (the child exited or closed it).
  std::optional<std::string> wait_for_line(std::string_view prefix,
                                           std::chrono::milliseconds timeout);
  /// Every complete stdout line read so far, in order (including returned ones).
  const std::vector<std::string>& lines() const noexcept { return lines_; }
  /// Sends signal `sig` to the child if it is still running (and not yet reaped).
  void signal(int sig);
  /// Waits up to `timeout` for the child to exit on its own and returns its status as
  /// stop() does; nullopt if it is still running.
  std::optional<int> wait_exit(std::chrono::milliseconds timeout);
  /// Sends SIGTERM, waits up to `grace`, then SIGKILL. Returns the exit code if the child
  /// exited, 128 + signal number if a signal killed it. Idempotent: later calls return
  /// the same value.
  int stop(std::chrono::milliseconds grace = std::chrono::seconds(2));
  /// The child's pid (still valid after it was reaped, for messages only).
  pid_t pid() const noexcept { return pid_; }

 private:
  /// Non-blocking reap; true once the child's status is known.
  bool try_reap();
  /// Reads what is available (waiting at most `wait`); false on EOF.
  bool read_some(std::chrono::milliseconds wait);

  pid_t pid_ = -1;
  int out_fd_ = -1;
  bool eof_ = false;
  std::optional<int> status_;
  std::string partial_;
  std::vector<std::string> lines_;
  std::size_t next_unmatched_ = 0;
};

/// The path of the executable `name` in the same directory as the running test binary
/// (read from /proc/self/exe): peers are built into the same bin/ directory.
std::string test_binary(std::string_view name);

}  // namespace achan::test
