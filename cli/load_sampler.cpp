#include "cli/load_sampler.hpp"

#include <sched.h>
#include <sys/resource.h>

#include <algorithm>

namespace achan::cli {

std::chrono::nanoseconds process_cpu_time() {
  rusage u{};
  getrusage(RUSAGE_SELF, &u);
  auto tv = [](const timeval& t) {
    return std::chrono::seconds(t.tv_sec) + std::chrono::microseconds(t.tv_usec);
  };
  return tv(u.ru_utime) + tv(u.ru_stime);
}

unsigned usable_cpus() {
  cpu_set_t set;
  CPU_ZERO(&set);
  if (sched_getaffinity(0, sizeof set, &set) == 0 && CPU_COUNT(&set) > 0)
    return static_cast<unsigned>(CPU_COUNT(&set));
  return std::max(1u, std::thread::hardware_concurrency());
}

double cpu_fraction(std::chrono::nanoseconds cpu, std::chrono::nanoseconds wall, unsigned cpus) {
  if (wall.count() <= 0 || cpus == 0)
    return 0;
  double f = static_cast<double>(cpu.count()) / (static_cast<double>(wall.count()) * cpus);
  return std::clamp(f, 0.0, 1.0);
}

load_sampler::load_sampler(std::shared_ptr<transport::server_metric_recorder> out,
                           std::chrono::milliseconds period)
    : out_(std::move(out)), period_(period), thread_([this] { run(); }) {}

load_sampler::~load_sampler() {
  {
    std::lock_guard lk{mx_};
    stop_ = true;
  }
  cv_.notify_all();
  thread_.join();
}

void load_sampler::run() {
  using clock = std::chrono::steady_clock;
  auto cpus = usable_cpus();
  auto wall = clock::now();
  auto cpu = process_cpu_time();
  std::unique_lock lk{mx_};
  for (;;) {
    if (cv_.wait_until(lk, wall + period_, [this] { return stop_; }))
      return;
    auto now_wall = clock::now();
    auto now_cpu = process_cpu_time();
    auto elapsed = now_wall - wall;
    double seconds = std::chrono::duration<double>(elapsed).count();
    out_->set_cpu_utilization(cpu_fraction(now_cpu - cpu, elapsed, cpus));
    out_->set_qps(static_cast<double>(calls_.exchange(0, std::memory_order_relaxed)) / seconds);
    out_->set_eps(static_cast<double>(failures_.exchange(0, std::memory_order_relaxed)) / seconds);
    wall = now_wall;
    cpu = now_cpu;
  }
}

}  // namespace achan::cli
