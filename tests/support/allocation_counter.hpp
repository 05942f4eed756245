#pragma once
/// Counts the heap allocations the calling thread makes while a counter is alive, through
/// the sanitizer runtime's malloc hooks (ASan and TSan builds): a deterministic measure of
/// work, for tests that bound how a cost grows with its input (wall time is not one).
/// Without a sanitizer runtime `available()` is false and nothing is counted.
#include <cstddef>
#include <cstdint>

// Weak: a build without sanitizers has no such function (its address is then null).
extern "C" int __sanitizer_install_malloc_and_free_hooks(void (*malloc_hook)(const volatile void*,
                                                                             std::size_t),
                                                         void (*free_hook)(const volatile void*))
    __attribute__((weak));

namespace achan::test {

/// Counts allocations of this thread from construction to destruction. One at a time
/// per thread (counters do not nest).
class allocation_counter {
 public:
  /// True if allocations can be counted in this build.
  static bool available() { return install(); }

  allocation_counter() {
    install();
    count_ = 0;
    active_ = true;
  }
  ~allocation_counter() { active_ = false; }
  allocation_counter(const allocation_counter&) = delete;
  allocation_counter& operator=(const allocation_counter&) = delete;

  /// Allocations (malloc, operator new, ...) made by this thread so far.
  std::uint64_t allocations() const noexcept { return count_; }

 private:
  static inline thread_local bool active_ = false;
  static inline thread_local std::uint64_t count_ = 0;

  static void on_malloc(const volatile void*, std::size_t) {
    if (active_)
      ++count_;
  }
  static void on_free(const volatile void*) {}
  /// Hooks stay installed for the rest of the process (the runtime cannot remove them).
  static bool install() {
    static const bool ok = __sanitizer_install_malloc_and_free_hooks != nullptr &&
                           __sanitizer_install_malloc_and_free_hooks(&on_malloc, &on_free) != 0;
    return ok;
  }
};

}  // namespace achan::test
