#pragma once
/// `achan serve --orca`: the server-wide ORCA values (include/achan/server_metrics.hpp)
/// measured on the running process — CPU utilization, calls and errors per second —
/// refreshed once per period on a thread of its own.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <memory>
#include <mutex>
#include <thread>

#include <achan/server_metrics.hpp>

namespace achan::cli {

/// CPU time (user + system, every thread) the process has used so far.
std::chrono::nanoseconds process_cpu_time();

/// CPUs this process may run on (its affinity mask), at least 1.
unsigned usable_cpus();

/// The share of `cpus` cores that `cpu` time over `wall` time is, in [0, 1]; 0 when no
/// time passed.
double cpu_fraction(std::chrono::nanoseconds cpu, std::chrono::nanoseconds wall, unsigned cpus);

/// Samples every `period`: sets cpu_utilization (cpu_fraction of the period), qps and eps
/// (calls and failures counted during the period, per second) on `out`. Nothing is set
/// before the first period ends. Stops and joins in the destructor.
class load_sampler {
 public:
  explicit load_sampler(std::shared_ptr<transport::server_metric_recorder> out,
                        std::chrono::milliseconds period = std::chrono::seconds(1));
  ~load_sampler();
  load_sampler(const load_sampler&) = delete;
  load_sampler& operator=(const load_sampler&) = delete;

  /// Counts a call / a failed call; any thread, lock-free.
  void count_call() noexcept { calls_.fetch_add(1, std::memory_order_relaxed); }
  void count_failure() noexcept { failures_.fetch_add(1, std::memory_order_relaxed); }

 private:
  void run();

  const std::shared_ptr<transport::server_metric_recorder> out_;
  const std::chrono::milliseconds period_;
  std::atomic<std::uint64_t> calls_{0};
  std::atomic<std::uint64_t> failures_{0};
  std::mutex mx_;  // with cv_: the destructor wakes the sampling thread at once
  std::condition_variable cv_;
  bool stop_ = false;  // guarded by mx_
  std::thread thread_;
};

}  // namespace achan::cli
