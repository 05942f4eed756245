#include "core/etcd/prefix_view.hpp"

#include <algorithm>
#include <set>

namespace achan::etcd {

prefix_view::prefix_view(std::string prefix, std::size_t max_keys, std::int64_t page_size)
    : prefix_(std::move(prefix)),
      range_end_(prefix_range_end(prefix_)),
      max_keys_(max_keys),
      page_size_(page_size) {}

range_request prefix_view::first_page() {
  staging_.clear();
  staging_revision_ = 0;
  last_key_.clear();
  return range_request{prefix_, range_end_, page_size_, 0};
}

void prefix_view::put(std::map<std::string, endpoint_value>& into, const key_value& kv) {
  auto name = std::string_view(kv.key).substr(std::min(prefix_.size(), kv.key.size()));
  auto v = parse_endpoint_value(name, kv.key, kv.value);
  if (auto* m = std::get_if<malformed>(&v)) {
    notes_.push_back(m->message);
    into.erase(kv.key);  // a key rewritten with a bad value no longer names its old endpoint
    return;
  }
  into.insert_or_assign(kv.key, std::move(v));
}

result<std::optional<range_request>> prefix_view::on_page(const range_response& page) {
  if (page.revision <= 0)
    return status{status_code::internal, "etcd Range answer has no revision"};
  if (staging_revision_ == 0)
    staging_revision_ = page.revision;
  else if (page.revision != staging_revision_)
    return status{status_code::internal, "etcd Range page answered at another revision"};
  for (const auto& kv : page.kvs) {
    if (kv.key.compare(0, prefix_.size(), prefix_) != 0 ||
        (!last_key_.empty() && kv.key <= last_key_))
      return status{status_code::internal, "etcd Range answer holds a key out of order or range"};
    last_key_ = kv.key;
    put(staging_, kv);
    if (staging_.size() > max_keys_)
      return status{
          status_code::resource_exhausted,
          "etcd prefix '" + prefix_ + "' holds more than " + std::to_string(max_keys_) + " keys"};
  }
  if (page.more) {
    if (page.kvs.empty())
      return status{status_code::internal, "etcd Range answer says more but holds no key"};
    return std::optional<range_request>{
        range_request{last_key_ + std::string(1, '\0'), range_end_, page_size_, staging_revision_}};
  }
  keys_ = std::move(staging_);
  staging_.clear();
  revision_ = staging_revision_;
  skip_through_ = revision_;
  in_fragment_ = false;
  return std::optional<range_request>{};
}

watch_create prefix_view::watch_request() const {
  return watch_create{prefix_, range_end_, revision_ + 1, true};
}

prefix_view::watch_step prefix_view::on_watch(const watch_response& w) {
  if (w.canceled) {
    in_fragment_ = false;
    if (w.compact_revision > 0) {
      notes_.push_back("etcd compacted the history past revision " + std::to_string(revision_) +
                       " (to " + std::to_string(w.compact_revision) + "): listing again");
      return watch_step::relist;
    }
    notes_.push_back("etcd cancelled the watch" +
                     (w.cancel_reason.empty() ? std::string{} : ": " + w.cancel_reason));
    return watch_step::rewatch;
  }
  if (!in_fragment_)
    skip_through_ = revision_;
  in_fragment_ = w.fragment;
  bool changed = false;
  for (const auto& e : w.events) {
    if (e.kv.mod_revision <= skip_through_)
      continue;  // already applied (a resumed watch repeating history)
    if (e.kv.key.compare(0, prefix_.size(), prefix_) != 0)
      continue;
    revision_ = std::max(revision_, e.kv.mod_revision);
    if (e.is_delete) {
      changed |= keys_.erase(e.kv.key) > 0;
      continue;
    }
    if (!keys_.count(e.kv.key) && keys_.size() >= max_keys_) {
      notes_.push_back("etcd key '" + e.kv.key + "' skipped: the prefix already holds " +
                       std::to_string(max_keys_) + " keys");
      continue;
    }
    put(keys_, e.kv);
    changed = true;
  }
  // A progress notification (no events, not the creation) says every event up to its
  // header revision was sent: a resumed watch can start after it.
  if (w.events.empty() && !w.created && !w.fragment)
    revision_ = std::max(revision_, w.revision);
  return changed ? watch_step::changed : watch_step::nothing;
}

prefix_snapshot prefix_view::current() const {
  prefix_snapshot out;
  std::set<std::string_view> seen;
  bool weighted = false;
  for (const auto& [key, v] : keys_) {
    if (const auto* sc = std::get_if<service_config_text>(&v)) {
      out.service_config = sc->json;
    } else if (const auto* e = std::get_if<endpoint>(&v)) {
      if (!seen.insert(e->address).second)
        continue;
      out.addresses.push_back(e->address);
      out.weights.push_back(e->weight);
      weighted |= e->weight != 1;
    }
  }
  if (!weighted)
    out.weights.clear();
  return out;
}

}  // namespace achan::etcd
