#include "core/balancer/round_robin.hpp"

#include <memory>
#include <utility>

#include "core/balancer/rr_picker.hpp"

namespace achan {

void round_robin::update_addresses(const std::vector<std::string>& addresses, const lb_config&) {
  if (shut_down_)
    return;
  if (addresses.empty()) {
    list_.shutdown_all(helper_);
    publish_failure("resolver returned an empty address list", true);
    return;
  }
  if (!list_.update(addresses, helper_))
    return;
  connect_idle();
  evaluate();
}

void round_robin::resolver_error(const status& st) {
  if (shut_down_ || !list_.empty())
    return;
  publish_failure("resolver error: " + st.message, true);
}

void round_robin::on_subchannel_update(const subchannel_update& u) {
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

void round_robin::flush() {
  if (shut_down_ || !dirty_)
    return;
  dirty_ = false;
  evaluate();
}

void round_robin::shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  list_.shutdown_all(helper_);
}

void round_robin::connect_idle() {
  for (const auto& e : list_.entries())
    if (e.state == connectivity_state::idle)
      helper_.connect(e.id);
}

void round_robin::evaluate() {
  auto raw = list_.counter().aggregate();
  std::vector<transport::connection_ptr> ready;
  if (raw == connectivity_state::ready)
    for (const auto& e : list_.entries())
      if (e.state == connectivity_state::ready && e.conn)
        ready.push_back(e.conn);
  if (!ready.empty()) {
    sticky_failure_ = false;
    if (published_ == connectivity_state::ready && ready == published_ready_)
      return;
    auto start = static_cast<std::size_t>(helper_.random()() % ready.size());
    published_ = connectivity_state::ready;
    published_ready_ = ready;
    helper_.update_state(connectivity_state::ready,
                         std::make_shared<rr_picker>(std::move(ready), start));
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

void round_robin::publish_failure(std::string message, bool from_resolver) {
  sticky_failure_ = true;
  resolver_failure_ = from_resolver;
  published_ = connectivity_state::transient_failure;
  published_ready_.clear();
  helper_.update_state(
      connectivity_state::transient_failure,
      std::make_shared<fail_picker>(status{status_code::unavailable, std::move(message)}));
}

}  // namespace achan
