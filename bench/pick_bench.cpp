// rr_picker::pick({}) throughput and a proof that a pick allocates nothing.
//
// The allocation check replaces the global operator new with one that counts calls;
// BM_rr_pick_allocations reports the count per pick (must be 0).
#include <benchmark/benchmark.h>

#include <atomic>
#include <cstdlib>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <vector>

#include "core/balancer/rr_picker.hpp"
#include "tests/support/fake_connection.hpp"

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

/// One shared picker per size, built once so threaded runs share the same counter
/// (the contended case a channel with many calling threads sees).
const achan::rr_picker& picker_for(std::size_t n) {
  static const auto pickers = [] {
    std::map<std::size_t, std::unique_ptr<achan::rr_picker>> m;
    for (std::size_t k : {1, 8, 1000}) {
      std::vector<achan::transport::connection_ptr> conns;
      for (std::size_t i = 0; i < k; ++i)
        conns.push_back(achan::test::make_fake_connection("10.0.0.1:" + std::to_string(i)));
      m.emplace(k, std::make_unique<achan::rr_picker>(std::move(conns), 0));
    }
    return m;
  }();
  return *pickers.at(n);
}

void BM_rr_pick(benchmark::State& state) {
  const auto& p = picker_for(static_cast<std::size_t>(state.range(0)));
  for (auto _ : state)
    benchmark::DoNotOptimize(p.pick({}));
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_rr_pick)->Arg(1)->Arg(8)->Arg(1000);
BENCHMARK(BM_rr_pick)->Arg(1)->Arg(8)->Arg(1000)->Threads(2);

void BM_rr_pick_allocations(benchmark::State& state) {
  const auto& p = picker_for(static_cast<std::size_t>(state.range(0)));
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
    benchmark::DoNotOptimize(p.pick({}));
    allocations += g_allocations.load(std::memory_order_relaxed) - before;
  }
  state.counters["allocs_per_pick"] =
      benchmark::Counter(static_cast<double>(allocations), benchmark::Counter::kAvgIterations);
  state.SetItemsProcessed(state.iterations());
}
BENCHMARK(BM_rr_pick_allocations)->Arg(1)->Arg(8)->Arg(1000);

}  // namespace
