#include "core/balancer/weighted_round_robin.hpp"

#include <utility>
#include <vector>

#include "core/balancer/lb_json.hpp"
#include "core/balancer/stride_scheduler.hpp"
#include "core/orca/load_report.hpp"

namespace achan {
namespace {

/// READY connections in the order of a stride scheduler (or evenly without one).
class wrr_picker final : public picker {
 public:
  struct endpoint {
    transport::connection_ptr conn;
    tracker_ref<weight_tracker> tracker;
  };

  wrr_picker(std::vector<endpoint> eps, std::optional<stride_scheduler> s,
             std::shared_ptr<std::atomic<std::uint64_t>> sequence)
      : eps_(std::move(eps)), scheduler_(std::move(s)), sequence_(std::move(sequence)) {}

  pick_result pick(const pick_info&) const noexcept override {
    auto i = scheduler_ ? scheduler_->pick(*sequence_)
                        : sequence_->fetch_add(1, std::memory_order_relaxed) % eps_.size();
    auto& e = eps_[i];
    pick_result r{pick_result::kind::complete, &e.conn, nullptr};
    r.trackers[0] = e.tracker.get();
    return r;
  }

 private:
  std::vector<endpoint> eps_;
  std::optional<stride_scheduler> scheduler_;
  std::shared_ptr<std::atomic<std::uint64_t>> sequence_;
};

}  // namespace

void weight_tracker::on_call_end(const call_outcome& o) noexcept {
  if (!o.sent)
    return;
  for (const auto& [key, value] : o.trailers) {
    if (key != orca_trailer)
      continue;
    auto r = decode_orca_report(value);
    if (!r)
      return;  // a malformed report is no report
    auto util = r->application_utilization > 0 ? r->application_utilization : r->cpu_utilization;
    update(r->rps_fractional, r->eps, util, clock_->now());
    return;
  }
}

void weight_tracker::update(double qps, double eps, double utilization, time_point now) noexcept {
  if (!(qps > 0) || !(utilization > 0))
    return;
  double penalty = 0;
  auto p = penalty_.load(std::memory_order_relaxed);
  if (eps > 0 && p > 0)
    penalty = eps / qps * p;
  double w = qps / (utilization + penalty);
  if (!(w > 0) || !std::isfinite(w))
    return;
  auto t = now.time_since_epoch().count();
  auto expected = never;
  non_empty_since_.compare_exchange_strong(expected, t, std::memory_order_relaxed);
  last_update_.store(t, std::memory_order_relaxed);
  weight_.store(w, std::memory_order_relaxed);
}

double weight_tracker::weight(time_point now, const wrr_config& cfg) noexcept {
  auto since = non_empty_since_.load(std::memory_order_relaxed);
  if (since == never)
    return 0;
  auto t = now.time_since_epoch().count();
  if (clock_duration{t - last_update_.load(std::memory_order_relaxed)} >=
      cfg.weight_expiration_period) {
    non_empty_since_.store(never, std::memory_order_relaxed);
    return 0;
  }
  if (cfg.blackout_period > clock_duration::zero() &&
      clock_duration{t - since} < cfg.blackout_period)
    return 0;
  return weight_.load(std::memory_order_relaxed);
}

result<wrr_config> parse_wrr_config(std::string_view json, const std::string& path) {
  return parse_policy_config<wrr_config>(json, path, [](const sc_json::node& n) {
    wrr_config c;
    if (auto oob = n.get("enableOobLoadReport"); oob && oob->boolean())
      oob->fail("out-of-band load reports are not supported (achan reads per-call reports)");
    if (auto p = n.get("oobReportingPeriod"))
      (void)sc_json::duration(*p);
    if (auto d = n.get("blackoutPeriod"))
      c.blackout_period = sc_json::duration(*d);
    if (auto d = n.get("weightExpirationPeriod"))
      c.weight_expiration_period = sc_json::positive_duration(*d);
    if (auto d = n.get("weightUpdatePeriod"))
      c.weight_update_period =
          std::max<clock_duration>(sc_json::duration(*d), std::chrono::milliseconds{100});
    if (auto p = n.get("errorUtilizationPenalty"))
      c.error_utilization_penalty = sc_json::number(
          *p, [](double d) { return d >= 0; }, "a number >= 0");
    return c;
  });
}

weighted_round_robin::weighted_round_robin(policy_helper& helper)
    : ready_set_policy(helper),
      sequence_(std::make_shared<std::atomic<std::uint64_t>>(helper.random()())) {}

weighted_round_robin::~weighted_round_robin() {
  *alive_ = false;
}

status weighted_round_robin::configure(const lb_config& cfg) {
  auto c = parse_wrr_config(cfg.config, "weighted_round_robin");
  if (!c)
    return c.error();
  cfg_ = *c;
  for (auto& [address, t] : trackers_)
    t->set_penalty(cfg_.error_utilization_penalty);
  arm_timer();
  return {};
}

void weighted_round_robin::arm_timer() {
  if (timer_armed_)
    return;
  timer_armed_ = true;
  helper().run_after(cfg_.weight_update_period, [this, alive = alive_] {
    if (!*alive || shut_down())
      return;
    timer_armed_ = false;
    republish();
    arm_timer();
  });
}

void weighted_round_robin::addresses_changed() {
  trackers_.prune(list());
}

weight_tracker* weighted_round_robin::tracker(const std::string& address) const {
  return trackers_.find(address);
}

picker_ptr weighted_round_robin::make_picker(std::vector<ready_endpoint> ready) {
  auto now = helper().clock()->now();
  std::vector<wrr_picker::endpoint> eps;
  std::vector<double> weights;
  eps.reserve(ready.size());
  weights.reserve(ready.size());
  std::vector<double> fixed;  // the resolver's static weights, for want of load reports
  fixed.reserve(ready.size());
  bool differ = false;
  for (auto& r : ready) {
    fixed.push_back(helper().address_weight(*r.address));
    differ = differ || fixed.back() != fixed.front();
    auto& t = trackers_.get(*r.address, [&] {
      return make_tracker<weight_tracker>(helper().clock(), cfg_.error_utilization_penalty);
    });
    weights.push_back(t->weight(now, cfg_));
    eps.push_back({std::move(r.conn), t});
  }
  if (eps.size() < trackers_.size()) {  // addresses not READY restart their blackout
    for (auto& [address, t] : trackers_) {
      auto* e = list().find_address(address);
      if (e && e->state != connectivity_state::ready)
        t->reset_blackout();
    }
  }
  auto scheduler = stride_scheduler::make(weights);
  if (!scheduler && differ)  // fewer than 2 load reports yet: the static weights
    scheduler = stride_scheduler::make(fixed);
  return std::make_shared<wrr_picker>(std::move(eps), std::move(scheduler), sequence_);
}

}  // namespace achan
