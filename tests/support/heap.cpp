#include "tests/support/heap.hpp"

#include <fstream>
#include <string>

#if defined(__SANITIZE_ADDRESS__)
#define ACHAN_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define ACHAN_TEST_ASAN 1
#endif
#endif

#if defined(ACHAN_TEST_ASAN)
#if __has_include(<sanitizer/allocator_interface.h>)
#include <sanitizer/allocator_interface.h>
#else
// GCC 12 ships no allocator_interface.h, but its libasan exports the function (the same
// declaration as in compiler-rt's header).
extern "C" std::size_t __sanitizer_get_current_allocated_bytes();
#endif
#else
#include <malloc.h>
#endif

namespace achan::test {

std::size_t heap_in_use() {
#if defined(ACHAN_TEST_ASAN)
  return __sanitizer_get_current_allocated_bytes();
#else
  auto m = ::mallinfo2();
  return m.uordblks + m.hblkhd;
#endif
}

std::size_t rss_bytes(int pid) {
  std::ifstream in("/proc/" + (pid == 0 ? std::string("self") : std::to_string(pid)) + "/status");
  std::string line;
  while (std::getline(in, line))
    if (line.rfind("VmRSS:", 0) == 0)
      return std::stoull(line.substr(6)) * 1024;  // "VmRSS:    1234 kB"
  return 0;
}

}  // namespace achan::test
