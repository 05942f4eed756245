#pragma once
/// The address → subchannel map both built-in policies keep. Pure C++, no CAF: a policy
/// owns one list and calls it from its own methods (so on the balancer actor).
#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <achan/connectivity.hpp>
#include <achan/policy.hpp>
#include <achan/status.hpp>
#include <achan/transport.hpp>

namespace achan {

/// One subchannel as its policy last saw it.
struct subchannel_entry {
  std::string address;
  subchannel_id id = 0;
  connectivity_state state = connectivity_state::idle;
  status last_error;               ///< the last non-OK status reported (kept across retries)
  transport::connection_ptr conn;  ///< set only while `state` is READY
};

/// The subchannels of one policy, keyed by address. Entries are kept in the order of the latest
/// address list; duplicate addresses collapse to the first occurrence. A state_counter over the
/// entries is kept in sync, so `counter().aggregate()` is the policy's raw aggregate state.
class subchannel_list {
 public:
  /// Diffs `addresses` (a complete list) against the current entries: entries for
  /// addresses that stay keep their subchannel and state, new addresses get a subchannel
  /// from `helper.create_subchannel` (IDLE, not connected), removed ones are shut down
  /// with `helper.shutdown_subchannel`. New subchannels are created before removed ones
  /// are shut down. Returns whether the set of addresses changed (a pure reordering
  /// returns false but still reorders the entries).
  bool update(const std::vector<std::string>& addresses, policy_helper& helper);

  /// Records a state change reported by the balancer. Returns the entry's previous state,
  /// or nullopt if `u.id` is not in the list (e.g. a late update for a removed
  /// subchannel, which the caller must ignore). `conn` is kept only for READY; a non-OK
  /// `last_error` replaces the entry's and becomes `last_failure()` when `u.state` is
  /// TRANSIENT_FAILURE.
  std::optional<connectivity_state> apply(const subchannel_update& u);

  /// Shuts down one subchannel and drops its entry. Returns false if `id` is unknown.
  /// O(size()): to drop all but one, use retain_only.
  bool remove(subchannel_id id, policy_helper& helper);

  /// Shuts down every subchannel but `keep` (in list order) and drops their entries, in
  /// O(size()). Returns false, changing nothing, if `keep` is unknown.
  bool retain_only(subchannel_id keep, policy_helper& helper);

  /// Shuts down every subchannel and empties the list (policy shutdown, empty list).
  void shutdown_all(policy_helper& helper);

  /// The entry for `id`, or nullptr. Invalidated by update/remove/shutdown_all.
  const subchannel_entry* find(subchannel_id id) const noexcept;
  /// The entry for `address`, or nullptr. Invalidated like `find`.
  const subchannel_entry* find_address(std::string_view address) const noexcept;

  const std::vector<subchannel_entry>& entries() const noexcept { return entries_; }
  const state_counter& counter() const noexcept { return counter_; }
  bool empty() const noexcept { return entries_.empty(); }
  std::size_t size() const noexcept { return entries_.size(); }

  /// The most recent TRANSIENT_FAILURE reported by an entry still in the list, or nullptr.
  const subchannel_entry* last_failure() const noexcept;

  /// The message a policy puts in its fail_picker when every address fails, e.g.
  /// "all 3 addresses failing; last error: connection refused (127.0.0.1:5001)".
  std::string failure_summary() const;

 private:
  void reindex();
  subchannel_entry* entry(subchannel_id id) noexcept;

  std::vector<subchannel_entry> entries_;
  /// id → position in entries_, so a state change costs O(1) with 10 000 subchannels.
  std::unordered_map<subchannel_id, std::size_t> position_;
  state_counter counter_;
  std::optional<subchannel_id> last_failure_;
};

}  // namespace achan
