// The balancer actor hosting a user policy that breaks the policy contract: it forgets
// to shut its subchannels down. The balancer must not route their later updates to the
// retired (destroyed) policy.
#include <doctest/doctest.h>

#include <memory>
#include <vector>

#include <caf/send.hpp>
#include <caf/typed_event_based_actor.hpp>

#include "actors/balancer/balancer.hpp"
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using cs = connectivity_state;

namespace {

/// Creates and connects one subchannel per address and never shuts any down.
class forgetful_policy final : public policy {
 public:
  forgetful_policy(policy_helper& h, std::shared_ptr<int> updates)
      : helper_(h), updates_(std::move(updates)) {}
  void update_addresses(const std::vector<std::string>& addresses, const lb_config&) override {
    for (auto& a : addresses)
      helper_.connect(helper_.create_subchannel(a));
  }
  void resolver_error(const status&) override {}
  void on_subchannel_update(const subchannel_update&) override { ++*updates_; }
  void exit_idle() override {}
  void shutdown() override {}  // the bug: its subchannels stay

 private:
  policy_helper& helper_;
  std::shared_ptr<int> updates_;
};

picker_sink spawn_picker_log(caf::actor_system& sys, std::shared_ptr<std::vector<cs>> log) {
  auto fn = [](picker_sink::pointer,
               std::shared_ptr<std::vector<cs>> log) -> picker_sink::behavior_type {
    return {[log](picker_update& u) { log->push_back(u.state); }, [](config_update&) {}};
  };
  return sys.spawn(fn, std::move(log));
}

}  // namespace

TEST_CASE("balancer: subchannels a retired user policy forgot are shut down and stay silent") {
  test::actor_fixture f;
  auto updates = std::make_shared<int>(0);
  auto pickers = std::make_shared<std::vector<cs>>();
  auto events = std::make_shared<std::vector<channel_event>>();
  balancer_config cfg;
  cfg.initial = lb_config{"forgetful"};
  cfg.policies = policy_registry::with_builtins();
  cfg.policies.add("forgetful", [updates](policy_helper& h) {
    return std::make_unique<forgetful_policy>(h, updates);
  });
  cfg.transport = f.sim;
  cfg.seed = 1;
  cfg.channel = spawn_picker_log(f.sys, pickers);
  cfg.observer = [events](const channel_event& e) { events->push_back(e); };
  auto b = spawn_balancer(f.sys, cfg);

  caf::anon_send(b, resolver_update{{"10.0.0.1:1"}, lb_config{"forgetful"}, {}});
  f.run();
  REQUIRE(f.sim->stats("10.0.0.1:1").open == 1);
  auto seen = *updates;
  CHECK(seen > 0);  // CONNECTING, READY

  // The forgetful policy publishes nothing, so pick_first replaces it at once.
  caf::anon_send(b, resolver_update{{"10.0.0.2:1"}, lb_config{"pick_first"}, {}});
  f.run();
  REQUIRE(!pickers->empty());
  CHECK(pickers->back() == cs::ready);
  CHECK(f.sim->stats("10.0.0.1:1").open == 0);  // shut down with its policy
  bool reported = false;
  for (auto& e : *events)
    reported |= e.what == channel_event::kind::subchannel_state && e.subchannel == 1 &&
                e.to == cs::shutdown;
  CHECK(reported);

  // Updates for the forgotten subchannel (a lost connection, a late message) reach no one.
  f.sim->drop("10.0.0.1:1");
  caf::anon_send(b, subchannel_update{1, cs::idle, {status_code::unavailable, "late"}, nullptr});
  f.run();
  CHECK(*updates == seen);

  caf::anon_send(b, balancer_shutdown{});
  f.run();
}

TEST_CASE("balancer: a service config the resolver could not fetch does not fail the channel") {
  test::actor_fixture f;
  auto pickers = std::make_shared<std::vector<cs>>();
  auto events = std::make_shared<std::vector<channel_event>>();
  balancer_config cfg;
  cfg.policies = policy_registry::with_builtins();
  cfg.transport = f.sim;
  cfg.seed = 1;
  cfg.channel = spawn_picker_log(f.sys, pickers);
  cfg.observer = [events](const channel_event& e) { events->push_back(e); };
  auto b = spawn_balancer(f.sys, cfg);
  resolver_update fetch_failed;
  fetch_failed.addresses = {"10.0.0.1:1"};
  fetch_failed.service_config_error = {status_code::unavailable, "TXT lookup timed out"};
  caf::anon_send(b, fetch_failed);
  f.run();
  caf::anon_send(b, balancer_exit_idle{});
  f.run();
  REQUIRE(!pickers->empty());
  CHECK(pickers->back() == cs::ready);  // no config, but the addresses are used
  bool told = false;
  for (auto& e : *events)
    told |= e.what == channel_event::kind::resolver_error &&
            e.reason.find("cannot fetch the service config") != std::string::npos;
  CHECK(told);
  // A malformed one (INVALID_ARGUMENT) with nothing to fall back on is an error.
  auto b2 = spawn_balancer(f.sys, cfg);
  resolver_update malformed;
  malformed.addresses = {"10.0.0.2:1"};
  malformed.service_config_error = {status_code::invalid_argument, "bad TXT record"};
  pickers->clear();
  caf::anon_send(b2, malformed);
  f.run();
  REQUIRE(!pickers->empty());
  CHECK(pickers->back() == cs::transient_failure);
  caf::anon_send(b, balancer_shutdown{});
  caf::anon_send(b2, balancer_shutdown{});
  f.run();
}
