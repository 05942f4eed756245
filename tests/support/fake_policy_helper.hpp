#pragma once
/// A policy_helper that records what a policy asks of its balancer, so policy tests run
/// as plain function calls: create the policy with it, feed updates, inspect the record.
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <map>
#include <memory>
#include <optional>
#include <random>
#include <string>
#include <utility>
#include <vector>

#include <achan/policy.hpp>
#include "tests/support/fake_connection.hpp"

namespace achan::test {

/// A clock the test moves by hand.
struct fake_lb_clock final : lb_clock {
  time_point t{std::chrono::seconds{1000}};
  time_point now() const noexcept override { return t; }
};

/// Records every helper call. Subchannel ids start at 1 and are never reused. Not
/// thread-safe (policies are called on one actor).
class fake_policy_helper final : public policy_helper {
 public:
  struct subchannel {
    subchannel_id id = 0;
    std::string address;
    bool shut_down = false;
  };

  explicit fake_policy_helper(std::uint64_t seed = 42) : rng_(seed) {}

  // policy_helper ------------------------------------------------------------------

  subchannel_id create_subchannel(const std::string& address) override {
    auto id = next_id_++;
    subchannels_.emplace(id, subchannel{id, address, false});
    created.push_back(id);
    return id;
  }
  void connect(subchannel_id id) override { connects.push_back(id); }
  void shutdown_subchannel(subchannel_id id) override {
    shutdowns.push_back(id);
    if (auto it = subchannels_.find(id); it != subchannels_.end())
      it->second.shut_down = true;
  }
  void update_state(connectivity_state s, picker_ptr p) override {
    states.push_back(s);
    state = s;
    picker = std::move(p);
  }
  void request_reresolution() override { ++reresolutions; }
  std::mt19937_64& random() override { return rng_; }
  bool defer_evaluation() override {
    deferrals += defer ? 1 : 0;
    return defer;
  }
  void run_after(clock_duration d, std::function<void()> fn) override {
    timers_.emplace(clock_->t + d, std::move(fn));
  }
  std::function<void(subchannel_id)> connector() override {
    return [this](subchannel_id id) { async_connects.push_back(id); };
  }
  std::shared_ptr<const lb_clock> clock() override { return clock_; }
  std::unique_ptr<policy> create_policy(const std::string& name, policy_helper& h) override {
    return child_factory ? child_factory(name, h) : nullptr;
  }
  std::uint32_t address_weight(const std::string& address) const override {
    auto it = weights.find(address);
    return it == weights.end() ? 1 : it->second;
  }
  /// The resolver's static weights address_weight() answers (absent: 1).
  std::map<std::string, std::uint32_t> weights;

  // Time ----------------------------------------------------------------------------

  time_point now() const noexcept { return clock_->t; }
  /// Moves the clock forward by `d`, firing due run_after timers in time order (each at
  /// its own time; timers they arm are fired too if due).
  void advance(clock_duration d) {
    auto end = clock_->t + d;
    while (!timers_.empty() && timers_.begin()->first <= end) {
      auto node = timers_.extract(timers_.begin());
      clock_->t = node.key();
      node.mapped()();
    }
    clock_->t = end;
  }
  std::size_t pending_timers() const noexcept { return timers_.size(); }
  /// What create_policy builds (outlier_detection's child); unset: nothing.
  std::function<std::unique_ptr<policy>(const std::string&, policy_helper&)> child_factory;

  // The record -----------------------------------------------------------------------

  std::vector<subchannel_id> created;       ///< create_subchannel results, in order
  std::vector<subchannel_id> connects;      ///< connect() arguments, in order
  std::vector<subchannel_id> shutdowns;     ///< shutdown_subchannel() arguments, in order
  std::vector<connectivity_state> states;   ///< every published state, in order
  std::optional<connectivity_state> state;  ///< the last published state
  picker_ptr picker;                        ///< the last published picker
  int reresolutions = 0;
  /// What defer_evaluation() answers (the balancer answers true), and how often it did.
  bool defer = false;
  int deferrals = 0;
  std::vector<subchannel_id> async_connects;  ///< connector() calls, in order

  /// How many update_state calls were made.
  std::size_t publishes() const noexcept { return states.size(); }

  /// The live (not shut down) subchannel for `address`; 0 if none.
  subchannel_id id_of(const std::string& address) const {
    for (const auto& [id, sc] : subchannels_)
      if (sc.address == address && !sc.shut_down)
        return id;
    return 0;
  }
  /// The address a subchannel was created for ("" if unknown).
  std::string address_of(subchannel_id id) const {
    auto it = subchannels_.find(id);
    return it == subchannels_.end() ? std::string{} : it->second.address;
  }
  bool is_shut_down(subchannel_id id) const {
    auto it = subchannels_.find(id);
    return it != subchannels_.end() && it->second.shut_down;
  }
  /// Addresses of live subchannels, sorted.
  std::vector<std::string> live_addresses() const {
    std::vector<std::string> out;
    for (const auto& [id, sc] : subchannels_)
      if (!sc.shut_down)
        out.push_back(sc.address);
    std::sort(out.begin(), out.end());
    return out;
  }
  /// How often connect() was called for `id`.
  std::size_t connect_count(subchannel_id id) const {
    return static_cast<std::size_t>(std::count(connects.begin(), connects.end(), id));
  }

  // Updates a test feeds to the policy -------------------------------------------------

  /// A READY update carrying a fresh fake_connection to the subchannel's address.
  subchannel_update ready(subchannel_id id) const {
    return {id, connectivity_state::ready, {}, make_fake_connection(address_of(id))};
  }
  static subchannel_update connecting(subchannel_id id) {
    return {id, connectivity_state::connecting, {}, nullptr};
  }
  /// An IDLE update: after backoff, or a READY connection that was lost.
  static subchannel_update idle(subchannel_id id, std::string why = {}) {
    status st;
    if (!why.empty())
      st = {status_code::unavailable, std::move(why)};
    return {id, connectivity_state::idle, std::move(st), nullptr};
  }
  static subchannel_update failed(subchannel_id id, std::string why = "connection refused") {
    return {id,
            connectivity_state::transient_failure,
            {status_code::unavailable, std::move(why)},
            nullptr};
  }

 private:
  std::mt19937_64 rng_;
  std::shared_ptr<fake_lb_clock> clock_ = std::make_shared<fake_lb_clock>();
  std::multimap<time_point, std::function<void()>> timers_;
  subchannel_id next_id_ = 1;
  std::map<subchannel_id, subchannel> subchannels_;
};

}  // namespace achan::test
