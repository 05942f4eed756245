// control_plane_bench: heap per idle subchannel (control_plane_bench.cpp's header says how).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/actor_executor.hpp>
#include <achan/channel.hpp>
#include <achan/h2_transport.hpp>
#include <achan/manual_resolver.hpp>
#include <achan/simulated_transport.hpp>
#include <achan/system_config.hpp>
#include "core/balancer/round_robin.hpp"
#include "core/balancer/rr_picker.hpp"
#include "proto/echo.pb.h"
#include "testkit/program_args.hpp"

#include "bench/control_plane/common.hpp"

namespace achan::cp_bench {
namespace {

/// Creates a subchannel for every address of the second and later lists (the first only
/// sizes its own bookkeeping), never connects one, and reports CONNECTING.
class idle_policy final : public achan::policy {
 public:
  idle_policy(achan::policy_helper& h, std::shared_ptr<std::atomic<int>> updates)
      : h_(h), updates_(std::move(updates)) {}
  void update_addresses(const std::vector<std::string>& a, const achan::lb_config&) override {
    drop_all();
    if (updates_->load() == 0)
      ids_.reserve(a.size());
    else
      for (auto& addr : a)
        ids_.push_back(h_.create_subchannel(addr));
    h_.update_state(connectivity_state::connecting, std::make_shared<achan::queue_picker>());
    updates_->fetch_add(1);
  }
  void resolver_error(const achan::status&) override {}
  void on_subchannel_update(const achan::subchannel_update&) override {}
  void exit_idle() override {}
  void shutdown() override { drop_all(); }

 private:
  void drop_all() {
    for (auto id : ids_)
      h_.shutdown_subchannel(id);
    ids_.clear();
  }
  achan::policy_helper& h_;
  std::shared_ptr<std::atomic<int>> updates_;
  std::vector<achan::subchannel_id> ids_;
};

}  // namespace

void measure_idle(const options& o) {
  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  double per = 0;
  bool ok = false;
  {
    auto sim =
        std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
    auto resolver = std::make_shared<achan::manual_resolver>(sys);
    auto updates = std::make_shared<std::atomic<int>>(0);
    achan::dial_options d;
    d.transport = sim;
    d.resolvers.push_back(resolver);
    d.policies.emplace_back("idle_subchannels", [updates](achan::policy_helper& h) {
      return std::make_unique<idle_policy>(h, updates);
    });
    d.lb_policy = "idle_subchannels";
    auto ch = achan::dial(sys, "manual:///bench", d);
    if (!ch) {
      check(false, "idle: dial: " + achan::to_string_with_message(ch.error()));
      return;
    }
    ch->connect();
    auto a = address_list(11, o.addresses), b = address_list(12, o.addresses);
    resolver->update(std::move(a));
    bool first = wait_until([&] { return updates->load() >= 1; }, 10s);
    check(first, "idle: first address list not applied within 10 s");
    auto before = settled_heap(4096);
    resolver->update(std::move(b));
    bool second = wait_until([&] { return updates->load() >= 2; }, 10s);
    check(second, "idle: second address list not applied within 10 s");
    auto after = settled_heap(4096);
    ok = first && second;
    per = (static_cast<double>(after) - static_cast<double>(before)) /
          static_cast<double>(o.addresses);
    ch->close();
  }
  std::printf(
      "{\"measure\":\"idle_subchannel_memory\",\"subchannels\":%zu,\"bytes_per_subchannel\":%.0f,"
      "\"ok\":%s}\n",
      o.addresses, per, ok ? "true" : "false");
  std::fflush(stdout);
}

}  // namespace achan::cp_bench
