#include "core/resolver/dns_core.hpp"

#include <algorithm>
#include <random>

#include "core/resolver/txt_service_config.hpp"

namespace achan {

namespace {

void earliest(std::optional<time_point>& acc, time_point t) {
  if (!acc || t < *acc)
    acc = t;
}

bool same(const status& a, const status& b) {
  return a.code == b.code && a.message == b.message;
}

bool same(const dns_outcome& a, const dns_outcome& b) {
  return a.addresses == b.addresses && a.service_config == b.service_config &&
         same(a.service_config_error, b.service_config_error);
}

}  // namespace

dns_core::dns_core(const dns_options& opts, std::uint64_t seed, std::string txt_name)
    : opts_(opts), retry_(opts.retry_backoff, seed), txt_name_(std::move(txt_name)) {
  // A stream apart from the jitter's (which uses `seed` itself). % 100 of 64 bits: the
  // bias is below 1e-17.
  std::mt19937_64 gen{seed ^ 0x9E3779B97F4A7C15ULL};
  roll_ = static_cast<unsigned>(gen() % 100);
}

void dns_core::choose_config(const dns::lookup_result& r, dns_outcome& out) const {
  if (txt_name_.empty())
    return;
  if (!r.txt_ok()) {
    out.service_config_error = {status_code::unavailable, r.txt_message};
    return;
  }
  auto chosen = choose_txt_service_config(r.txt, opts_.client_hostname, roll_);
  if (chosen)
    out.service_config = std::move(*chosen);
  else
    out.service_config_error = {chosen.error().code, "service config in TXT '" + txt_name_ +
                                                         "': " + chosen.error().message};
}

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
    dns_outcome out;
    out.error = {status_code::unavailable, r.ok() ? "DNS lookup returned no addresses" : r.message};
    return out;
  }
  retry_.reset();
  if (opts_.refresh_interval > clock_duration::zero())
    earliest(refresh_at_, now + opts_.refresh_interval);
  if (opts_.honor_ttl && r.ttl)
    earliest(refresh_at_, now + std::max<clock_duration>(*r.ttl, opts_.ttl_floor));
  dns_outcome out;
  out.addresses = r.addresses;
  choose_config(r, out);
  dns_outcome key = out;
  std::sort(key.addresses.begin(), key.addresses.end());
  if (last_sent_ && same(*last_sent_, key))
    return std::nullopt;  // unchanged: the balancer already has it
  last_sent_ = std::move(key);
  return out;
}

}  // namespace achan
