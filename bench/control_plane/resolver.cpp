// control_plane_bench: the N-address resolver update (control_plane_bench.cpp's header says how).
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

/// Timestamps the pickers a policy publishes; armed before each resolver update.
class picker_probe {
 public:
  void arm(std::string prefix, std::size_t want) {
    std::lock_guard lk{mx_};
    prefix_ = std::move(prefix);
    want_ = want;
    first_.reset();
    all_.reset();
    pickers_ = 0;
    t0_ = clock_type::now();
  }

  /// Balancer actor: a picker is about to be published.
  void published(connectivity_state s, const achan::picker_ptr& p) {
    auto now = clock_type::now();
    std::lock_guard lk{mx_};
    ++pickers_;
    auto* rr = dynamic_cast<const achan::rr_picker*>(p.get());
    if (s != connectivity_state::ready || !rr)
      return;
    const auto& conns = rr->connections();
    auto fresh = [&](const achan::transport::connection_ptr& c) {
      return c->address().rfind(prefix_, 0) == 0;
    };
    if (!first_ && std::any_of(conns.begin(), conns.end(), fresh))
      first_ = now;
    // Only a picker of the full size can cover every new address: check it in full once.
    if (!all_ && conns.size() == want_ && std::all_of(conns.begin(), conns.end(), fresh)) {
      all_ = now;
      cv_.notify_all();
    }
  }

  /// Waits (bounded) for the covering picker; times in ms since arm(), or nullopt.
  std::optional<std::pair<double, double>> wait(std::chrono::milliseconds bound,
                                                std::size_t& pickers) {
    std::unique_lock lk{mx_};
    bool ok = cv_.wait_for(lk, bound, [&] { return all_.has_value(); });
    pickers = pickers_;
    if (!ok)
      return std::nullopt;
    return std::make_pair(ms_between(t0_, *first_), ms_between(t0_, *all_));
  }

 private:
  std::mutex mx_;  // published() runs on the balancer actor, wait() on the main thread
  std::condition_variable cv_;
  std::string prefix_;
  std::size_t want_ = 0;
  clock_type::time_point t0_;
  std::optional<clock_type::time_point> first_, all_;
  std::size_t pickers_ = 0;
};

/// Forwards every helper call; tells the probe about each published picker first.
class probing_helper final : public achan::policy_helper {
 public:
  probing_helper(achan::policy_helper& inner, picker_probe& probe) : inner_(inner), probe_(probe) {}
  achan::subchannel_id create_subchannel(const std::string& a) override {
    return inner_.create_subchannel(a);
  }
  void connect(achan::subchannel_id id) override { inner_.connect(id); }
  void shutdown_subchannel(achan::subchannel_id id) override { inner_.shutdown_subchannel(id); }
  void update_state(connectivity_state s, achan::picker_ptr p) override {
    probe_.published(s, p);
    inner_.update_state(s, std::move(p));
  }
  void request_reresolution() override { inner_.request_reresolution(); }
  std::mt19937_64& random() override { return inner_.random(); }
  bool defer_evaluation() override { return inner_.defer_evaluation(); }
  void run_after(achan::clock_duration d, std::function<void()> fn) override {
    inner_.run_after(d, std::move(fn));
  }
  std::function<void(achan::subchannel_id)> connector() override { return inner_.connector(); }
  std::shared_ptr<const achan::lb_clock> clock() override { return inner_.clock(); }

 private:
  achan::policy_helper& inner_;
  picker_probe& probe_;
};

/// achan's round_robin, unchanged, behind a probing helper.
class probed_round_robin final : public achan::policy {
 public:
  probed_round_robin(achan::policy_helper& h, picker_probe& probe)
      : helper_(h, probe), rr_(helper_) {}
  void update_addresses(const std::vector<std::string>& a, const achan::lb_config& c) override {
    rr_.update_addresses(a, c);
  }
  void resolver_error(const achan::status& st) override { rr_.resolver_error(st); }
  void on_subchannel_update(const achan::subchannel_update& u) override {
    rr_.on_subchannel_update(u);
  }
  void exit_idle() override { rr_.exit_idle(); }
  void shutdown() override { rr_.shutdown(); }
  void flush() override { rr_.flush(); }

 private:
  probing_helper helper_;
  achan::round_robin rr_;
};

}  // namespace

void measure_resolver(const options& o) {
  std::vector<double> init_first, init_all, upd_first, upd_all;
  std::size_t init_pickers = 0, upd_pickers = 0;
  bool ok = true;
  for (int rep = 0; rep < o.reps && ok; ++rep) {
    caf::actor_system_config cfg;
    achan::configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    {
      auto sim =
          std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
      auto resolver = std::make_shared<achan::manual_resolver>(sys);
      auto probe = std::make_shared<picker_probe>();
      achan::dial_options d;
      d.transport = sim;
      d.resolvers.push_back(resolver);
      d.seed = 1;
      d.policies.emplace_back("probed_round_robin", [probe](achan::policy_helper& h) {
        return std::make_unique<probed_round_robin>(h, *probe);
      });
      d.lb_policy = "probed_round_robin";
      auto ch = achan::dial(sys, "manual:///bench", d);
      if (!ch) {
        check(false, "resolver: dial: " + achan::to_string_with_message(ch.error()));
        return;
      }
      ch->connect();
      auto a = address_list(11, o.addresses), b = address_list(12, o.addresses);
      std::size_t pickers = 0;
      probe->arm("10.11.", o.addresses);
      resolver->update(a);
      auto t1 = probe->wait(60s, pickers);
      check(t1.has_value(), "resolver: initial list: no picker covering all " +
                                std::to_string(o.addresses) + " addresses within 60 s");
      if (t1) {
        init_first.push_back(t1->first);
        init_all.push_back(t1->second);
        init_pickers = pickers;
        probe->arm("10.12.", o.addresses);
        resolver->update(b);
        auto t2 = probe->wait(60s, pickers);
        check(t2.has_value(), "resolver: update: no picker covering all " +
                                  std::to_string(o.addresses) + " new addresses within 60 s");
        if (t2) {
          upd_first.push_back(t2->first);
          upd_all.push_back(t2->second);
          upd_pickers = pickers;
        }
      }
      ok = upd_all.size() == static_cast<std::size_t>(rep + 1);
      ch->close();
    }
  }
  std::printf(
      "{\"measure\":\"resolver_update\",\"policy\":\"round_robin\",\"transport\":\"simulated\","
      "\"addresses\":%zu,\"reps\":%zu,\"initial_first_picker_ms\":%.2f,\"initial_all_ready_ms\":"
      "%.2f,\"update_first_picker_ms\":%.2f,\"update_all_ready_ms\":%.2f,"
      "\"initial_pickers_published\":%zu,\"update_pickers_published\":%zu,\"ok\":%s}\n",
      o.addresses, upd_all.size(), median(init_first), median(init_all), median(upd_first),
      median(upd_all), init_pickers, upd_pickers, ok ? "true" : "false");
  std::fflush(stdout);
}

}  // namespace achan::cp_bench
