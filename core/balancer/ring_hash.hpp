#pragma once
/// ring_hash: consistent hashing over the addresses (gRFC A42, with A76's
/// requestHashHeader). Calls with the same request hash go to the same backend while it is
/// READY; adding or removing one of n addresses moves about 1/n of the hashes.
///
///   subchannels start IDLE and connect only when a pick lands on them (lazy), or through
///   the proactive connect below. As ring_hash sees an endpoint:
///     READY -> IDLE (connection lost)      IDLE: re-resolution requested, no reconnect
///     TRANSIENT_FAILURE                    sticky until READY: CONNECTING and IDLE reports
///                                          still count as TRANSIENT_FAILURE, and IDLE
///                                          (backoff over) reconnects at once
///   aggregate (gRFC A42), over the endpoints' states as above:
///     1. any READY                         -> READY
///     2. >= 2 TRANSIENT_FAILURE            -> TRANSIENT_FAILURE
///     3. any CONNECTING                    -> CONNECTING
///     4. 1 TRANSIENT_FAILURE, > 1 endpoint -> CONNECTING
///     5. any IDLE                          -> IDLE
///     6. otherwise                         -> TRANSIENT_FAILURE
///   In CONNECTING or TRANSIENT_FAILURE with none CONNECTING, the first IDLE endpoint is
///   connected, so the policy recovers without picks. Every state change of an endpoint
///   publishes a ring_hash_picker (ring_hash_picker.hpp); an empty address list or a
///   resolver error before any addresses publishes a fail_picker.
#include <cstdint>
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <achan/policy.hpp>
#include <achan/result.hpp>
#include "core/balancer/ring_hash_picker.hpp"
#include "core/balancer/subchannel_list.hpp"

namespace achan {

/// ring_hash's config object (loadBalancingConfig `{"ring_hash": {...}}`).
struct ring_hash_config {
  /// Ring size bounds, 1..max_ring_size_limit each, min <= max. The ring has at least
  /// min_ring_size entries (rounded up so every endpoint gets a whole number), at most
  /// max_ring_size, and at most the policy's ring size cap (ring_hash's constructor).
  std::uint64_t min_ring_size = 1024;  ///< "minRingSize"
  std::uint64_t max_ring_size = 4096;  ///< "maxRingSize"
  /// "requestHashHeader" (gRFC A76), lower-cased: calls without call_options::request_hash
  /// hash this header's values; empty: none (such calls get a random hash).
  std::string request_hash_header;
  friend bool operator==(const ring_hash_config&, const ring_hash_config&) = default;
};

/// The largest minRingSize/maxRingSize accepted (gRFC A42: 8M, as Envoy).
constexpr std::uint64_t max_ring_size_limit = 8'388'608;

/// Parses ring_hash's config object `json` ("{}" gives the defaults). Errors are
/// INVALID_ARGUMENT naming the field under `path`, e.g.
/// "loadBalancingConfig[0].ring_hash.minRingSize: must be an integer from 1 to 8388608,
/// not 0". requestHashHeader must be a valid metadata key ([0-9a-z_.-] after
/// lower-casing); pseudo-headers (":authority") and binary headers ("-bin") are refused as
/// in gRFC A76. Unknown fields are ignored. Any thread.
result<ring_hash_config> parse_ring_hash_config(std::string_view json, const std::string& path);

/// The "ring_hash" policy (alias "ring_hash_experimental"). Created by the balancer actor
/// through the registry and called only on that actor (see `policy`).
class ring_hash final : public policy {
 public:
  /// gRPC's default local cap on the ring size: configs asking for more get this many.
  static constexpr std::uint64_t default_ring_size_cap = 4096;

  /// `helper` must outlive the policy. `ring_size_cap` bounds both ring sizes of any config
  /// (a service config may come from a peer, and each entry costs 16 bytes).
  explicit ring_hash(policy_helper& helper, std::uint64_t ring_size_cap = default_ring_size_cap);

  /// Adopts the list and `cfg.config` (parse_ring_hash_config). Duplicate addresses are one
  /// endpoint with a weight of its count (its share of the ring). The same list and config
  /// as before change nothing; otherwise subchannels of kept addresses stay, new ones are
  /// created IDLE (not connected), the ring is rebuilt and a picker published. An empty list
  /// shuts everything down and reports TRANSIENT_FAILURE "resolver returned an empty
  /// address list"; an invalid config reports TRANSIENT_FAILURE with the parse error and
  /// changes nothing else.
  void update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) override;
  /// Reports TRANSIENT_FAILURE "resolver error: <message>" when there are no subchannels;
  /// otherwise ignored (the existing ones keep serving).
  void resolver_error(const status& st) override;
  /// Applies the rules above; asks for re-resolution when a subchannel leaves READY or the
  /// aggregate enters TRANSIENT_FAILURE. With a deferring helper, an update that keeps the
  /// aggregate state waits for flush().
  void on_subchannel_update(const subchannel_update& u) override;
  /// No-op: ring_hash connects what picks land on (each pick that meets an IDLE endpoint
  /// asks for it through helper.connector()), so a waiting call wakes only its endpoint.
  void exit_idle() override {}
  /// Shuts down every subchannel; later calls are ignored.
  void shutdown() override;
  /// Publishes what updates deferred by defer_evaluation() left unpublished.
  void flush() override;

  /// The config in use (after an update); the ring size cap applied to its sizes.
  const ring_hash_config& config() const noexcept { return config_; }

 private:
  struct endpoint_info {
    bool sticky_failure = false;   ///< failed since it was last READY
    bool connect_pending = false;  ///< we asked an IDLE subchannel to connect
  };

  connectivity_state effective(const subchannel_entry& e) const noexcept;
  connectivity_state aggregate() const noexcept;
  void recount();
  void connect(const subchannel_entry& e);
  void evaluate();
  void publish_failure(std::string message);

  policy_helper& helper_;
  std::uint64_t ring_size_cap_;
  std::function<void(subchannel_id)> connector_;
  ring_hash_config config_;
  std::optional<std::vector<std::string>> addresses_;  ///< the list last adopted
  subchannel_list list_;
  std::unordered_map<subchannel_id, endpoint_info> info_;
  state_counter counts_;  ///< over effective() states
  std::shared_ptr<const hash_ring> ring_;
  std::optional<connectivity_state> published_;
  bool policy_failure_ = false;  ///< the published TF is ours (config, list, resolver)
  bool shut_down_ = false;
  bool dirty_ = false;  ///< endpoint changes not published yet (deferred to flush())
};

}  // namespace achan
