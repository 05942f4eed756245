#pragma once
// What the control_plane_bench measures share: options, checks, timing and heap helpers.
#include <chrono>
#include <cstddef>
#include <functional>
#include <string>
#include <vector>

#include <achan/connectivity.hpp>

namespace achan::cp_bench {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using achan::connectivity_state;

/// The command line (control_plane_bench.cpp parses it).
struct options {
  std::size_t addresses = 10000;
  int reps = 3;
  std::size_t calls = 100000;
  std::vector<unsigned> connections{1, 100};
  unsigned delay_ms = 60000;
  unsigned deadline_ms = 0;
  std::string achan;   // achan binary for `achan serve`
  std::string target;  // or a running server
  bool resolver = true, idle = true, inflight = true;
};

/// Counts a failed check and says what failed on stderr (the run then exits 1).
void check(bool ok, const std::string& what);
/// How many checks failed so far.
int failed_checks();
double ms_between(clock_type::time_point a, clock_type::time_point b);
double median(std::vector<double> v);
/// Bytes the process has allocated and not freed, in every malloc arena and mmap.
std::size_t heap_bytes();
/// Waits until the heap stops moving (three 50 ms samples in a row within `tolerance`
/// bytes), at most `bound`; returns the last sample. Actors finish initialising and
/// I/O threads drain their queues on their own time, so a single sample can be early.
std::size_t settled_heap(std::size_t tolerance, std::chrono::milliseconds bound = 5s);
/// Polls `done` every millisecond until it holds or `bound` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds bound);
/// `n` addresses "10.<net>.<hi>.<lo>:50051"; lists of different `net` (both one or
/// both two digits) have the same string lengths, address for address.
std::vector<std::string> address_list(int net, std::size_t n);

/// The measures (control_plane_bench.cpp's header says what each does).
void measure_resolver(const options& o);
void measure_idle(const options& o);
void measure_inflight(const options& o, unsigned connections, bool simulated = false);

}  // namespace achan::cp_bench
