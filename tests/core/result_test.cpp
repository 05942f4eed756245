// achan::result: the library's one value-or-error type.
#include <doctest/doctest.h>

#include <string>
#include <vector>

#include <achan/result.hpp>

using achan::result;
using achan::status;
using achan::status_code;

namespace {
result<int> half(int x) {
  if (x % 2)
    return status{status_code::invalid_argument, "odd: " + std::to_string(x)};
  return x / 2;
}
}  // namespace

TEST_CASE("result: holds a value or an error status") {
  auto ok = half(8);
  REQUIRE(ok);
  CHECK(*ok == 4);
  CHECK(ok.error().ok());  // no error: an OK status, not an exception
  auto bad = half(3);
  CHECK_FALSE(bad);
  CHECK(bad.error().code == status_code::invalid_argument);
  CHECK(bad.error().message == "odd: 3");
  CHECK(bad.value_or(-1) == -1);
}

TEST_CASE("result: an OK status given as an error still reads as an error") {
  result<std::vector<int>> r{status{}};
  CHECK_FALSE(r.ok());
  CHECK(r.error().code == status_code::internal);
}

TEST_CASE("result<void>: success or a status") {
  result<void> fine;
  CHECK(fine);
  result<void> wrong{status{status_code::invalid_argument, "no"}};
  CHECK_FALSE(wrong);
  CHECK(wrong.error().message == "no");
  CHECK(result<void>{status{}}.ok());
}
