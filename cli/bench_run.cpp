#include "cli/bench_run.hpp"

#include <sys/resource.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <thread>

namespace achan::cli {
namespace {

using clock_type = std::chrono::steady_clock;

double cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) { return static_cast<double>(t.tv_sec) * 1e6 + t.tv_usec; };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

/// Shared by the issuing thread and the completion callbacks (achan threads).
class load {
 public:
  load(channel& ch, const bench_settings& s) : ch_(ch), s_(s) {}

  /// Starts one call. `scheduled` is when it should have started (open loop: latency
  /// is measured from then, so a slow server cannot hide queueing).
  void launch(clock_type::time_point scheduled, bool measured) {
    in_flight_.fetch_add(1, std::memory_order_relaxed);
    ch_.call(s_.method, s_.request, s_.options,
             [this, scheduled, measured](call_result&& r) { finished(scheduled, measured, r); });
  }

  /// Claims the right to start one more call; false once the run stops starting calls.
  bool claim(bool& measured) {
    if (stopping_.load(std::memory_order_acquire))
      return false;
    measured = clock_type::now() >= measure_start_;
    if (measured && s_.total && claimed_.fetch_add(1, std::memory_order_relaxed) >= *s_.total) {
      stop_issuing();
      return false;
    }
    return true;
  }

  void stop_issuing() { stopping_.store(true, std::memory_order_release); }
  bool stopping() const { return stopping_.load(std::memory_order_acquire); }

  /// Waits until nothing is in flight or `until` passes; true if drained. Once it
  /// returns true no completion touches the load any more (finished() decrements under
  /// m_ as its last step), so the caller may destroy it.
  bool wait_drained(clock_type::time_point until) {
    std::unique_lock lock{m_};
    return cv_.wait_until(lock, until, [&] { return in_flight_.load() == 0; });
  }

  bench_progress progress() {
    std::lock_guard lock{m_};
    bench_progress p;
    p.count = result_.count;
    p.errors = result_.count - result_.ok;
    p.elapsed_s = std::chrono::duration<double>(clock_type::now() - measure_start_).count();
    return p;
  }

  clock_type::time_point measure_start_;
  bool closed_loop = true;
  bench_result result_;
  clock_type::time_point last_finish_;
  std::mutex m_;

 private:
  void finished(clock_type::time_point scheduled, bool measured, call_result& r) {
    auto now = clock_type::now();
    if (measured) {
      std::lock_guard lock{m_};
      ++result_.count;
      if (r.status.ok()) {
        ++result_.ok;
        auto ns = static_cast<std::uint64_t>((now - scheduled).count());
        result_.latency.record(ns);
        if (!r.peer.empty())
          result_.per_backend_latency[r.peer].record(ns);
      } else {
        auto code = std::string{to_string(r.status.code)};
        if (++result_.errors[code] == 1)
          result_.error_examples[code] = r.status.message;
      }
      if (!r.peer.empty())
        ++result_.per_backend[r.peer];
      last_finish_ = std::max(last_finish_, now);
    }
    bool next_measured = false;
    if (closed_loop && claim(next_measured))
      launch(now, next_measured);
    // Last touch of the load: under the lock, so a waiter sees 0 (and may destroy the
    // load) only after this completion has released m_ and will not touch it again.
    std::lock_guard lock{m_};
    if (in_flight_.fetch_sub(1, std::memory_order_acq_rel) == 1)
      cv_.notify_all();
  }

  channel& ch_;
  const bench_settings& s_;
  std::atomic<bool> stopping_{false};
  std::atomic<std::uint64_t> claimed_{0};
  std::atomic<std::int64_t> in_flight_{0};
  std::condition_variable cv_;
};

}  // namespace

bench_result run_bench_load(channel& ch, const bench_settings& s,
                            const std::function<void(const bench_progress&)>& progress,
                            std::chrono::milliseconds progress_every) {
  load l{ch, s};
  auto t0 = clock_type::now();
  l.measure_start_ = t0 + s.warmup;
  l.last_finish_ = l.measure_start_;
  auto end = s.duration ? l.measure_start_ + *s.duration : clock_type::time_point::max();
  double cpu0 = 0;
  bool cpu_sampled = s.warmup.count() == 0;
  if (cpu_sampled)
    cpu0 = cpu_us();
  auto next_progress = t0 + progress_every;
  auto tick = [&](clock_type::time_point now) {
    if (!cpu_sampled && now >= l.measure_start_) {
      cpu0 = cpu_us();
      cpu_sampled = true;
    }
    if (now >= end)
      l.stop_issuing();
    if (now >= next_progress) {
      if (progress)
        progress(l.progress());
      next_progress = now + progress_every;
    }
  };

  if (!s.rate) {
    for (unsigned i = 0; i < s.concurrency; ++i) {
      bool measured = false;
      if (!l.claim(measured))
        break;
      l.launch(clock_type::now(), measured);
    }
    // The completions keep the loop going; this thread only watches the clock.
    while (!l.stopping()) {
      auto wake = std::min(end, next_progress);
      if (!cpu_sampled)
        wake = std::min(wake, l.measure_start_);  // sample CPU when the warm-up ends
      if (l.wait_drained(wake))
        break;
      tick(clock_type::now());
    }
  } else {
    l.closed_loop = false;
    auto interval = std::chrono::duration_cast<clock_type::duration>(
        std::chrono::duration<double>(1.0 / *s.rate));
    auto at = t0;
    for (;;) {
      auto now = clock_type::now();
      tick(now);
      if (at > now)
        std::this_thread::sleep_until(std::min({at, next_progress, end}));
      now = clock_type::now();
      if (now < at)
        continue;
      bool measured = false;
      if (!l.claim(measured))
        break;
      l.launch(at, measured);
      at += interval;
    }
  }
  l.stop_issuing();
  double cpu1 = cpu_us();
  if (!l.wait_drained(clock_type::now() + s.drain)) {
    ch.close();  // every call still in flight ends now (UNAVAILABLE), counted as an error
    l.wait_drained(clock_type::time_point::max());
  }
  std::lock_guard lock{l.m_};
  auto r = std::move(l.result_);
  r.duration_s =
      std::max(0.0, std::chrono::duration<double>(l.last_finish_ - l.measure_start_).count());
  if (r.count > 0 && cpu_sampled)
    r.cpu_us_per_call = (cpu1 - cpu0) / static_cast<double>(r.count);
  return r;
}

}  // namespace achan::cli
