#pragma once
/// A serial executor with a clock, for transports that must run on the channel's
/// clock (the simulated transport runs on CAF's virtual clock in tests).
#include <functional>

#include <achan/call.hpp>

namespace achan::transport {

/// Runs posted functions one at a time (never two concurrently), each after its delay
/// on the executor's clock. Thread-safe to post from anywhere.
class executor {
 public:
  virtual ~executor() = default;
  /// Current time on the executor's clock.
  virtual time_point now() const noexcept = 0;
  /// Runs `fn` after `delay` (0: as soon as possible), serialized with all other posts.
  virtual void post(clock_duration delay, std::function<void()> fn) = 0;
};

using executor_ptr = std::shared_ptr<executor>;

}  // namespace achan::transport
