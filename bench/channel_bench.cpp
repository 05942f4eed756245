// Whole control-plane cost per call: calls per second through dial() → channel actor
// → round_robin picker → simulated connection (zero latency, echo) → completion, with
// a fixed number of calls in flight, on CAF's real scheduler. The simulated transport
// runs on one actor, so this measures achan's per-call overhead, not any network.
#include <benchmark/benchmark.h>

#include <atomic>
#include <condition_variable>
#include <mutex>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/actor_executor.hpp>
#include <achan/channel.hpp>
#include <achan/simulated_transport.hpp>

namespace {

using namespace std::chrono_literals;

/// Keeps `depth` calls in flight until `total` have completed.
class closed_loop {
 public:
  closed_loop(achan::channel& ch, std::int64_t total) : ch_(ch), left_(total) {}

  void run(int depth) {
    for (int i = 0; i < depth; ++i)
      issue();
    std::unique_lock lk{mx_};  // the benchmark thread only; not on any actor
    cv_.wait(lk, [&] { return done_; });
  }

  std::int64_t errors() const { return errors_; }

 private:
  void issue() {
    if (started_.fetch_add(1) >= left_)
      return;
    ch_.call("/bench.Echo/Unary",
             "0123456789abcdef0123456789abcdef0123456789abcdef0123456789abcdef", {},
             [this](achan::call_result&& r) {
               if (!r.status.ok())
                 errors_.fetch_add(1);
               if (finished_.fetch_add(1) + 1 == left_) {
                 std::lock_guard lk{mx_};
                 done_ = true;
                 cv_.notify_one();
               } else {
                 issue();
               }
             });
  }

  achan::channel& ch_;
  std::int64_t left_;
  std::atomic<std::int64_t> started_{0}, finished_{0}, errors_{0};
  std::mutex mx_;
  std::condition_variable cv_;
  bool done_ = false;
};

void BM_channel_unary(benchmark::State& state) {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::int64_t errors = 0, calls = 0;
  {
    auto sim =
        std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
    achan::dial_options opts;
    opts.lb_policy = "round_robin";
    opts.transport = sim;
    opts.block_until_ready = 5s;
    auto ch = achan::dial(sys, "ipv4:127.0.0.1:1,127.0.0.1:2,127.0.0.1:3,127.0.0.1:4", opts);
    if (!ch) {
      state.SkipWithError("dial failed");
      return;
    }
    for (auto _ : state) {
      closed_loop loop{*ch, 20000};
      loop.run(static_cast<int>(state.range(0)));
      errors += loop.errors();
      calls += 20000;
    }
    ch->close();
  }
  state.SetItemsProcessed(calls);
  state.counters["errors"] = static_cast<double>(errors);
}

}  // namespace

BENCHMARK(BM_channel_unary)
    ->Arg(1)
    ->Arg(64)
    ->Arg(1024)
    ->Unit(benchmark::kMillisecond)
    ->UseRealTime();
