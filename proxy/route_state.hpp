#pragma once
/// One route of a grpc_proxy at run time: its channel, its fault rules (replaceable
/// while calls run) and its counters. Shared by the proxy and the calls in flight, so a
/// call's completion that arrives after the proxy let go of the route finds it alive.
#include <array>
#include <atomic>
#include <map>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <vector>

#include <achan/channel.hpp>
#include <achan/grpc_proxy.hpp>

namespace achan::proxy {

struct route_state {
  explicit route_state(route_config c) : cfg(std::move(c)) {
    faults = std::make_shared<const std::vector<fault_rule>>(cfg.faults);
    fault_headers = cfg.fault_headers;
  }

  route_config cfg;  ///< as configured (cfg.faults: see `faults`)
  std::optional<channel> ch;

  /// The fault rules now; calls take a snapshot at their start.
  std::shared_ptr<const std::vector<fault_rule>> current_faults(bool& headers) const {
    std::lock_guard lk{mx};
    headers = fault_headers;
    return faults;
  }
  void replace_faults(std::vector<fault_rule> rules, std::optional<bool> headers) {
    auto next = std::make_shared<const std::vector<fault_rule>>(std::move(rules));
    std::lock_guard lk{mx};
    faults = std::move(next);
    if (headers)
      fault_headers = *headers;
  }

  // Counters (any thread).
  std::atomic<std::uint64_t> calls{0}, in_flight{0}, delayed{0}, aborted{0};
  std::array<std::atomic<std::uint64_t>, 17> by_code{};
  void count_end(status_code code, const std::string& peer) {
    by_code[static_cast<std::size_t>(code) % by_code.size()].fetch_add(1,
                                                                       std::memory_order_relaxed);
    in_flight.fetch_sub(1, std::memory_order_relaxed);
    if (peer.empty())
      return;
    std::lock_guard lk{mx};
    ++backends[peer];
  }
  route_stats snapshot() const {
    route_stats s;
    s.name = cfg.name;
    s.calls = calls.load();
    s.in_flight = in_flight.load();
    s.delayed = delayed.load();
    s.aborted = aborted.load();
    for (std::size_t i = 0; i < by_code.size(); ++i)
      s.by_code[i] = by_code[i].load();
    std::lock_guard lk{mx};
    s.backends = backends;
    return s;
  }

 private:
  mutable std::mutex mx;  // faults, fault_headers, backends (this is not actor code)
  std::shared_ptr<const std::vector<fault_rule>> faults;
  bool fault_headers = false;
  std::map<std::string, std::uint64_t> backends;
};

}  // namespace achan::proxy
