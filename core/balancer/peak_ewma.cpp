#include "core/balancer/peak_ewma.hpp"

#include <cmath>
#include <utility>
#include <vector>

#include "core/balancer/lb_json.hpp"
#include "core/balancer/pick_random.hpp"

namespace achan {
namespace {

double ns(clock_duration d) {
  return static_cast<double>(std::chrono::duration_cast<std::chrono::nanoseconds>(d).count());
}

/// The cheaper of two random READY endpoints (one if there is only one).
class peak_ewma_picker final : public picker {
 public:
  struct endpoint {
    transport::connection_ptr conn;
    tracker_ref<ewma_tracker> tracker;
  };

  peak_ewma_picker(std::vector<endpoint> eps, std::shared_ptr<const lb_clock> clock,
                   std::uint64_t seed)
      : eps_(std::move(eps)), clock_(std::move(clock)), random_(seed) {}

  pick_result pick(const pick_info&) const noexcept override {
    auto n = eps_.size();
    auto a = random_.below(n);
    if (n > 1) {
      auto b = random_.below(n - 1);
      b += b >= a ? 1 : 0;  // two distinct endpoints
      auto now = clock_->now();
      if (eps_[b].tracker->cost(now) < eps_[a].tracker->cost(now))
        a = b;
    }
    auto& e = eps_[a];
    e.tracker->started();
    pick_result r{pick_result::kind::complete, &e.conn, nullptr};
    r.trackers[0] = e.tracker.get();
    return r;
  }

 private:
  std::vector<endpoint> eps_;
  std::shared_ptr<const lb_clock> clock_;
  atomic_random random_;
};

}  // namespace

ewma_tracker::ewma_tracker(std::shared_ptr<const lb_clock> clock, const peak_ewma_config& cfg)
    : clock_(std::move(clock)), tau_ns_(ns(cfg.decay_time)), penalty_ns_(ns(cfg.penalty)) {}

void ewma_tracker::configure(const peak_ewma_config& cfg) noexcept {
  tau_ns_.store(ns(cfg.decay_time), std::memory_order_relaxed);
  penalty_ns_.store(ns(cfg.penalty), std::memory_order_relaxed);
}

double ewma_tracker::estimate(time_point now) const noexcept {
  auto est = estimate_ns_.load(std::memory_order_relaxed);
  if (est == 0)
    return 0;
  auto elapsed = ns(now - time_point{clock_duration{stamp_.load(std::memory_order_relaxed)}});
  if (elapsed <= 0)
    return est;
  return est * std::exp(-elapsed / tau_ns_.load(std::memory_order_relaxed));
}

double ewma_tracker::cost(time_point now) const noexcept {
  auto out = static_cast<double>(outstanding());
  auto est = estimate(now);
  if (est == 0)
    return out > 0 ? penalty_ns_.load(std::memory_order_relaxed) + out : 0;
  return est * (out + 1);
}

void ewma_tracker::on_call_end(const call_outcome& o) noexcept {
  outstanding_.fetch_sub(1, std::memory_order_relaxed);
  if (!o.sent)
    return;  // never reached this backend: says nothing about its latency
  auto now = clock_->now();
  observe(std::max(0.0, ns(now - o.picked_at)), now);
}

void ewma_tracker::observe(double rtt, time_point now) noexcept {
  auto old = estimate_ns_.load(std::memory_order_relaxed);
  double next = 0;
  do {
    if (rtt > old || old == 0) {
      next = rtt;  // the peak: a slower sample wins at once
    } else {
      auto elapsed = ns(now - time_point{clock_duration{stamp_.load(std::memory_order_relaxed)}});
      auto w = std::exp(-std::max(0.0, elapsed) / tau_ns_.load(std::memory_order_relaxed));
      next = old * w + rtt * (1 - w);
    }
  } while (!estimate_ns_.compare_exchange_weak(old, next, std::memory_order_relaxed));
  stamp_.store(now.time_since_epoch().count(), std::memory_order_relaxed);
}

result<peak_ewma_config> parse_peak_ewma_config(std::string_view json, const std::string& path) {
  return parse_policy_config<peak_ewma_config>(json, path, [](const sc_json::node& n) {
    peak_ewma_config c;
    if (auto d = n.get("decayTime"))
      c.decay_time = sc_json::positive_duration(*d);
    if (auto p = n.get("penalty"))
      c.penalty = sc_json::positive_duration(*p);
    return c;
  });
}

status peak_ewma::configure(const lb_config& cfg) {
  auto c = parse_peak_ewma_config(cfg.config, "peak_ewma");
  if (!c)
    return c.error();
  cfg_ = *c;
  for (auto& [address, t] : trackers_)
    t->configure(cfg_);
  return {};
}

void peak_ewma::addresses_changed() {
  trackers_.prune(list());
}

const ewma_tracker* peak_ewma::tracker(const std::string& address) const {
  return trackers_.find(address);
}

picker_ptr peak_ewma::make_picker(std::vector<ready_endpoint> ready) {
  std::vector<peak_ewma_picker::endpoint> eps;
  eps.reserve(ready.size());
  auto clock = helper().clock();
  for (auto& r : ready) {
    auto& t = trackers_.get(*r.address, [&] { return make_tracker<ewma_tracker>(clock, cfg_); });
    eps.push_back({std::move(r.conn), t});
  }
  return std::make_shared<peak_ewma_picker>(std::move(eps), std::move(clock), helper().random()());
}

}  // namespace achan
