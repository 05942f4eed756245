#include "tests/support/process.hpp"

#include <fcntl.h>
#include <poll.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>
#include <cerrno>
#include <csignal>
#include <system_error>
#include <thread>

extern char** environ;

namespace achan::test {

namespace {

using clock_type = std::chrono::steady_clock;

/// Closes the pipe ends and the spawn objects on every exit path of the constructor.
struct spawn_guard {
  posix_spawn_file_actions_t actions;
  posix_spawnattr_t attr;
  int fds[2] = {-1, -1};
  ~spawn_guard() {
    posix_spawn_file_actions_destroy(&actions);
    posix_spawnattr_destroy(&attr);
    for (int fd : fds)
      if (fd >= 0)
        ::close(fd);
  }
};

[[noreturn]] void throw_errno(int err, const std::string& what) {
  throw std::system_error(err, std::generic_category(), what);
}

int decode_status(int status) {
  if (WIFEXITED(status))
    return WEXITSTATUS(status);
  if (WIFSIGNALED(status))
    return 128 + WTERMSIG(status);
  return -1;
}

}  // namespace

child_process::child_process(const std::string& program, const std::vector<std::string>& args) {
  spawn_guard g;
  posix_spawn_file_actions_init(&g.actions);
  posix_spawnattr_init(&g.attr);
  if (::pipe2(g.fds, O_CLOEXEC) != 0)
    throw_errno(errno, "pipe2");
  // dup2 clears FD_CLOEXEC on the child's stdout; both original ends close on exec.
  posix_spawn_file_actions_adddup2(&g.actions, g.fds[1], STDOUT_FILENO);
  // The test runner may block or ignore signals; the peer must see SIGTERM normally.
  sigset_t none, defaults;
  sigemptyset(&none);
  sigemptyset(&defaults);
  for (int sig : {SIGTERM, SIGINT, SIGPIPE, SIGHUP})
    sigaddset(&defaults, sig);
  posix_spawnattr_setsigmask(&g.attr, &none);
  posix_spawnattr_setsigdefault(&g.attr, &defaults);
  posix_spawnattr_setflags(&g.attr, POSIX_SPAWN_SETSIGMASK | POSIX_SPAWN_SETSIGDEF);

  std::vector<char*> argv;
  argv.push_back(const_cast<char*>(program.c_str()));
  for (const auto& a : args)
    argv.push_back(const_cast<char*>(a.c_str()));
  argv.push_back(nullptr);
  if (int err = ::posix_spawn(&pid_, program.c_str(), &g.actions, &g.attr, argv.data(), environ))
    throw_errno(err, "posix_spawn " + program);
  out_fd_ = g.fds[0];
  g.fds[0] = -1;  // ours now; the guard closes the write end
}

child_process::~child_process() {
  stop();
  if (out_fd_ >= 0)
    ::close(out_fd_);
}

bool child_process::read_some(std::chrono::milliseconds wait) {
  if (eof_)
    return false;
  pollfd p{out_fd_, POLLIN, 0};
  int n = ::poll(&p, 1, static_cast<int>(wait.count()));
  if (n <= 0)
    return true;  // timeout, or EINTR: the caller re-checks its deadline
  char buf[4096];
  ssize_t got = ::read(out_fd_, buf, sizeof buf);
  if (got < 0)
    return errno == EINTR || errno == EAGAIN;
  if (got == 0) {
    eof_ = true;
    if (!partial_.empty())
      lines_.push_back(std::move(partial_));
    partial_.clear();
    return false;
  }
  partial_.append(buf, static_cast<std::size_t>(got));
  std::size_t start = 0;
  for (auto nl = partial_.find('\n'); nl != std::string::npos; nl = partial_.find('\n', start)) {
    lines_.push_back(partial_.substr(start, nl - start));
    start = nl + 1;
  }
  partial_.erase(0, start);
  return true;
}

std::optional<std::string> child_process::wait_for_line(std::string_view prefix,
                                                        std::chrono::milliseconds timeout) {
  auto deadline = clock_type::now() + timeout;
  for (;;) {
    for (; next_unmatched_ < lines_.size(); ++next_unmatched_) {
      if (std::string_view{lines_[next_unmatched_]}.starts_with(prefix))
        return lines_[next_unmatched_++];
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(deadline - clock_type::now());
    if (left.count() <= 0 || eof_)
      return std::nullopt;
    read_some(left);
  }
}

void child_process::signal(int sig) {
  if (pid_ > 0 && !status_)
    ::kill(pid_, sig);
}

bool child_process::try_reap() {
  if (status_)
    return true;
  int status = 0;
  pid_t r = ::waitpid(pid_, &status, WNOHANG);
  if (r == pid_) {
    status_ = decode_status(status);
  } else if (r < 0 && errno != EINTR) {
    status_ = -1;  // not our child any more (ECHILD): nothing left to wait for
  }
  return status_.has_value();
}

std::optional<int> child_process::wait_exit(std::chrono::milliseconds timeout) {
  if (pid_ <= 0)
    return std::nullopt;
  auto deadline = clock_type::now() + timeout;
  constexpr auto step = std::chrono::milliseconds(5);
  while (!try_reap()) {
    if (clock_type::now() >= deadline)
      return std::nullopt;
    // Keep draining stdout so a chatty child never blocks on a full pipe while we wait.
    if (eof_)
      std::this_thread::sleep_for(step);
    else
      read_some(step);
  }
  return status_;
}

int child_process::stop(std::chrono::milliseconds grace) {
  if (pid_ <= 0)
    return -1;
  if (try_reap())
    return *status_;
  signal(SIGTERM);
  if (auto s = wait_exit(grace))
    return *s;
  signal(SIGKILL);
  // SIGKILL cannot be caught; the bound only guards against an unkillable (D-state) child.
  if (auto s = wait_exit(std::chrono::seconds(10)))
    return *s;
  return -1;
}

std::string test_binary(std::string_view name) {
  char buf[4096];
  ssize_t n = ::readlink("/proc/self/exe", buf, sizeof buf - 1);
  if (n <= 0)
    throw_errno(errno, "readlink /proc/self/exe");
  std::string self(buf, static_cast<std::size_t>(n));
  auto slash = self.rfind('/');
  return self.substr(0, slash + 1) + std::string(name);
}

}  // namespace achan::test
