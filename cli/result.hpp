#pragma once
/// The value-or-error type of the `achan` command's building blocks (.proto loading,
/// JSON mapping, reflection): either a value or ONE line of text that the command prints
/// as is ("echo.proto:12:3: Expected ';'"). No exceptions leave these pieces.
#include <string>
#include <utility>
#include <variant>

namespace achan::cli {

/// The error side of a result: one line for the user, without a trailing newline.
struct failure {
  std::string message;
};

/// A `T`, or a failure. Converts from either, so functions `return value;` or
/// `return failure{"..."};`.
template <class T>
class result {
 public:
  result(T value) : v_(std::move(value)) {}
  result(failure f) : v_(std::move(f)) {}

  /// True when a value is held.
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; only when ok().
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }

  /// The message; only when !ok().
  const std::string& error() const { return std::get<1>(v_).message; }

 private:
  std::variant<T, failure> v_;
};

}  // namespace achan::cli
