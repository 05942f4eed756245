// call::attach_trackers against call::finish on two threads: each attached tracker ends
// exactly once, whichever side runs first, and the outcome says whether it was sent.
#include <achan/call.hpp>

#include <doctest/doctest.h>

#include <atomic>
#include <thread>

using namespace achan;

namespace {

struct counting final : call_tracker {
  std::atomic<int> ends{0};
  std::atomic<int> unsent{0};
  void on_call_end(const call_outcome& o) noexcept override {
    ends.fetch_add(1);
    if (!o.sent)
      unsent.fetch_add(1);
  }
};

call_ptr make() {
  return std::make_shared<call>(1, "/m", "", metadata{}, time_point::max(), false,
                                [](call_result&&) {});
}

}  // namespace

TEST_CASE("call_tracker: a tracker attached to a call ends once with the call's status") {
  auto t = make_tracker<counting>();
  auto c = make();
  call_tracker* ts[2] = {t.get(), nullptr};
  c->attach_trackers(ts, time_point{});
  CHECK(t->ends.load() == 0);
  c->fail(status_code::internal, "x");
  CHECK(t->ends.load() == 1);
  CHECK(t->unsent.load() == 0);
  c->fail(status_code::internal, "again");  // the call ended already: nothing more
  CHECK(t->ends.load() == 1);
}

TEST_CASE("call_tracker: attaching to an ended call ends the tracker at once as unsent") {
  auto t = make_tracker<counting>();
  auto c = make();
  c->fail(status_code::cancelled, "gone");
  call_tracker* ts[2] = {nullptr, t.get()};
  c->attach_trackers(ts, time_point{});
  CHECK(t->ends.load() == 1);
  CHECK(t->unsent.load() == 1);
}

TEST_CASE("call_tracker: a second pick ends the first pick's trackers as unsent") {
  auto a = make_tracker<counting>();
  auto b = make_tracker<counting>();
  auto c = make();
  call_tracker* first[2] = {a.get(), nullptr};
  call_tracker* second[2] = {b.get(), nullptr};
  c->attach_trackers(first, time_point{});
  c->attach_trackers(second, time_point{});
  CHECK(a->ends.load() == 1);
  CHECK(a->unsent.load() == 1);
  c->finish(call_result{});
  CHECK(b->ends.load() == 1);
  CHECK(b->unsent.load() == 0);
}

TEST_CASE("call_tracker: a call destroyed without ending ends its trackers as unsent") {
  auto t = make_tracker<counting>();
  {
    auto c = make();
    call_tracker* ts[2] = {t.get(), nullptr};
    c->attach_trackers(ts, time_point{});
  }
  CHECK(t->ends.load() == 1);
  CHECK(t->unsent.load() == 1);
}

TEST_CASE("call_tracker: attach racing finish on two threads ends every tracker exactly once") {
  auto t = make_tracker<counting>();
  constexpr int rounds = 20000;
  for (int i = 0; i < rounds; ++i) {
    auto c = make();
    std::atomic<bool> go{false};
    std::thread finisher{[&] {
      while (!go.load(std::memory_order_acquire)) {
      }
      c->fail(status_code::cancelled, "raced");
    }};
    call_tracker* ts[2] = {t.get(), nullptr};
    go.store(true, std::memory_order_release);
    c->attach_trackers(ts, time_point{});
    finisher.join();
  }
  CHECK(t->ends.load() == rounds);
}
