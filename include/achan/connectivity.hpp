#pragma once
/// Connectivity states and the aggregation rule that turns subchannel states into a
/// channel state. Pure C++, no CAF.
#include <array>
#include <cstddef>
#include <cstdint>
#include <string_view>

namespace achan {

/// gRPC connectivity states. SHUTDOWN is final.
enum class connectivity_state : std::uint8_t {
  idle,
  connecting,
  ready,
  transient_failure,
  shutdown
};

/// "IDLE", "CONNECTING", "READY", "TRANSIENT_FAILURE", "SHUTDOWN".
std::string_view to_string(connectivity_state s) noexcept;

/// A change of the channel's state, as watchers see it.
struct state_change {
  connectivity_state from = connectivity_state::idle;
  connectivity_state to = connectivity_state::idle;
};
/// Counts subchannels per state and derives the aggregate: READY if any is READY, else
/// CONNECTING if any is, else IDLE if any is, else TRANSIENT_FAILURE (also for zero
/// subchannels). SHUTDOWN subchannels are not counted. Like grpc-go's
/// ConnectivityStateEvaluator, callers report transitions, not snapshots.
class state_counter {
 public:
  /// Records that one subchannel moved from `from` to `to` (use `shutdown` as `from`
  /// for a new subchannel and as `to` for a removed one).
  void record(connectivity_state from, connectivity_state to) noexcept;
  /// The aggregate over the recorded subchannels.
  connectivity_state aggregate() const noexcept;
  /// How many subchannels are currently in `s`.
  std::size_t count(connectivity_state s) const noexcept {
    return counts_[static_cast<std::size_t>(s)];
  }

 private:
  std::array<std::size_t, 5> counts_{};
};

}  // namespace achan
