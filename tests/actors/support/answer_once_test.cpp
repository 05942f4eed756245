// answer_once (actors/support/answer_once.hpp): every copy shares one answer, which
// runs exactly once — taken by one copy, or "dropped" when the last copy goes.
#include <doctest/doctest.h>

#include <functional>
#include <memory>
#include <optional>
#include <thread>
#include <vector>

#include <achan/answer_once.hpp>

using namespace achan;

namespace {

/// A holder whose value is the number it answers with, and a log of what was answered.
struct recorded {
  std::shared_ptr<std::vector<int>> answers = std::make_shared<std::vector<int>>();
  answer_once<int> make(int value) {
    return answer_once<int>{value, [log = answers](int& v) { log->push_back(v); }};
  }
};

}  // namespace

TEST_CASE("answer_once: copies dropped untaken answer the dropped value exactly once") {
  recorded r;
  {
    auto a = r.make(7);
    auto b = a;
    auto c = std::move(b);
    answer_once<int> d;
    d = c;
    CHECK(a.pending());
    CHECK(r.answers->empty());  // copies remain
  }
  CHECK(*r.answers == std::vector<int>{7});
}

TEST_CASE("answer_once: a copy that takes the answer stops every copy from answering dropped") {
  recorded r;
  std::optional<int> taken;
  {
    auto a = r.make(7);
    auto b = a;
    taken = b.take();
    CHECK_FALSE(a.pending());
    CHECK_FALSE(a.take());  // only the first taker gets it
    CHECK_FALSE(b.take());
  }
  CHECK(taken == 7);
  CHECK(r.answers->empty());
}

TEST_CASE("answer_once: an empty holder has nothing to take and answers nothing") {
  answer_once<std::function<void()>> empty;
  CHECK_FALSE(empty.pending());
  CHECK_FALSE(empty.take());
  auto copy = empty;
  CHECK_FALSE(copy.take());
}

TEST_CASE("answer_once: concurrent takes from copies on two threads hand the answer to one") {
  for (int round = 0; round < 200; ++round) {
    recorded r;
    auto a = r.make(round);
    auto b = a;
    std::optional<int> got_a, got_b;
    std::thread t{[&] { got_a = a.take(); }};
    got_b = b.take();
    t.join();
    CHECK(got_a.has_value() != got_b.has_value());
  }
}
