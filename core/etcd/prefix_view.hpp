#pragma once
/// The etcd resolver's model of one prefix: list it (paged Range at one revision), then
/// follow a Watch from the next revision, and turn the keys into complete address
/// lists. A plain class (no CAF, no I/O): the actor shell (actors/resolver/
/// etcd_resolver.cpp) sends the requests it builds and feeds it the answers.
///
///   list:  first_page() → on_page(...) → next page ... → complete (revision() = R)
///   watch: watch_request() from R+1 → on_watch(...) per response:
///          changed (publish current()), relist (compacted), rewatch (cancelled), nothing
///
/// Resuming a watch from revision()+1 on another member neither loses nor repeats an
/// update: events at or below the revision already applied are skipped.
#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <achan/result.hpp>

#include "core/etcd/endpoint_value.hpp"
#include "core/etcd/etcd_wire.hpp"

namespace achan::etcd {

/// What the prefix's keys say now.
struct prefix_snapshot {
  std::vector<std::string> addresses;         ///< in key order, each address once
  std::vector<std::uint32_t> weights;         ///< parallel to addresses; empty if all are 1
  std::optional<std::string> service_config;  ///< the `_grpc_config` key's value
};

class prefix_view {
 public:
  /// Keys under `prefix` (used as given: "svc/echo/" holds "svc/echo/a"). At most
  /// `max_keys` keys are held: a listing with more fails, watch events beyond it are
  /// skipped with a note. `page_size` keys per Range page.
  explicit prefix_view(std::string prefix, std::size_t max_keys = 100000,
                       std::int64_t page_size = 1000);

  const std::string& prefix() const noexcept { return prefix_; }
  /// The revision the view reflects (0 before the first complete listing).
  std::int64_t revision() const noexcept { return revision_; }
  /// True once a listing completed.
  bool listed() const noexcept { return revision_ > 0; }

  /// Starts a (re-)listing: the first page's request. Keys held so far stay until the
  /// listing completes.
  range_request first_page();
  /// Feeds the answer to the last page requested: the next page's request, or nullopt
  /// when the listing is complete (the view then holds exactly the listed keys).
  /// RESOURCE_EXHAUSTED past max_keys; INTERNAL if the answer is inconsistent.
  result<std::optional<range_request>> on_page(const range_response& page);

  /// The watch to create: the prefix from revision()+1.
  watch_create watch_request() const;
  enum class watch_step { nothing, changed, relist, rewatch };
  /// Feeds one WatchResponse of the current watch.
  watch_step on_watch(const watch_response& w);

  /// The keys as addresses, weights and service config.
  prefix_snapshot current() const;
  /// Messages about skipped values and watch trouble since the last call.
  std::vector<std::string> take_notes() { return std::exchange(notes_, {}); }

 private:
  void put(std::map<std::string, endpoint_value>& into, const key_value& kv);

  std::string prefix_, range_end_;
  std::size_t max_keys_;
  std::int64_t page_size_;
  std::map<std::string, endpoint_value> keys_;
  std::int64_t revision_ = 0;
  // The listing in progress.
  std::map<std::string, endpoint_value> staging_;
  std::int64_t staging_revision_ = 0;
  std::string last_key_;
  // Events at or below this were applied (kept across a fragmented response).
  std::int64_t skip_through_ = 0;
  bool in_fragment_ = false;
  std::vector<std::string> notes_;
};

}  // namespace achan::etcd
