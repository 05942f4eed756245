#pragma once
// `achan scenario run --seeds A..B --jobs N`: seeds run on N threads, each run_sim in an
// actor system of its own, their outcomes handed back in seed order.
#include <cstdint>
#include <functional>
#include <string>

#include <achan/scenario.hpp>

namespace achan::cli {

/// One seed's run and its verdict (`why`: the determinism check's complaint, if any).
struct seed_outcome {
  std::uint64_t seed = 0;
  scenario::run_result run;
  bool ok = false;
  std::string why;
};

/// Runs the `count` seeds from `first` with `run` on `jobs` threads (1: on the calling
/// thread) and gives each outcome to `sink` on the calling thread, in seed order. A
/// false from `sink` stops the rest (runs under way finish first). At most 2 × jobs
/// outcomes wait to be handed on, so memory does not grow with the number of seeds.
void run_seeds(std::uint64_t first, std::uint64_t count, unsigned jobs,
               const std::function<seed_outcome(std::uint64_t)>& run,
               const std::function<bool(seed_outcome&&)>& sink);

}  // namespace achan::cli
