// Picks per second of each READY-set policy's picker, with the per-call tracker work a
// channel does (attach, end), and a proof that neither allocates.
//
// The allocation check replaces the global operator new with one that counts calls;
// BM_pick_allocations reports the count per pick (must be 0).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include <mutex>

#include "core/balancer/registry.hpp"
#include "tests/support/fake_policy_helper.hpp"

namespace {

std::atomic<std::uint64_t> g_allocations{0};

void* counted_alloc(std::size_t n) {
  g_allocations.fetch_add(1, std::memory_order_relaxed);
  if (void* p = std::malloc(n == 0 ? 1 : n))
    return p;
  throw std::bad_alloc{};
}

}  // namespace

void* operator new(std::size_t n) {
  return counted_alloc(n);
}
void* operator new[](std::size_t n) {
  return counted_alloc(n);
}
void operator delete(void* p) noexcept {
  std::free(p);
}
void operator delete[](void* p) noexcept {
  std::free(p);
}
void operator delete(void* p, std::size_t) noexcept {
  std::free(p);
}
void operator delete[](void* p, std::size_t) noexcept {
  std::free(p);
}

namespace {

/// The lifecycle of one call as the channel runs it: pick, attach the trackers (retain),
/// and end them when the call ends (on_call_end, release).
inline void pick_and_end(const achan::picker& p, const achan::pick_info& info) {
  static const achan::status ok;
  static const achan::metadata none;
  auto r = p.pick(info);
  benchmark::DoNotOptimize(r);
  for (auto* t : r.trackers)
    if (t) {
      t->retain();
      t->on_call_end(achan::call_outcome{ok, none, {}, true});
      t->release();
    }
}

const char* const policies[] = {"round_robin",          "least_request", "peak_ewma",
                                "weighted_round_robin", "ring_hash",     "outlier_detection"};

/// The config each policy is benchmarked with (outlier_detection over round_robin).
std::string config_of(const std::string& name) {
  if (name == "outlier_detection")
    return R"({"childPolicy": [{"round_robin": {}}],
               "failurePercentageEjection": {}, "successRateEjection": {}})";
  return "{}";
}

/// One READY picker per (policy, size), built once with every subchannel READY, so
/// threaded runs share it (the contended case a channel with many calling threads sees).
struct built_policy {
  achan::test::fake_policy_helper helper{1};
  std::unique_ptr<achan::policy> policy;
};

const achan::picker& picker_for(const std::string& name, std::size_t n) {
  static std::map<std::pair<std::string, std::size_t>, std::unique_ptr<built_policy>> built;
  static std::mutex m;  // benchmark set-up only, never around a pick
  std::lock_guard lock{m};
  auto& b = built[{name, n}];
  if (!b) {
    b = std::make_unique<built_policy>();
    b->helper.child_factory = [](const std::string& child, achan::policy_helper& h) {
      return (*achan::policy_registry::builtins().find(child))(h);
    };
    b->policy = (*achan::policy_registry::builtins().find(name))(b->helper);
    std::vector<std::string> addrs;
    for (std::size_t i = 0; i < n; ++i)
      addrs.push_back("10.0.0.1:" + std::to_string(1000 + i));
    b->policy->update_addresses(addrs, achan::lb_config{name, false, config_of(name)});
    b->policy->exit_idle();
    for (auto& a : addrs)
      b->policy->on_subchannel_update(b->helper.ready(b->helper.id_of(a)));
  }
  return *b->helper.picker;
}

/// Arg 0: policy index; arg 1: READY subchannels.
void BM_pick(benchmark::State& state) {
  const std::string name = policies[state.range(0)];
  const auto& p = picker_for(name, static_cast<std::size_t>(state.range(1)));
  achan::pick_info info{"/bench.Service/Call", nullptr, std::nullopt};
  for (auto _ : state)
    pick_and_end(p, info);
  state.SetLabel(name);
  state.SetItemsProcessed(state.iterations());
}

void pick_args(benchmark::internal::Benchmark* b) {
  for (int i = 0; i < int(std::size(policies)); ++i)
    for (int n : {8, 1000})
      b->Args({i, n});
}
BENCHMARK(BM_pick)->Apply(pick_args);
BENCHMARK(BM_pick)->Apply(pick_args)->Threads(2);

void BM_pick_allocations(benchmark::State& state) {
  const std::string name = policies[state.range(0)];
  const auto& p = picker_for(name, static_cast<std::size_t>(state.range(1)));
  achan::pick_info info{"/bench.Service/Call", nullptr, std::nullopt};
  // The count is only a proof if the override is the operator new in use.
  auto probe = g_allocations.load();
  auto* probe_ptr = new int{0};
  benchmark::DoNotOptimize(probe_ptr);
  delete probe_ptr;
  if (g_allocations.load() == probe) {
    state.SkipWithError("counting operator new is not in use");
    return;
  }
  std::uint64_t allocations = 0;
  for (auto _ : state) {
    auto before = g_allocations.load(std::memory_order_relaxed);
    pick_and_end(p, info);
    allocations += g_allocations.load(std::memory_order_relaxed) - before;
  }
  state.SetLabel(name);
  state.counters["allocs_per_pick"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_pick_allocations)->Apply(pick_args);

}  // namespace
