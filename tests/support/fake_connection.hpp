#pragma once
/// A transport::connection that goes nowhere, for policy, picker and channel tests.
#include <atomic>
#include <cstddef>
#include <memory>
#include <mutex>
#include <string>
#include <utility>
#include <vector>

#include <achan/call.hpp>
#include <achan/transport.hpp>

namespace achan::test {

/// Remembers the calls started on it and whether it was closed; never finishes a call
/// (the test does, through the recorded call_ptr). Thread-safe like any connection.
class fake_connection final : public transport::connection {
 public:
  explicit fake_connection(std::string address) : address_(std::move(address)) {}

  const std::string& address() const noexcept override { return address_; }

  void start_call(const call_ptr& c) override {
    std::lock_guard lock{mutex_};  // test-only: calls may be started from several threads
    started_.push_back(c);
  }

  void cancel_call(const call_ptr& c) override {
    std::lock_guard lock{mutex_};
    cancelled_.push_back(c);
  }

  void close() override { closed_.store(true, std::memory_order_release); }

  /// Calls started so far, in order.
  std::vector<call_ptr> started_calls() const {
    std::lock_guard lock{mutex_};
    return started_;
  }
  /// Calls cancelled so far, in order.
  std::vector<call_ptr> cancelled_calls() const {
    std::lock_guard lock{mutex_};
    return cancelled_;
  }
  bool closed() const noexcept { return closed_.load(std::memory_order_acquire); }

 private:
  std::string address_;
  mutable std::mutex mutex_;
  std::vector<call_ptr> started_;
  std::vector<call_ptr> cancelled_;
  std::atomic<bool> closed_{false};
};

inline std::shared_ptr<fake_connection> make_fake_connection(std::string address) {
  return std::make_shared<fake_connection>(std::move(address));
}

}  // namespace achan::test
