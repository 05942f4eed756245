#pragma once
/// Pickers: immutable snapshots a balancing policy publishes; the channel picks from
/// the latest one for every call. A pick takes no lock and allocates nothing (at most
/// it bumps an atomic counter), so one picker may be used from any thread.
#include <cstdint>
#include <memory>
#include <optional>
#include <string_view>
#include <utility>

#include <achan/call_tracker.hpp>
#include <achan/status.hpp>
#include <achan/transport.hpp>

namespace achan {

/// What a picker may know about the call it places. Views into the call: valid only
/// during the pick.
struct pick_info {
  std::string_view method;            ///< "/pkg.Service/Method"
  const metadata* md = nullptr;       ///< request metadata; null means none
  std::optional<std::uint64_t> hash;  ///< call_options::request_hash
};

/// Outcome of one pick. For `complete`, `conn` points at the picker's own shared_ptr
/// (valid as long as the picker; copy it to keep the connection); for `fail`, `error`
/// points into the picker. `trackers` (complete only) are the policy's per-call hooks,
/// valid as long as the picker: the channel attaches them to the call
/// (call::attach_trackers), and each sees the call's end once. Slot 0 is the picking
/// policy's, slot 1 a parent policy's (outlier_detection wraps its child's picker).
struct pick_result {
  enum class kind : std::uint8_t { complete, queue, fail };
  kind what = kind::queue;
  const transport::connection_ptr* conn = nullptr;
  const status* error = nullptr;
  call_tracker* trackers[2] = {nullptr, nullptr};
};

/// An immutable pick snapshot. `pick` is thread-safe, lock-free and allocation-free
/// (at most it touches atomic counters); it may be called from any thread.
class picker {
 public:
  virtual ~picker() = default;
  virtual pick_result pick(const pick_info& info) const noexcept = 0;
};

using picker_ptr = std::shared_ptr<const picker>;

/// Queues every call (CONNECTING / IDLE: nothing to pick yet).
class queue_picker final : public picker {
 public:
  pick_result pick(const pick_info&) const noexcept override { return {}; }
};

/// Fails every call with a fixed status (TRANSIENT_FAILURE); wait_for_ready calls queue instead.
class fail_picker final : public picker {
 public:
  explicit fail_picker(status st) : status_(std::move(st)) {}
  pick_result pick(const pick_info&) const noexcept override {
    return {pick_result::kind::fail, nullptr, &status_};
  }
  const status& error() const noexcept { return status_; }

 private:
  status status_;
};

/// Always returns one connection (pick_first's READY picker).
class single_picker final : public picker {
 public:
  explicit single_picker(transport::connection_ptr c) : conn_(std::move(c)) {}
  pick_result pick(const pick_info&) const noexcept override {
    return {pick_result::kind::complete, &conn_, nullptr};
  }

 private:
  transport::connection_ptr conn_;
};

}  // namespace achan
