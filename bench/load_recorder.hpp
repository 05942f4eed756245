#pragma once
/// What both load clients (achan_load, grpcpp_async_client) share, so their runs and
/// JSON lines mean exactly the same thing: the common flags, and the measurement (a
/// fixed window after a warm-up, per-call latency, process CPU time over the window).
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <memory>
#include <string>
#include <thread>

#include "testkit/program_args.hpp"

namespace bench {

using clock_type = std::chrono::steady_clock;

/// The flags both load clients take.
struct load_options {
  std::string target;
  int concurrency = 1;     ///< calls kept in flight
  int duration_ms = 5000;  ///< measured window
  int warmup_ms = 1000;    ///< unmeasured lead-in
  int payload_size = 64;   ///< EchoRequest.payload bytes
  int timeout_ms = 10000;  ///< per-call deadline; 0: none
};

/// Their synopsis, for the usage line.
inline constexpr const char* load_usage =
    "--target HOST:PORT [--concurrency C] [--duration-ms D] [--warmup-ms W] "
    "[--payload-size BYTES] [--timeout-ms T]";

/// Takes `flag` `value` into `o` if it is one of the common flags; false if not.
inline bool parse_load_flag(load_options& o, const std::string& flag, const std::string& v,
                            const achan::testkit::program_args& args) {
  int* field = flag == "--concurrency"    ? &o.concurrency
               : flag == "--duration-ms"  ? &o.duration_ms
               : flag == "--warmup-ms"    ? &o.warmup_ms
               : flag == "--payload-size" ? &o.payload_size
               : flag == "--timeout-ms"   ? &o.timeout_ms
                                          : nullptr;
  if (flag == "--target")
    o.target = v;
  else if (field)
    *field = static_cast<int>(args.number(flag, v));
  else
    return false;
  return true;
}

/// Rejects common-flag combinations no run can use.
inline void check_load_options(const load_options& o, const achan::testkit::program_args& args) {
  if (o.target.empty())
    args.fail("--target is required");
  if (o.concurrency < 1 || o.duration_ms < 1)
    args.fail("--concurrency and --duration-ms must be at least 1");
}

/// Process CPU time (user + sys) in microseconds.
inline double cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

/// Measurement window and results. The window's bounds are fixed before the first call;
/// a timer thread samples CPU time at both ends and then raises `stop`.
class recorder {
 public:
  recorder(int warmup_ms, int duration_ms)
      : start_(clock_type::now() + std::chrono::milliseconds(warmup_ms)),
        end_(start_ + std::chrono::milliseconds(duration_ms)),
        duration_ms_(duration_ms),
        cap_(static_cast<std::size_t>(duration_ms) * 500 + 100000),
        lat_ns_(new std::uint64_t[cap_]) {}

  /// Records one finished call (completion thread).
  void record(clock_type::time_point started, bool ok) {
    if (!ok) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto now = clock_type::now();
    if (now < start_ || now >= end_)
      return;
    auto i = n_.fetch_add(1, std::memory_order_relaxed);
    if (i < cap_)
      lat_ns_[i] = static_cast<std::uint64_t>((now - started).count());
  }

  /// Runs the window on its own thread: sample CPU, wait, sample CPU, stop.
  std::thread timer() {
    return std::thread([this] {
      std::this_thread::sleep_until(start_);
      cpu0_ = cpu_us();
      std::this_thread::sleep_until(end_);
      cpu1_ = cpu_us();
      stop_.store(true, std::memory_order_release);
    });
  }

  bool stopped() const { return stop_.load(std::memory_order_acquire); }
  std::int64_t errors() const { return errors_.load(); }

  /// Prints the JSON line; call after the timer thread has been joined.
  void report(const char* client, int concurrency) {
    std::size_t n = std::min<std::size_t>(n_.load(), cap_);
    std::int64_t count = static_cast<std::int64_t>(n_.load());
    std::sort(lat_ns_.get(), lat_ns_.get() + n);
    auto pct = [&](double p) {
      if (n == 0)
        return 0.0;
      std::size_t i = std::min(n - 1, static_cast<std::size_t>(p * static_cast<double>(n)));
      return static_cast<double>(lat_ns_[i]) / 1000.0;
    };
    double secs = duration_ms_ / 1000.0;
    std::printf(
        "{\"client\":\"%s\",\"concurrency\":%d,\"count\":%lld,\"errors\":%lld,\"qps\":%.1f,"
        "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"cpu_us_per_call\":%.2f}\n",
        client, concurrency, static_cast<long long>(count), static_cast<long long>(errors()),
        static_cast<double>(count) / secs, pct(0.50), pct(0.90), pct(0.99),
        count > 0 ? (cpu1_ - cpu0_) / static_cast<double>(count) : 0.0);
    std::fflush(stdout);
  }

 private:
  clock_type::time_point start_, end_;
  int duration_ms_;
  std::size_t cap_;
  std::unique_ptr<std::uint64_t[]> lat_ns_;
  std::atomic<std::size_t> n_{0};
  std::atomic<std::int64_t> errors_{0};
  std::atomic<bool> stop_{false};
  double cpu0_ = 0, cpu1_ = 0;
};

}  // namespace bench
