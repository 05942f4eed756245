#pragma once
/// answer_once<T>: the one-shot answer a message carries (a callback, a call, a server
/// responder), shared by every copy of the message so that it is answered exactly once:
/// by the handler that take()s it, or, if no copy was taken, with the "dropped" answer
/// when the last copy is destroyed (the receiver stopped before handling the message).
///
/// Why not move-only: CAF 0.17 requires every message type to be copy-constructible
/// (type_erased_value::copy is virtual, so it is instantiated for each type) and copies a
/// message's content when it is shared and a handler takes it by mutable reference.
/// Payloads that answered from their own destructor were therefore copyable, and every
/// copy answered: a copy dropped after the handler had moved the answer out of another
/// ended a call the handler still served, and two dropped copies answered twice (a
/// std::promise set twice aborts the program). Here the copies share one state instead.
///
///   struct wait_msg {
///     answer_once<std::function<void(bool)>> done;  // dropped: done(false)
///   };
///   // handler:  if (auto fn = m.done.take()) (*fn)(true);
#include <atomic>
#include <functional>
#include <memory>
#include <optional>
#include <type_traits>
#include <utility>

namespace achan {

/// Holds a one-shot answer `T` for every copy of a message. Copies are cheap (one
/// shared pointer) and share the answer; take() from any copy, on any thread, hands it out
/// to exactly one caller. A default-constructed holder is empty: take() gives nullopt and
/// nothing is answered.
template <class T>
class answer_once {
 public:
  /// What to do with the answer when nobody took it (called with the untaken value).
  using dropped_fn = std::function<void(T&)>;

  /// Empty: nothing to take, nothing answered.
  answer_once() = default;
  /// Holds `value`. If no copy take()s it, `if_dropped(value)` runs once, on the thread
  /// that destroys the last copy; it must not throw (it runs in a destructor).
  answer_once(T value, dropped_fn if_dropped)
      : s_(std::make_shared<shared>(std::move(value), std::move(if_dropped))) {}

  /// The answer, to the first caller among all copies; nullopt to every later caller and
  /// for an empty holder. Whoever gets the value owns answering it; `if_dropped` will not
  /// run. Thread-safe.
  std::optional<T> take() noexcept(std::is_nothrow_move_constructible_v<T>) {
    if (!s_ || s_->taken.exchange(true, std::memory_order_acq_rel))
      return std::nullopt;
    return std::optional<T>{std::move(s_->value)};
  }

  /// True while the answer is held and not taken by any copy. A hint only when other
  /// threads hold copies.
  bool pending() const noexcept { return s_ && !s_->taken.load(std::memory_order_acquire); }

 private:
  struct shared {
    T value;
    dropped_fn if_dropped;
    std::atomic<bool> taken{false};
    shared(T v, dropped_fn d) : value(std::move(v)), if_dropped(std::move(d)) {}
    shared(const shared&) = delete;
    shared& operator=(const shared&) = delete;
    ~shared() {
      // The last owner's release of the shared pointer orders this after every take().
      if (!taken.load(std::memory_order_relaxed) && if_dropped)
        if_dropped(value);
    }
  };
  std::shared_ptr<shared> s_;
};

}  // namespace achan
