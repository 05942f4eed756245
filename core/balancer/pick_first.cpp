#include "core/balancer/pick_first.hpp"

#include <algorithm>
#include <array>
#include <memory>
#include <string_view>
#include <utility>

namespace achan {
namespace {

enum class family : std::uint8_t { other, ipv6, unix_socket };
constexpr std::size_t family_count = 3;

family family_of(std::string_view address) noexcept {
  if (!address.empty() && address.front() == '[')
    return family::ipv6;
  if (address.starts_with("unix:") || address.starts_with("unix-abstract:"))
    return family::unix_socket;
  return family::other;
}

}  // namespace

std::vector<std::string> pick_first::interleave_families(std::vector<std::string> addresses) {
  std::array<std::vector<std::size_t>, family_count> members;  // indices, in list order
  std::array<std::size_t, family_count> order{};               // families by first appearance
  std::size_t families = 0;
  for (std::size_t i = 0; i < addresses.size(); ++i) {
    auto f = static_cast<std::size_t>(family_of(addresses[i]));
    if (members[f].empty())
      order[families++] = f;
    members[f].push_back(i);
  }
  if (families < 2)
    return addresses;  // nothing to interleave: keep the list (and skip the copy)
  std::vector<std::string> out;
  out.reserve(addresses.size());
  std::array<std::size_t, family_count> next{};
  while (out.size() < addresses.size()) {
    for (std::size_t k = 0; k < families; ++k) {
      auto f = order[k];
      if (next[f] < members[f].size())
        out.push_back(std::move(addresses[members[f][next[f]++]]));
    }
  }
  return out;
}

void pick_first::update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) {
  if (mode_ == mode::shut_down)
    return;
  if (last_input_ && *last_input_ == addresses && last_shuffle_ == cfg.shuffle_address_list)
    return;  // resolvers resend unchanged lists; do not disturb a pass or a selection
  last_input_ = addresses;
  last_shuffle_ = cfg.shuffle_address_list;
  addresses_ = addresses;
  // A61: shuffle first (A62), then interleave, so a shuffled list still alternates.
  if (cfg.shuffle_address_list)
    std::shuffle(addresses_.begin(), addresses_.end(), helper_.random());
  addresses_ = interleave_families(std::move(addresses_));

  if (addresses_.empty()) {
    list_.shutdown_all(helper_);
    selected_.reset();
    mode_ = mode::failed;
    attempt_timed_ = false;
    publish_failure("resolver returned an empty address list");
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
  publish_failure("resolver error: " + st.message);
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
      if (u.state == connectivity_state::ready)
        select(u.id);
      else
        on_trying_update(u, static_cast<std::size_t>(list_.find(u.id) - list_.entries().data()));
      return;
    case mode::failed:
      switch (u.state) {
        case connectivity_state::ready:
          select(u.id);
          return;
        case connectivity_state::idle:
          helper_.connect(u.id);  // its backoff is over: try again, first READY wins
          return;
        case connectivity_state::transient_failure:
          // A61: as many failures as subchannels (not necessarily one each) count as
          // another failed pass: re-resolve and publish the latest error.
          if (++failures_ >= list_.size()) {
            failures_ = 0;
            helper_.request_reresolution();
            publish_failure(list_.failure_summary());
          }
          return;
        case connectivity_state::connecting:
        case connectivity_state::shutdown:
          return;  // sticky: CONNECTING after backoff is not published
      }
      return;
    case mode::waiting:
    case mode::idle:
    case mode::shut_down:
      return;
  }
}

void pick_first::on_trying_update(const subchannel_update& u, std::size_t index) {
  switch (u.state) {
    case connectivity_state::transient_failure:
      if (!failed_once_[index]) {
        failed_once_[index] = true;
        --not_failed_;
      }
      if (index == attempting_) {
        attempt_timed_ = false;  // failed before its delay: the next address at once
        ++attempting_;
        start_next_attempt();
      } else {
        maybe_finish_pass();  // an earlier, parallel attempt failed: maybe the last one
      }
      return;
    case connectivity_state::idle:
      // An attempt that ended without failing is restarted. One that failed waits for
      // the end of the pass (like gRPC), when every IDLE subchannel reconnects.
      if (index == attempting_ || (index < attempting_ && !failed_once_[index]))
        helper_.connect(u.id);
      return;
    case connectivity_state::connecting:
    case connectivity_state::ready:
    case connectivity_state::shutdown:
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
  attempt_timed_ = false;
  list_.shutdown_all(helper_);
}

void pick_first::start_pass() {
  mode_ = mode::trying;
  selected_.reset();
  attempt_timed_ = false;
  failures_ = 0;
  const auto& entries = list_.entries();
  if (list_.counter().count(connectivity_state::ready) > 0) {
    for (const auto& e : entries)
      if (e.state == connectivity_state::ready) {
        select(e.id);  // a reused subchannel that is READY already wins at once
        return;
      }
  }
  // A subchannel in backoff (reused from an earlier pass) has failed already.
  failed_once_.assign(entries.size(), false);
  not_failed_ = entries.size();
  for (std::size_t i = 0; i < entries.size(); ++i)
    if (entries[i].state == connectivity_state::transient_failure) {
      failed_once_[i] = true;
      --not_failed_;
    }
  attempting_ = 0;
  start_next_attempt();
  // Sticky TRANSIENT_FAILURE (A62): a new pass does not hide an earlier failure.
  if (mode_ == mode::trying && published_ != connectivity_state::connecting &&
      published_ != connectivity_state::transient_failure)
    publish(connectivity_state::connecting, std::make_shared<queue_picker>());
}

void pick_first::start_next_attempt() {
  const auto& entries = list_.entries();
  for (; attempting_ < entries.size(); ++attempting_) {
    const auto& e = entries[attempting_];
    if (e.state == connectivity_state::transient_failure || e.state == connectivity_state::shutdown)
      continue;  // in backoff: counts as an attempt made; it rejoins after the pass
    if (e.state == connectivity_state::idle)
      helper_.connect(e.id);
    // CONNECTING: on its way already (reused from an earlier pass), timed all the same.
    if (attempting_ + 1 < entries.size())
      arm_attempt_timer();
    return;
  }
  maybe_finish_pass();
}

void pick_first::arm_attempt_timer() {
  ++attempt_gen_;
  attempt_timed_ = true;
  attempt_deadline_ = now() + connection_attempt_delay;
  if (timer_pending_)
    return;  // the pending one fires no later than this deadline and re-arms for it
  timer_pending_ = true;
  helper_.run_after(connection_attempt_delay, [this] { on_attempt_timer(); });
}

void pick_first::on_attempt_timer() {
  timer_pending_ = false;
  if (mode_ != mode::trying || !attempt_timed_)
    return;  // the attempt it timed is over and nothing else is timed: no re-arm
  auto t = now();
  if (t < attempt_deadline_ && rearmed_for_ != attempt_gen_) {
    // Armed for an earlier attempt: wait out the current one's delay. Once per attempt,
    // so a host whose clock lags its timers cannot make this loop.
    rearmed_for_ = attempt_gen_;
    timer_pending_ = true;
    helper_.run_after(attempt_deadline_ - t, [this] { on_attempt_timer(); });
    return;
  }
  attempt_timed_ = false;
  ++attempting_;  // still undecided: the next address joins in, this one keeps going
  start_next_attempt();
}

void pick_first::maybe_finish_pass() {
  if (attempting_ < list_.size() || not_failed_ > 0)
    return;  // an address not tried yet, or an attempt still undecided
  pass_failed();
}

void pick_first::pass_failed() {
  mode_ = mode::failed;
  attempt_timed_ = false;
  failures_ = 0;
  helper_.request_reresolution();
  publish_failure(list_.failure_summary());
  // From now on every subchannel reconnects when its backoff ends. Those whose backoff
  // ended during the pass are IDLE already; nothing else would reconnect them.
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
  attempt_timed_ = false;
  selected_ = id;
  publish(connectivity_state::ready, std::make_shared<single_picker>(std::move(conn)));
}

void pick_first::publish(connectivity_state s, picker_ptr p) {
  published_ = s;
  helper_.update_state(s, std::move(p));
}

void pick_first::publish_failure(std::string message) {
  publish(connectivity_state::transient_failure,
          std::make_shared<fail_picker>(status{status_code::unavailable, std::move(message)}));
}

time_point pick_first::now() {
  if (!clock_)
    clock_ = helper_.clock();
  return clock_->now();
}

}  // namespace achan
