#include "core/balancer/outlier_detection.hpp"

#include <algorithm>
#include <utility>

#include "core/balancer/outlier_detection_sweep.hpp"

namespace achan {
namespace {

// What the child sees of an ejected address's subchannel (as gRPC reports it).
subchannel_update ejected_update(subchannel_id id, const std::string& address) {
  return {id, connectivity_state::transient_failure,
          status{status_code::unavailable, address + ": subchannel ejected by outlier detection"},
          nullptr};
}

}  // namespace

/// What the child sees as its helper: everything goes to the real helper, but
/// outlier_detection learns each subchannel's address and wraps each picker.
class outlier_detection::child_helper final : public policy_helper {
 public:
  explicit child_helper(outlier_detection& od) : od_(od) {}

  subchannel_id create_subchannel(const std::string& address) override {
    auto id = od_.helper_.create_subchannel(address);
    od_.subchannels_[id] = sub_state{address, std::nullopt, false};
    if (auto* a = od_.find(address))
      a->subchannels.push_back(id);
    return id;
  }
  void connect(subchannel_id id) override { od_.helper_.connect(id); }
  void shutdown_subchannel(subchannel_id id) override {
    if (auto it = od_.subchannels_.find(id); it != od_.subchannels_.end()) {
      if (auto* a = od_.find(it->second.address))
        a->subchannels.erase(std::remove(a->subchannels.begin(), a->subchannels.end(), id),
                             a->subchannels.end());
      od_.subchannels_.erase(it);
    }
    od_.helper_.shutdown_subchannel(id);
  }
  void update_state(connectivity_state s, picker_ptr p) override {
    if (od_.shut_down_)
      return;
    od_.child_state_ = s;
    od_.child_picker_ = std::move(p);
    od_.publish();
  }
  void request_reresolution() override { od_.helper_.request_reresolution(); }
  std::mt19937_64& random() override { return od_.helper_.random(); }
  bool defer_evaluation() override { return od_.helper_.defer_evaluation(); }
  void run_after(clock_duration delay, std::function<void()> fn) override {
    od_.helper_.run_after(delay,
                          [alive = std::weak_ptr<int>{od_.child_alive_}, fn = std::move(fn)] {
                            if (alive.lock())
                              fn();
                          });
  }
  std::function<void(subchannel_id)> connector() override { return od_.helper_.connector(); }
  std::shared_ptr<const lb_clock> clock() override { return od_.clock_; }
  std::unique_ptr<policy> create_policy(const std::string& name, policy_helper& h) override {
    return od_.helper_.create_policy(name, h);
  }
  std::uint32_t address_weight(const std::string& address) const override {
    return od_.helper_.address_weight(address);
  }

 private:
  outlier_detection& od_;
};

outlier_detection::outlier_detection(policy_helper& helper)
    : helper_(helper),
      clock_(helper.clock()),
      child_helper_(std::make_unique<child_helper>(*this)) {}

outlier_detection::~outlier_detection() = default;

void outlier_detection::update_addresses(const std::vector<std::string>& addresses,
                                         const lb_config& cfg) {
  if (shut_down_)
    return;
  auto parsed = parse_outlier_detection_config(cfg.config, cfg.name);
  if (!parsed && !configured_)
    return fail(parsed.error().message);
  bool had_config = configured_;
  bool was_counting = configured_ && cfg_.counting_enabled();
  auto old_interval = cfg_.interval;
  if (parsed)
    cfg_ = std::move(*parsed);
  configured_ = true;
  auto before = publishes_;

  update_entries(addresses);
  update_timer(had_config, old_interval);

  if (!child_ || cfg_.child.name != child_name_) {
    if (child_)
      child_->shutdown();
    child_.reset();
    child_state_.reset();
    child_picker_.reset();
    child_name_ = cfg_.child.name;
    child_alive_ = std::make_shared<int>(0);
    child_ = helper_.create_policy(child_name_, *child_helper_);
    if (!child_)
      return fail("outlier_detection: child policy '" + child_name_ + "' is not registered");
  }
  child_->update_addresses(addresses, cfg_.child);
  // The counter table depends on whether counting is on: rewrap the child's picker
  // unless a new one was published meanwhile.
  if (publishes_ == before && was_counting != cfg_.counting_enabled())
    publish();
}

void outlier_detection::update_entries(const std::vector<std::string>& addresses) {
  std::vector<address_state> next;
  next.reserve(addresses.size());
  std::unordered_map<std::string, std::size_t> next_index;
  for (const auto& a : addresses) {
    if (next_index.count(a) != 0)
      continue;  // duplicates collapse to the first occurrence
    next_index.emplace(a, next.size());
    if (auto* old = find(a))
      next.push_back(std::move(*old));
    else
      next.push_back(address_state{a, make_tracker<od_call_counter>(), std::nullopt, 0, {}});
  }
  addresses_ = std::move(next);
  index_ = std::move(next_index);
  // The child may hold subchannels for an address that was not in the list before.
  for (auto& a : addresses_)
    a.subchannels.clear();
  for (const auto& [id, sub] : subchannels_)
    if (auto* a = find(sub.address))
      a->subchannels.push_back(id);
  if (!cfg_.counting_enabled())
    for (auto& a : addresses_) {
      if (a.ejected_at)
        uneject(a);
      a.multiplier = 0;
    }
}

void outlier_detection::update_timer(bool had_config, clock_duration old_interval) {
  if (!cfg_.counting_enabled()) {
    ++timer_gen_;  // stops the running timer
    timer_start_.reset();
    return;
  }
  if (!timer_start_) {
    timer_start_ = clock_->now();
    for (auto& a : addresses_)
      a.counter->rotate();  // counts from before the timer are not an interval's
    arm_timer(cfg_.interval);
  } else if (had_config && old_interval != cfg_.interval) {
    // Keep the interval's start: the next sweep is due at start + the new interval.
    auto elapsed = clock_->now() - *timer_start_;
    arm_timer(std::max(cfg_.interval - elapsed, clock_duration::zero()));
  }
}

void outlier_detection::arm_timer(clock_duration delay) {
  auto gen = ++timer_gen_;
  helper_.run_after(delay, [this, gen, alive = std::weak_ptr<int>{alive_}] {
    if (alive.lock() && !shut_down_ && gen == timer_gen_)
      sweep();
  });
}

void outlier_detection::sweep() {
  auto now = clock_->now();
  timer_start_ = now;
  std::vector<od_address_stats> stats;
  stats.reserve(addresses_.size());
  for (auto& a : addresses_) {
    auto c = a.counter->rotate();
    stats.push_back({c.successes, c.failures, a.ejected_at.has_value()});
  }
  for (auto i : select_ejections(stats, cfg_, helper_.random()))
    eject(addresses_[i], now);
  // The cap of one ejection; base × multiplier is compared without overflowing.
  const auto base = cfg_.base_ejection_time;
  const auto cap = std::max(base, cfg_.max_ejection_time);
  for (auto& a : addresses_) {
    if (!a.ejected_at) {
      if (a.multiplier > 0)
        --a.multiplier;
      continue;
    }
    auto times = static_cast<clock_duration::rep>(a.multiplier);
    auto length = base.count() == 0    ? clock_duration::zero()
                  : times > cap / base ? cap
                                       : std::min(base * times, cap);
    if (now - *a.ejected_at > length)
      uneject(a);
  }
  arm_timer(cfg_.interval);
}

void outlier_detection::eject(address_state& a, time_point now) {
  a.ejected_at = now;
  ++a.multiplier;
  // Telling the child may make it shut subchannels down: iterate over a copy and look
  // each one up again.
  auto ids = a.subchannels;
  for (auto id : ids) {
    auto it = subchannels_.find(id);
    if (!child_ || it == subchannels_.end() || !it->second.last || it->second.masked)
      continue;  // never reported: its first update will be masked
    it->second.masked = true;
    child_->on_subchannel_update(ejected_update(id, a.address));
  }
}

void outlier_detection::uneject(address_state& a) {
  a.ejected_at.reset();
  auto ids = a.subchannels;
  for (auto id : ids) {
    auto it = subchannels_.find(id);
    if (!child_ || it == subchannels_.end() || !it->second.masked)
      continue;
    it->second.masked = false;
    auto real = *it->second.last;  // a copy: the child may erase the entry
    child_->on_subchannel_update(real);
  }
}

void outlier_detection::on_subchannel_update(const subchannel_update& u) {
  if (shut_down_ || !child_)
    return;
  auto it = subchannels_.find(u.id);
  if (it == subchannels_.end())
    return;  // a late update for a subchannel the child already shut down
  auto& s = it->second;
  s.last = u;
  const auto* a = find(s.address);
  if (a != nullptr && a->ejected_at) {
    if (s.masked)
      return;  // the child already sees TRANSIENT_FAILURE
    s.masked = true;
    child_->on_subchannel_update(ejected_update(u.id, s.address));
    return;
  }
  s.masked = false;
  child_->on_subchannel_update(u);
}

void outlier_detection::publish() {
  if (shut_down_ || !child_picker_ || !child_state_)
    return;
  ++publishes_;
  std::vector<od_picker::entry> table;
  if (cfg_.counting_enabled())
    for (const auto& [id, s] : subchannels_) {
      if (!s.last || s.last->state != connectivity_state::ready || !s.last->conn)
        continue;
      if (const auto* a = find(s.address))
        table.emplace_back(s.last->conn.get(), a->counter);
    }
  helper_.update_state(*child_state_, std::make_shared<od_picker>(child_picker_, std::move(table)));
}

void outlier_detection::fail(std::string message) {
  helper_.update_state(
      connectivity_state::transient_failure,
      std::make_shared<fail_picker>(status{status_code::unavailable, std::move(message)}));
}

void outlier_detection::resolver_error(const status& st) {
  if (shut_down_)
    return;
  if (child_)
    child_->resolver_error(st);
  else
    fail("resolver error: " + st.message);
}

void outlier_detection::exit_idle() {
  if (!shut_down_ && child_)
    child_->exit_idle();
}

void outlier_detection::flush() {
  if (!shut_down_ && child_)
    child_->flush();
}

void outlier_detection::shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  ++timer_gen_;
  if (child_)
    child_->shutdown();
  child_picker_.reset();
}

outlier_detection::address_state* outlier_detection::find(std::string_view address) {
  auto it = index_.find(std::string{address});
  return it == index_.end() ? nullptr : &addresses_[it->second];
}

const outlier_detection::address_state* outlier_detection::find(std::string_view address) const {
  return const_cast<outlier_detection*>(this)->find(address);
}

bool outlier_detection::ejected(std::string_view address) const {
  const auto* a = find(address);
  return a != nullptr && a->ejected_at.has_value();
}

std::uint32_t outlier_detection::multiplier(std::string_view address) const {
  const auto* a = find(address);
  return a == nullptr ? 0 : a->multiplier;
}

std::size_t outlier_detection::ejected_count() const {
  return static_cast<std::size_t>(
      std::count_if(addresses_.begin(), addresses_.end(),
                    [](const address_state& a) { return a.ejected_at.has_value(); }));
}

}  // namespace achan
