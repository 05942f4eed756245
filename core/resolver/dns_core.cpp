#include "core/resolver/dns_core.hpp"

#include <algorithm>

namespace achan {

namespace {

void earliest(std::optional<time_point>& acc, time_point t) {
  if (!acc || t < *acc)
    acc = t;
}

}  // namespace

dns_core::dns_core(const dns_options& opts, std::uint64_t seed)
    : opts_(opts), retry_(opts.retry_backoff, seed) {}

void dns_core::start(time_point) {
  initial_due_ = true;
}

void dns_core::request(time_point) {
  requested_ = true;
}

std::optional<time_point> dns_core::due_at() const {
  if (in_flight_)
    return std::nullopt;
  std::optional<time_point> due;
  if (initial_due_)
    earliest(due, time_point::min());
  if (requested_)
    earliest(due, last_start_ ? *last_start_ + opts_.min_resolve_interval : time_point::min());
  if (refresh_at_)
    earliest(due, *refresh_at_);
  if (retry_at_)
    earliest(due, *retry_at_);
  return due;
}

bool dns_core::query_due(time_point now) const {
  auto due = due_at();
  return due && *due <= now;
}

std::optional<time_point> dns_core::next_wakeup() const {
  return due_at();
}

std::uint64_t dns_core::begin_query(time_point now) {
  in_flight_ = true;
  initial_due_ = requested_ = false;
  refresh_at_.reset();
  retry_at_.reset();
  last_start_ = now;
  return ++seq_;
}

std::optional<dns_outcome> dns_core::finish_query(std::uint64_t seq, time_point now,
                                                  const dns::lookup_result& r) {
  if (!in_flight_ || seq != seq_)
    return std::nullopt;
  in_flight_ = false;
  if (!r.ok() || r.addresses.empty()) {
    retry_at_ = now + std::chrono::duration_cast<clock_duration>(retry_.next_delay());
    return dns_outcome{
        status{status_code::unavailable, r.ok() ? "DNS lookup returned no addresses" : r.message}};
  }
  retry_.reset();
  if (opts_.refresh_interval > clock_duration::zero())
    earliest(refresh_at_, now + opts_.refresh_interval);
  if (opts_.honor_ttl && r.ttl)
    earliest(refresh_at_, now + std::max<clock_duration>(*r.ttl, opts_.ttl_floor));
  auto sorted = r.addresses;
  std::sort(sorted.begin(), sorted.end());
  if (last_sent_ && *last_sent_ == sorted)
    return std::nullopt;  // unchanged: the balancer already has it
  last_sent_ = std::move(sorted);
  return dns_outcome{r.addresses};
}

}  // namespace achan
