#pragma once
/// The library's one value-or-error type: a `T`, or a status (never OK) saying what went
/// wrong. Functions `return value;` or `return status{code, "message"};`. No exceptions
/// cross achan's API for expected failures; caf::expected appears only where CAF needs it
/// (dial() returns one, since its errors are CAF error codes users match on).
///
///   auto t = achan::parse_target("dns:///svc:50051", registered);
///   if (!t) { std::cerr << t.error().message << "\n"; return; }
///   use(t->endpoint);
#include <type_traits>
#include <utility>
#include <variant>

#include <achan/status.hpp>

namespace achan {

/// A `T`, or a non-OK status.
template <class T>
class result {
 public:
  /// A value.
  result(T value) : v_(std::in_place_index<0>, std::move(value)) {}
  /// An error. An OK status is not an error: it becomes INTERNAL "error result with an OK
  /// status", so a result is never empty-handed.
  result(status error) : v_(std::in_place_index<1>, ensure_error(std::move(error))) {}

  /// True when a value is held.
  bool ok() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return ok(); }

  /// The value; only when ok().
  T& operator*() & { return std::get<0>(v_); }
  const T& operator*() const& { return std::get<0>(v_); }
  T&& operator*() && { return std::get<0>(std::move(v_)); }
  T* operator->() { return &std::get<0>(v_); }
  const T* operator->() const { return &std::get<0>(v_); }
  /// The value, or `fallback` when there is none.
  T value_or(T fallback) const& { return ok() ? std::get<0>(v_) : std::move(fallback); }

  /// The error; an OK status (empty message) when there is a value.
  const status& error() const& {
    static const status none;
    return ok() ? none : std::get<1>(v_);
  }
  status error() && { return ok() ? status{} : std::get<1>(std::move(v_)); }

 private:
  static status ensure_error(status st) {
    if (st.ok())
      st = {status_code::internal, "error result with an OK status"};
    return st;
  }
  std::variant<T, status> v_;
};

/// Success (nothing more to say), or a non-OK status: what validate() functions return.
template <>
class result<void> {
 public:
  /// Success.
  result() = default;
  /// An error, or success if `st` is OK.
  result(status st) : st_(std::move(st)) {}

  bool ok() const noexcept { return st_.ok(); }
  explicit operator bool() const noexcept { return ok(); }
  /// The error; OK (empty) on success.
  const status& error() const noexcept { return st_; }

 private:
  status st_;
};

}  // namespace achan
