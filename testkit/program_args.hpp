#pragma once
/// Command-line plumbing shared by achan's test peers and benchmark programs (not the
/// library): usage errors that exit 2, non-negative number flags, and taking
/// SIGTERM/SIGINT synchronously. Header-only so grpc++-only programs can use it.
#include <pthread.h>
#include <signal.h>

#include <cstdlib>
#include <fstream>
#include <iostream>
#include <sstream>
#include <stdexcept>
#include <string>

namespace achan::testkit {

/// Reports command-line errors for one program.
class program_args {
 public:
  /// `usage` is the synopsis printed after every error ("prog --port P [...]").
  program_args(std::string program, std::string usage)
      : program_(std::move(program)), usage_(std::move(usage)) {}

  /// Prints "<program>: <why>" and the usage line to stderr, then exits with status 2.
  [[noreturn]] void fail(const std::string& why) const {
    std::cerr << program_ << ": " << why << "\nusage: " << usage_ << "\n";
    std::exit(2);
  }

  /// The whole of file `path` (a flag's value, e.g. a PEM file); fail()s if it cannot be
  /// read or is empty.
  std::string read_file(const std::string& path) const {
    std::ifstream in{path, std::ios::binary};
    std::ostringstream text;
    text << in.rdbuf();
    if (!in || text.str().empty())
      fail("cannot read " + path);
    return text.str();
  }

  /// Calls `take(flag, value)` for each "--flag value" pair of argv[1..argc), in order;
  /// fail()s on a flag without a value. `take` returns false for a flag it does not
  /// know, which fail()s with "unknown flag".
  template <class Take>
  void each_flag(int argc, char** argv, Take take) const {
    for (int i = 1; i < argc; i += 2) {
      std::string flag = argv[i];
      if (i + 1 >= argc)
        fail("missing value for " + flag);
      if (!take(flag, std::string{argv[i + 1]}))
        fail("unknown flag " + flag);
    }
  }

  /// `value` of `flag` as a non-negative decimal number; fail()s on anything else.
  long number(const std::string& flag, const std::string& value) const {
    try {
      std::size_t used = 0;
      long n = std::stol(value, &used);
      if (used == value.size() && n >= 0)
        return n;
    } catch (const std::exception&) {
    }
    fail("bad number for " + flag + ": " + value);
  }

 private:
  std::string program_;
  std::string usage_;
};

/// Blocks SIGTERM and SIGINT in the calling thread. Call it before starting any thread
/// (threads inherit the mask), then wait_for_stop() takes the signal synchronously: no
/// async-signal-safety concerns in the program's shutdown code.
inline sigset_t block_stop_signals() {
  sigset_t set;
  sigemptyset(&set);
  sigaddset(&set, SIGTERM);
  sigaddset(&set, SIGINT);
  pthread_sigmask(SIG_BLOCK, &set, nullptr);
  return set;
}

/// Waits until one of the signals blocked by block_stop_signals() arrives; returns it.
inline int wait_for_stop(const sigset_t& set) {
  int sig = 0;
  sigwait(&set, &sig);
  return sig;
}

}  // namespace achan::testkit
