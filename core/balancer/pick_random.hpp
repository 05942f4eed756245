#pragma once
/// Random numbers for pickers: a pick may run on any thread, must not lock, and a run
/// must repeat under a seed, so each picker draws from a counter-based stream
/// (splitmix64 of an atomic counter) seeded from the balancer's generator.
#include <atomic>
#include <cstdint>

namespace achan {

/// splitmix64's output function: a well-mixed 64-bit value for each input.
inline std::uint64_t splitmix64(std::uint64_t x) noexcept {
  x += 0x9E3779B97F4A7C15ULL;
  x = (x ^ (x >> 30)) * 0xBF58476D1CE4E5B9ULL;
  x = (x ^ (x >> 27)) * 0x94D049BB133111EBULL;
  return x ^ (x >> 31);
}

/// A lock-free random stream: the n-th draw is splitmix64(seed + n·φ). Draws from
/// several threads each get a distinct n; single-threaded use repeats exactly.
class atomic_random {
 public:
  explicit atomic_random(std::uint64_t seed) noexcept : seed_(seed) {}
  std::uint64_t next() const noexcept {
    auto n = n_.fetch_add(1, std::memory_order_relaxed);
    return splitmix64(seed_ + n * 0x9E3779B97F4A7C15ULL);
  }
  /// A value in [0, n) (n > 0) from one draw (Lemire's multiply-shift, no division).
  std::uint64_t below(std::uint64_t n) const noexcept {
    return static_cast<std::uint64_t>((static_cast<unsigned __int128>(next()) * n) >> 64);
  }

 private:
  std::uint64_t seed_;
  mutable std::atomic<std::uint64_t> n_{0};
};

}  // namespace achan
