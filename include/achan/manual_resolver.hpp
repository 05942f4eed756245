#pragma once
/// A resolver the program drives: it pushes complete address lists, errors and a
/// balancer choice, as grpc-go's manual resolver does. Useful for service discovery
/// that lives elsewhere in the program, and for tests.
///
///   auto r = std::make_shared<achan::manual_resolver>(sys);          // scheme "manual"
///   opts.resolvers.push_back(r);
///   auto ch = achan::dial(sys, "manual:///backends", opts);
///   r->update({"10.0.0.1:50051", "10.0.0.2:50051"});
#include <atomic>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <achan/resolver.hpp>

namespace achan {

/// Manual resolver. Serves one channel at a time (the last one dialed with it); the
/// last pushed state is replayed to a channel when it starts resolving. All members
/// are thread-safe.
class manual_resolver final : public resolver_builder {
 public:
  /// Spawns the resolver's actor in `sys`; targets use `scheme`, e.g. "manual:///x".
  explicit manual_resolver(caf::actor_system& sys, std::string scheme = "manual");
  ~manual_resolver() override;

  /// Pushes a complete address list, optionally with a balancer choice (as a service
  /// config would); the channel's balancer diffs it against what it has.
  void update(std::vector<std::string> addresses, std::optional<lb_config> config = std::nullopt);
  /// Pushes a complete address list with a service config in gRPC's JSON schema, as a
  /// resolver that found one would (<achan/service_config.hpp>). The channel validates
  /// it: an invalid one keeps the channel's previous config (gRFC A21).
  void update_with_service_config(std::vector<std::string> addresses,
                                  std::string service_config_json);
  /// Pushes a complete address list in which each address carries a static weight
  /// (resolver_update::weights; 0 counts as 1), as a registry with endpoint weights
  /// would: ring_hash gives each its share of the ring, weighted_round_robin uses them
  /// until load reports arrive.
  void update_weighted(std::vector<std::pair<std::string, std::uint32_t>> weighted,
                       std::optional<lb_config> config = std::nullopt);
  /// Reports a resolution failure (`error.code` should be UNAVAILABLE).
  void fail(status error);
  /// How many resolve_now requests the channel has made so far.
  std::size_t resolve_now_count() const noexcept { return counter_->load(); }

  std::string scheme() const override { return scheme_; }
  result<void> validate(const target&) const override { return {}; }
  resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink,
                       std::uint64_t seed) override;

 private:
  std::string scheme_;
  std::shared_ptr<std::atomic<std::size_t>> counter_;
  caf::actor actor_;  // the resolver actor (typed handle kept in the .cpp)
};

}  // namespace achan
