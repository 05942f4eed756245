#include "core/balancer/ring_hash.hpp"

#include <algorithm>
#include <utility>

#include "core/balancer/lb_json.hpp"

namespace achan {
namespace {

using cs = connectivity_state;

std::uint64_t ring_size(const sc_json::node& n) {
  auto i = sc_json::as_integer(*n.v);
  if (!i || i->negative || i->magnitude == 0 || i->magnitude > max_ring_size_limit)
    n.must_be("an integer from 1 to " + std::to_string(max_ring_size_limit));
  return i->magnitude;
}

// gRFC A76: a valid header name that is not binary. gRPC metadata keys are [0-9a-z_.-]
// (case-insensitive, so lower-cased first); a ':' prefix is an HTTP/2 pseudo-header.
std::string hash_header(const sc_json::node& n) {
  std::string h = n.text();
  std::transform(h.begin(), h.end(), h.begin(), [](unsigned char c) {
    return static_cast<char>(c >= 'A' && c <= 'Z' ? c - 'A' + 'a' : c);
  });
  if (h.empty())
    return h;
  if (h.front() == ':')
    n.fail("pseudo-header \"" + h + "\" cannot be hashed; name a request header");
  for (char c : h)
    if (!((c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '-' || c == '_' || c == '.'))
      n.fail("\"" + h + "\" is not a valid header name (allowed: 0-9 a-z - _ .)");
  if (h.size() >= 4 && h.compare(h.size() - 4, 4, "-bin") == 0)
    n.fail("binary header \"" + h + "\" cannot be hashed");
  return h;
}

}  // namespace

result<ring_hash_config> parse_ring_hash_config(std::string_view json, const std::string& path) {
  return parse_policy_config<ring_hash_config>(json, path, [](const sc_json::node& n) {
    ring_hash_config c;
    if (auto v = n.get("minRingSize"))
      c.min_ring_size = ring_size(*v);
    if (auto v = n.get("maxRingSize"))
      c.max_ring_size = ring_size(*v);
    if (c.min_ring_size > c.max_ring_size) {
      auto min = std::to_string(c.min_ring_size);
      auto max = std::to_string(c.max_ring_size);
      if (auto v = n.get("maxRingSize"))
        v->fail("must be at least minRingSize (" + min +
                (n.get("minRingSize") ? "" : " by default") + "), not " + max);
      n.need("minRingSize")
          .fail("must not exceed maxRingSize (" + max + " by default), not " + min);
    }
    if (auto v = n.get("requestHashHeader"))
      c.request_hash_header = hash_header(*v);
    return c;
  });
}

ring_hash::ring_hash(policy_helper& helper, std::uint64_t ring_size_cap)
    : helper_(helper),
      ring_size_cap_(std::max<std::uint64_t>(ring_size_cap, 1)),
      connector_(helper.connector()) {}

void ring_hash::update_addresses(const std::vector<std::string>& addresses, const lb_config& cfg) {
  if (shut_down_)
    return;
  auto parsed = parse_ring_hash_config(cfg.config, "ring_hash");
  if (!parsed) {
    publish_failure("invalid ring_hash config: " + parsed.error().message);
    addresses_.reset();  // the next valid update replaces this failure
    return;
  }
  parsed->min_ring_size = std::min(parsed->min_ring_size, ring_size_cap_);
  parsed->max_ring_size = std::min(parsed->max_ring_size, ring_size_cap_);
  if (addresses_ == addresses && *parsed == config_ && (!policy_failure_ || addresses.empty()))
    return;
  config_ = std::move(*parsed);
  addresses_ = addresses;
  if (addresses.empty()) {
    list_.shutdown_all(helper_);
    info_.clear();
    recount();
    ring_.reset();
    publish_failure("resolver returned an empty address list");
    return;
  }
  list_.update(addresses, helper_);
  // Each address weighs its resolver weight; duplicates add theirs (gRPC merges
  // duplicate endpoints, adding weights).
  std::unordered_map<std::string_view, std::uint32_t> weight;
  for (const auto& a : addresses)
    weight[a] += helper_.address_weight(a);
  std::vector<std::string> keys;
  std::vector<std::uint32_t> weights;
  std::unordered_map<subchannel_id, endpoint_info> info;
  for (const auto& e : list_.entries()) {
    keys.push_back(e.address);
    weights.push_back(weight[e.address]);
    auto it = info_.find(e.id);
    info.emplace(e.id, it == info_.end() ? endpoint_info{} : it->second);
  }
  info_ = std::move(info);
  recount();
  ring_ = std::make_shared<const hash_ring>(
      build_ring(keys, weights, config_.min_ring_size, config_.max_ring_size));
  evaluate();
}

void ring_hash::resolver_error(const status& st) {
  if (shut_down_ || !list_.empty())
    return;
  publish_failure("resolver error: " + st.message);
}

void ring_hash::on_subchannel_update(const subchannel_update& u) {
  if (shut_down_)
    return;
  const auto* e = list_.find(u.id);
  if (!e)
    return;  // a late update for a subchannel already removed
  auto before = effective(*e);
  auto old = *list_.apply(u);
  e = list_.find(u.id);
  auto& info = info_[u.id];
  info.connect_pending = false;
  if (u.state == cs::ready)
    info.sticky_failure = false;
  else if (u.state == cs::transient_failure)
    info.sticky_failure = true;
  else if (u.state == cs::idle && info.sticky_failure)
    helper_.connect(u.id);  // backoff over: a failing endpoint keeps trying until READY
  auto after = effective(*e);
  counts_.record(before, after);
  if (old == cs::ready && u.state != cs::ready)
    helper_.request_reresolution();
  // A TF endpoint retrying (TF -> IDLE -> CONNECTING) looks the same to pickers: nothing to
  // publish, except a new failure message.
  if (before == after && u.state != cs::ready && u.state != cs::transient_failure)
    return;
  if (published_ == aggregate() && helper_.defer_evaluation()) {
    dirty_ = true;
    return;
  }
  evaluate();
}

void ring_hash::flush() {
  if (shut_down_ || !dirty_)
    return;
  dirty_ = false;
  evaluate();
}

void ring_hash::shutdown() {
  if (shut_down_)
    return;
  shut_down_ = true;
  list_.shutdown_all(helper_);
  info_.clear();
}

connectivity_state ring_hash::effective(const subchannel_entry& e) const noexcept {
  if (e.state == cs::ready)
    return cs::ready;
  auto it = info_.find(e.id);
  if (it == info_.end())
    return e.state;
  if (it->second.sticky_failure)
    return cs::transient_failure;
  if (it->second.connect_pending && e.state == cs::idle)
    return cs::connecting;
  return e.state;
}

connectivity_state ring_hash::aggregate() const noexcept {
  if (counts_.count(cs::ready) > 0)
    return cs::ready;
  auto failing = counts_.count(cs::transient_failure);
  if (failing >= 2)
    return cs::transient_failure;
  if (counts_.count(cs::connecting) > 0)
    return cs::connecting;
  if (failing == 1 && list_.size() > 1)
    return cs::connecting;
  if (counts_.count(cs::idle) > 0)
    return cs::idle;
  return cs::transient_failure;
}

void ring_hash::recount() {
  counts_ = {};
  for (const auto& e : list_.entries())
    counts_.record(cs::shutdown, effective(e));
}

void ring_hash::connect(const subchannel_entry& e) {
  auto before = effective(e);
  info_[e.id].connect_pending = true;
  counts_.record(before, effective(e));
  helper_.connect(e.id);
}

void ring_hash::evaluate() {
  dirty_ = false;
  if (!ring_ || list_.empty())
    return;
  auto state = aggregate();
  // gRFC A42: without picks (a parent stopped sending them, or calls are rare) a failing
  // policy must still make progress, so one endpoint is always trying.
  if ((state == cs::connecting || state == cs::transient_failure) &&
      counts_.count(cs::connecting) == 0 && counts_.count(cs::idle) > 0) {
    for (const auto& e : list_.entries())
      if (effective(e) == cs::idle) {
        connect(e);
        break;
      }
    state = aggregate();
  }
  if (state == cs::transient_failure && published_ != cs::transient_failure)
    helper_.request_reresolution();
  std::vector<ring_endpoint_state> endpoints;
  endpoints.reserve(list_.size());
  for (const auto& e : list_.entries()) {
    ring_endpoint_state s{e.id, effective(e), nullptr, {}};
    if (s.state == cs::ready)
      s.conn = e.conn;
    if (s.state == cs::transient_failure) {
      std::string why = e.last_error.ok()              ? std::string{"connection failed"}
                        : e.last_error.message.empty() ? std::string{to_string(e.last_error.code)}
                                                       : e.last_error.message;
      s.failure = {
          status_code::unavailable,
          "ring_hash found no connected endpoint; first failure: " + why + " (" + e.address + ")"};
    }
    endpoints.push_back(std::move(s));
  }
  published_ = state;
  policy_failure_ = false;
  helper_.update_state(
      state, std::make_shared<ring_hash_picker>(ring_, endpoints, config_.request_hash_header,
                                                connector_, helper_.random()()));
}

void ring_hash::publish_failure(std::string message) {
  published_ = cs::transient_failure;
  policy_failure_ = true;
  helper_.update_state(cs::transient_failure, std::make_shared<fail_picker>(status{
                                                  status_code::unavailable, std::move(message)}));
}

}  // namespace achan
