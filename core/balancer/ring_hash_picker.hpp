#pragma once
/// ring_hash's ring and picker (gRFC A42, A76): the ring is built once per address list on
/// the balancer actor and shared by every picker built from it; a picker is a snapshot of
/// the endpoints' states over that ring. Private to achan_core (XXH64 is libxxhash's).
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include <achan/connectivity.hpp>
#include <achan/picker.hpp>
#include <achan/policy.hpp>
#include <achan/status.hpp>
#include <achan/transport.hpp>

namespace achan {

/// One point on the ring: its hash and the endpoint (index into the policy's address list)
/// it belongs to.
struct ring_entry {
  std::uint64_t hash = 0;
  std::uint32_t endpoint = 0;
  friend bool operator==(const ring_entry&, const ring_entry&) = default;
};

/// A ring: entries sorted by hash (then endpoint), immutable once built.
using hash_ring = std::vector<ring_entry>;

/// XXH64 with seed 0 (the hash gRFC A42 names), of `bytes`.
std::uint64_t xxh64(std::string_view bytes) noexcept;

/// XXH64 of the values of `key` (lower-case) in `md`, joined with "," when it is repeated
/// (gRFC A76); none if `md` has no such entry. Allocation-free.
std::optional<std::uint64_t> header_hash(const metadata& md, std::string_view key) noexcept;

/// Builds the ring exactly as gRPC's ring_hash does: endpoint i (hash key `keys[i]`, its
/// address) gets a share of the ring in proportion to `weights[i]` (0 counts as 1); the size
/// is the smallest multiple that gives the least-weighted endpoint a whole number of entries
/// at `min_ring_size`, at most `max_ring_size`; entry j of an endpoint hashes
/// "<key>_<j>"; the result is sorted by hash. `keys` and `weights` have the same size, at
/// most 2^32 - 1; both ring sizes are >= 1. Runs on the balancer actor: about 0.2 µs per
/// entry.
hash_ring build_ring(const std::vector<std::string>& keys,
                     const std::vector<std::uint32_t>& weights, std::uint64_t min_ring_size,
                     std::uint64_t max_ring_size);

/// Where a request hash lands: the first entry whose hash is >= `hash`, or entry 0 when
/// `hash` is above them all (the ring wraps). `ring` must not be empty.
std::size_t ring_index(const hash_ring& ring, std::uint64_t hash) noexcept;

/// What a picker is told about one endpoint (in the ring's endpoint order).
struct ring_endpoint_state {
  subchannel_id id = 0;
  /// As ring_hash reports it (a subchannel failing keeps TRANSIENT_FAILURE while it
  /// retries, until it is READY).
  connectivity_state state = connectivity_state::idle;
  transport::connection_ptr conn;  ///< READY only
  status failure;                  ///< TRANSIENT_FAILURE only: what a pick failing here says
};

/// ring_hash's picker. Any thread may call pick(): no lock, no allocation; it reads the
/// snapshot and touches atomics (the random-hash counter, one connect-requested flag per
/// endpoint, so a picker asks for each endpoint's connection at most once).
///
///   request hash: pick_info::hash if set; else XXH64 of the `request_hash_header` values
///   if configured and present; else a random hash (splitmix64 over an atomic counter
///   seeded by the policy's seeded generator).
///   From the ring entry of that hash, walking the ring:
///     given hash:  first READY -> complete; IDLE -> connect it, queue; CONNECTING -> queue;
///                  TRANSIENT_FAILURE -> go on with the next entry.
///     random hash: first READY -> complete; on the way, asks for one IDLE endpoint's
///                  connection unless one is CONNECTING or this picker already asked
///                  for one for a random pick; then queue.
///   No READY/IDLE/CONNECTING endpoint: fail (UNAVAILABLE) with the first entry's failure.
class ring_hash_picker final : public picker {
 public:
  /// `ring` must not be empty and name only endpoints in `endpoints`. `connect` is the
  /// helper's connector (thread-safe): called with an IDLE endpoint's id from pick().
  ring_hash_picker(std::shared_ptr<const hash_ring> ring,
                   const std::vector<ring_endpoint_state>& endpoints,
                   std::string request_hash_header, std::function<void(subchannel_id)> connect,
                   std::uint64_t seed);

  /// The walk above. Any thread; no lock, no allocation (the connector it may call sends
  /// a message: that is the control plane's cost, once per endpoint and picker).
  pick_result pick(const pick_info& info) const noexcept override;

  /// The state the picker holds for endpoint `i` (tests, diagnostics).
  connectivity_state state(std::size_t i) const noexcept { return endpoints_[i].state; }
  /// The ring this picker walks (shared with the policy's other pickers).
  const hash_ring& ring() const noexcept { return *ring_; }

 private:
  struct endpoint {
    subchannel_id id = 0;
    connectivity_state state = connectivity_state::idle;
    transport::connection_ptr conn;
    status failure;
    mutable std::atomic<bool> connect_requested{false};
  };

  /// Asks for `e`'s connection unless this picker did already.
  void request_connect(const endpoint& e) const noexcept;
  std::uint64_t random_hash() const noexcept;
  pick_result walk(std::size_t first) const noexcept;
  pick_result walk_random(std::size_t first) const noexcept;
  pick_result fail_at(std::size_t first) const noexcept;

  std::shared_ptr<const hash_ring> ring_;
  std::unique_ptr<endpoint[]> endpoints_;
  std::string header_;
  std::function<void(subchannel_id)> connect_;
  bool any_connecting_ = false;
  bool any_usable_ = false;  ///< some endpoint is not in TRANSIENT_FAILURE
  // Relaxed is enough for both: they order no other memory.
  mutable std::atomic<std::uint64_t> random_state_;
  mutable std::atomic<bool> random_connect_requested_{false};
};

}  // namespace achan
