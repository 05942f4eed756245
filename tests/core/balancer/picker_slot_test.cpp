// picker_slot: lock-free publication of picker snapshots with deferred reclamation.
#include "core/balancer/picker_slot.hpp"

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace achan;

namespace {

/// A picker that knows whether it is still alive (checked by readers).
class tracked_picker final : public picker {
 public:
  explicit tracked_picker(std::atomic<int>& live) : live_(live) { ++live_; }
  ~tracked_picker() override {
    magic_ = 0;
    --live_;
  }
  pick_result pick(const pick_info&) const noexcept override { return {}; }
  bool alive() const noexcept { return magic_ == 0x5eed; }

 private:
  std::atomic<int>& live_;
  volatile int magic_ = 0x5eed;
};

bool read_alive(const picker_slot& s) {
  bool alive = false;
  s.with([&](const picker& p) noexcept { alive = static_cast<const tracked_picker&>(p).alive(); });
  return alive;
}

}  // namespace

TEST_CASE("picker_slot: readers see the published snapshot - none before the first") {
  std::atomic<int> live{0};
  picker_slot s;
  CHECK_FALSE(s.with([](const picker&) noexcept {}));
  s.publish(std::make_shared<tracked_picker>(live));
  CHECK(read_alive(s));
  s.publish(nullptr);
  CHECK_FALSE(s.with([](const picker&) noexcept {}));
  CHECK(live == 0);  // nothing pinned: the replaced snapshot was freed at once
}

TEST_CASE("picker_slot: a snapshot pinned by a reader outlives its replacement until reclaim") {
  std::atomic<int> live{0};
  picker_slot s;
  s.publish(std::make_shared<tracked_picker>(live));
  bool still_alive = false;
  s.with([&](const picker& p) noexcept {
    s.publish(std::make_shared<tracked_picker>(live));  // the writer replaces it meanwhile
    still_alive = static_cast<const tracked_picker&>(p).alive();
  });
  CHECK(still_alive);
  CHECK(s.kept() == 2);  // the writer saw a reader: the old snapshot waits
  CHECK(live == 2);
  s.reclaim();
  CHECK(s.kept() == 1);
  CHECK(live == 1);
}

TEST_CASE("picker_slot: concurrent readers never see a freed snapshot") {
  std::atomic<int> live{0};
  picker_slot s;
  s.publish(std::make_shared<tracked_picker>(live));
  std::atomic<bool> stop{false};
  std::atomic<long> reads{0}, dead{0};
  std::thread reader([&] {
    while (!stop.load()) {
      s.with([&](const picker& p) noexcept {
        if (!static_cast<const tracked_picker&>(p).alive())
          ++dead;
      });
      ++reads;
    }
  });
  for (int i = 0; i < 20000; ++i)
    s.publish(std::make_shared<tracked_picker>(live));
  stop = true;
  reader.join();
  s.reclaim();
  CHECK(dead == 0);
  CHECK(reads > 0);
  CHECK(s.kept() == 1);
  CHECK(live == 1);
}
