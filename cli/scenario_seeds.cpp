// Seeds in parallel, outcomes in order: see scenario_seeds.hpp.
#include "cli/scenario_seeds.hpp"

#include <condition_variable>
#include <map>
#include <mutex>
#include <thread>
#include <vector>

namespace achan::cli {

void run_seeds(std::uint64_t first, std::uint64_t count, unsigned jobs,
               const std::function<seed_outcome(std::uint64_t)>& run,
               const std::function<bool(seed_outcome&&)>& sink) {
  if (jobs <= 1 || count <= 1) {
    for (std::uint64_t i = 0; i < count; ++i)
      if (!sink(run(first + i)))
        return;
    return;
  }
  std::mutex mx;
  std::condition_variable cv;
  std::map<std::uint64_t, seed_outcome> done;  // by index
  std::uint64_t next_take = 0, next_give = 0;
  bool stop = false;
  const std::uint64_t window = 2 * static_cast<std::uint64_t>(jobs);
  auto worker = [&] {
    for (;;) {
      std::uint64_t i;
      {
        std::unique_lock lk{mx};
        cv.wait(lk, [&] { return stop || next_take >= count || next_take < next_give + window; });
        if (stop || next_take >= count)
          return;
        i = next_take++;
      }
      auto o = run(first + i);
      std::lock_guard lk{mx};
      done.emplace(i, std::move(o));
      cv.notify_all();
    }
  };
  std::vector<std::thread> pool;
  for (unsigned j = 0; j < jobs && j < count; ++j)
    pool.emplace_back(worker);
  for (std::uint64_t i = 0; i < count; ++i) {
    seed_outcome o;
    {
      std::unique_lock lk{mx};
      cv.wait(lk, [&] { return done.count(i) > 0; });
      auto it = done.find(i);
      o = std::move(it->second);
      done.erase(it);
      next_give = i + 1;
      cv.notify_all();
    }
    if (!sink(std::move(o))) {
      std::lock_guard lk{mx};
      stop = true;
      cv.notify_all();
      break;
    }
  }
  for (auto& t : pool)
    t.join();
}

}  // namespace achan::cli
