#include "core/balancer/pick_first.hpp"

#include <algorithm>
#include <memory>
#include <utility>

namespace achan {

void pick_first::update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) {
  if (mode_ == mode::shut_down)
    return;
  if (last_input_ && *last_input_ == addresses && last_shuffle_ == cfg.shuffle_address_list)
    return;  // resolvers resend unchanged lists; do not disturb a pass or a selection
  last_input_ = addresses;
  last_shuffle_ = cfg.shuffle_address_list;
  addresses_ = addresses;
  if (cfg.shuffle_address_list)
    std::shuffle(addresses_.begin(), addresses_.end(), helper_.random());

  if (addresses_.empty()) {
    list_.shutdown_all(helper_);
    selected_.reset();
    mode_ = mode::failed;
    publish(connectivity_state::transient_failure,
            std::make_shared<fail_picker>(
                status{status_code::unavailable, "resolver returned an empty address list"}));
    return;
  }
  if (mode_ == mode::ready && selected_) {
    const auto* sel = list_.find(*selected_);
    if (sel && std::find(addresses_.begin(), addresses_.end(), sel->address) != addresses_.end())
      return;  // keep the working connection; the other addresses wait for the next pass
  }
  list_.update(addresses_, helper_);
  if (mode_ == mode::idle)
    return;  // stay IDLE until exit_idle()
  start_pass();
}

void pick_first::resolver_error(const status& st) {
  if (mode_ == mode::shut_down || !addresses_.empty())
    return;
  mode_ = mode::failed;
  publish(connectivity_state::transient_failure,
          std::make_shared<fail_picker>(
              status{status_code::unavailable, "resolver error: " + st.message}));
}

void pick_first::on_subchannel_update(const subchannel_update& u) {
  if (mode_ == mode::shut_down)
    return;
  if (!list_.apply(u))
    return;  // a late update for a subchannel already shut down
  switch (mode_) {
    case mode::ready:
      if (u.id == selected_ && u.state != connectivity_state::ready) {
        selected_.reset();
        mode_ = mode::idle;
        helper_.request_reresolution();
        publish(connectivity_state::idle, std::make_shared<queue_picker>());
      }
      return;
    case mode::trying:
      if (u.state == connectivity_state::ready) {
        select(u.id);
      } else if (index_ < list_.size() && list_.entries()[index_].id == u.id) {
        if (u.state == connectivity_state::transient_failure)
          try_from(index_ + 1);
        else if (u.state == connectivity_state::idle)
          helper_.connect(u.id);
      }
      return;
    case mode::failed:
      if (u.state == connectivity_state::ready)
        select(u.id);
      else if (u.state == connectivity_state::idle)
        helper_.connect(u.id);  // its backoff is over: try again, first READY wins
      return;
    case mode::waiting:
    case mode::idle:
    case mode::shut_down:
      return;
  }
}

void pick_first::exit_idle() {
  if (mode_ != mode::idle)
    return;
  list_.update(addresses_, helper_);
  start_pass();
}

void pick_first::shutdown() {
  if (mode_ == mode::shut_down)
    return;
  mode_ = mode::shut_down;
  list_.shutdown_all(helper_);
}

void pick_first::start_pass() {
  mode_ = mode::trying;
  selected_.reset();
  try_from(0);
  if (mode_ == mode::trying && published_ != connectivity_state::connecting)
    publish(connectivity_state::connecting, std::make_shared<queue_picker>());
}

void pick_first::try_from(std::size_t index) {
  const auto& entries = list_.entries();
  for (; index < entries.size(); ++index) {
    const auto& e = entries[index];
    switch (e.state) {
      case connectivity_state::ready:
        select(e.id);
        return;
      case connectivity_state::idle:
        index_ = index;
        helper_.connect(e.id);
        return;
      case connectivity_state::connecting:
        index_ = index;  // already on its way (reused from an earlier pass)
        return;
      case connectivity_state::transient_failure:
      case connectivity_state::shutdown:
        continue;  // in backoff: it rejoins when it reports IDLE after the pass
    }
  }
  pass_failed();
}

void pick_first::pass_failed() {
  mode_ = mode::failed;
  helper_.request_reresolution();
  publish(connectivity_state::transient_failure,
          std::make_shared<fail_picker>(status{status_code::unavailable, list_.failure_summary()}));
  // Subchannels whose backoff ended during the pass are IDLE already; nothing else would
  // reconnect them.
  std::vector<subchannel_id> idle;
  for (const auto& e : list_.entries())
    if (e.state == connectivity_state::idle)
      idle.push_back(e.id);
  for (auto id : idle)
    helper_.connect(id);
}

void pick_first::select(subchannel_id id) {
  const auto* e = list_.find(id);
  if (e == nullptr)
    return;
  auto conn = e->conn;
  list_.retain_only(id, helper_);  // one pass: removing them one by one is O(n^2)
  mode_ = mode::ready;
  selected_ = id;
  publish(connectivity_state::ready, std::make_shared<single_picker>(std::move(conn)));
}

void pick_first::publish(connectivity_state s, picker_ptr p) {
  published_ = s;
  helper_.update_state(s, std::move(p));
}

}  // namespace achan
