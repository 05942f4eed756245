#include "bench/control_plane/common.hpp"

#include <malloc.h>

#include <algorithm>
#include <cstdio>
#include <thread>

namespace achan::cp_bench {

namespace {
int failed = 0;
}  // namespace

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failed;
    std::fprintf(stderr, "control_plane_bench: CHECK FAILED: %s\n", what.c_str());
  }
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Bytes the process has allocated and not freed, in every malloc arena and mmap.
std::size_t heap_bytes() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/// Waits until the heap stops moving (three 50 ms samples in a row within `tolerance`
/// bytes), at most `bound`; returns the last sample. Actors finish initialising and
/// I/O threads drain their queues on their own time, so a single sample can be early.
std::size_t settled_heap(std::size_t tolerance, std::chrono::milliseconds bound) {
  auto until = clock_type::now() + bound;
  auto prev = heap_bytes();
  int still = 0;
  while (still < 3 && clock_type::now() < until) {
    std::this_thread::sleep_for(50ms);
    auto cur = heap_bytes();
    auto diff = cur > prev ? cur - prev : prev - cur;
    still = diff <= tolerance ? still + 1 : 0;
    prev = cur;
  }
  return prev;
}

/// Polls `done` every millisecond until it holds or `bound` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds bound) {
  auto until = clock_type::now() + bound;
  while (!done()) {
    if (clock_type::now() >= until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// `n` addresses "10.<net>.<hi>.<lo>:50051"; lists of different `net` (both one or
/// both two digits) have the same string lengths, address for address.
std::vector<std::string> address_list(int net, std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("10." + std::to_string(net) + "." + std::to_string(i / 256) + "." +
                  std::to_string(i % 256) + ":50051");
  return out;
}

int failed_checks() {
  return failed;
}

}  // namespace achan::cp_bench
