#include "core/balancer/ready_set_policy.hpp"

#include <memory>
#include <utility>

namespace achan {

void ready_set_policy::update_addresses(const std::vector<std::string>& addresses,
                                        const lb_config& cfg) {
  if (shut_down_)
    return;
  bool config_changed = !configured_ || cfg.config != config_;
  if (config_changed) {
    if (auto st = configure(cfg); !st.ok()) {
      list_.shutdown_all(helper_);
      addresses_changed();
      publish_failure(st.message, true);
      configured_ = false;
      return;
    }
    configured_ = true;
    config_ = cfg.config;
  }
  if (addresses.empty()) {
    list_.shutdown_all(helper_);
    addresses_changed();
    publish_failure("resolver returned an empty address list", true);
    return;
  }
  bool changed = list_.update(addresses, helper_);
  if (changed)
    addresses_changed();
  if (!changed && !config_changed)
    return;
  connect_idle();
  evaluate(config_changed);
}

void ready_set_policy::resolver_error(const status& st) {
  if (shut_down_ || !list_.empty())
    return;
  publish_failure("resolver error: " + st.message, true);
}

void ready_set_policy::on_subchannel_update(const subchannel_update& u) {
  if (shut_down_)
    return;
  auto before = list_.counter().aggregate();
  auto old = list_.apply(u);
  if (!old)
    return;  // a late update for a subchannel already removed
  if (u.state == connectivity_state::idle)
    helper_.connect(u.id);
  bool left_ready = *old == connectivity_state::ready && u.state != connectivity_state::ready;
  bool all_failing = before != connectivity_state::transient_failure &&
                     list_.counter().aggregate() == connectivity_state::transient_failure;
  if (left_ready || all_failing)
    helper_.request_reresolution();
  // evaluate() scans every subchannel. While READY stays READY only the set of READY
  // connections changes: rebuild once per burst of updates (10 000 subchannels
  // connecting at once would otherwise cost 10 000 scans and pickers). A change of the
  // aggregate state (the first READY, losing the last one) is published at once.
  bool stays_ready = published_ == connectivity_state::ready &&
                     list_.counter().aggregate() == connectivity_state::ready;
  if (stays_ready && helper_.defer_evaluation())
    dirty_ = true;
  else
    evaluate();
}

void ready_set_policy::flush() {
  if (shut_down_ || !dirty_)
    return;
  dirty_ = false;
  evaluate();
}

void ready_set_policy::shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  list_.shutdown_all(helper_);
}

void ready_set_policy::republish() {
  if (!shut_down_ && published_ == connectivity_state::ready)
    evaluate(true);
}

void ready_set_policy::connect_idle() {
  for (const auto& e : list_.entries())
    if (e.state == connectivity_state::idle)
      helper_.connect(e.id);
}

void ready_set_policy::evaluate(bool force) {
  auto raw = list_.counter().aggregate();
  std::vector<ready_endpoint> ready;
  if (raw == connectivity_state::ready)
    for (const auto& e : list_.entries())
      if (e.state == connectivity_state::ready && e.conn)
        ready.push_back({e.id, &e.address, e.conn});
  if (!ready.empty()) {
    sticky_failure_ = false;
    auto same = [&] {
      if (ready.size() != published_ready_.size())
        return false;
      for (std::size_t i = 0; i < ready.size(); ++i)
        if (ready[i].conn != published_ready_[i])
          return false;
      return true;
    };
    if (!force && published_ == connectivity_state::ready && same())
      return;
    published_ = connectivity_state::ready;
    published_ready_.clear();
    published_ready_.reserve(ready.size());
    for (const auto& r : ready)
      published_ready_.push_back(r.conn);
    helper_.update_state(connectivity_state::ready, make_picker(std::move(ready)));
    return;
  }
  if (raw == connectivity_state::transient_failure && !list_.empty()) {
    // Republish only on entering TF, or to replace a resolver-side message that no
    // longer describes the problem (every subchannel now fails).
    if (published_ != connectivity_state::transient_failure || resolver_failure_)
      publish_failure(list_.failure_summary(), false);
    return;
  }
  if (sticky_failure_)
    return;  // CONNECTING/IDLE after a failure: keep failing fast until READY
  if (published_ == connectivity_state::connecting)
    return;
  published_ = connectivity_state::connecting;
  published_ready_.clear();
  helper_.update_state(connectivity_state::connecting, std::make_shared<queue_picker>());
}

void ready_set_policy::publish_failure(std::string message, bool from_resolver) {
  sticky_failure_ = true;
  resolver_failure_ = from_resolver;
  published_ = connectivity_state::transient_failure;
  published_ready_.clear();
  helper_.update_state(
      connectivity_state::transient_failure,
      std::make_shared<fail_picker>(status{status_code::unavailable, std::move(message)}));
}

}  // namespace achan
