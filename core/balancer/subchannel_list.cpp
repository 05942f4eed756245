#include "core/balancer/subchannel_list.hpp"

#include <algorithm>
#include <unordered_map>
#include <unordered_set>
#include <utility>

namespace achan {

bool subchannel_list::update(const std::vector<std::string>& addresses, policy_helper& helper) {
  // Keys are copies: entries are moved out of entries_ while the map is still in use.
  std::unordered_map<std::string, std::size_t> old_index;
  old_index.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i)
    old_index.emplace(entries_[i].address, i);

  std::vector<subchannel_entry> next;
  next.reserve(addresses.size());
  std::vector<bool> kept(entries_.size(), false);
  std::unordered_set<std::string_view> seen;
  bool changed = false;
  for (const auto& addr : addresses) {
    if (!seen.insert(addr).second)
      continue;  // duplicate: the first occurrence decides the position
    if (auto it = old_index.find(addr); it != old_index.end()) {
      kept[it->second] = true;
      next.push_back(std::move(entries_[it->second]));
      continue;
    }
    changed = true;
    subchannel_entry e;
    e.address = addr;
    e.id = helper.create_subchannel(addr);
    counter_.record(connectivity_state::shutdown, e.state);
    next.push_back(std::move(e));
  }
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (kept[i])
      continue;
    changed = true;
    helper.shutdown_subchannel(entries_[i].id);
    counter_.record(entries_[i].state, connectivity_state::shutdown);
    if (last_failure_ == entries_[i].id)
      last_failure_.reset();
  }
  entries_ = std::move(next);
  reindex();
  return changed;
}

void subchannel_list::reindex() {
  position_.clear();
  position_.reserve(entries_.size());
  for (std::size_t i = 0; i < entries_.size(); ++i)
    position_.emplace(entries_[i].id, i);
}

subchannel_entry* subchannel_list::entry(subchannel_id id) noexcept {
  auto it = position_.find(id);
  return it == position_.end() ? nullptr : &entries_[it->second];
}

std::optional<connectivity_state> subchannel_list::apply(const subchannel_update& u) {
  auto* it = entry(u.id);
  if (!it)
    return std::nullopt;
  auto old = it->state;
  counter_.record(old, u.state);
  it->state = u.state;
  it->conn = u.state == connectivity_state::ready ? u.conn : nullptr;
  if (!u.last_error.ok())
    it->last_error = u.last_error;
  if (u.state == connectivity_state::transient_failure)
    last_failure_ = u.id;
  return old;
}

bool subchannel_list::remove(subchannel_id id, policy_helper& helper) {
  auto pos = position_.find(id);
  if (pos == position_.end())
    return false;
  auto it = entries_.begin() + static_cast<std::ptrdiff_t>(pos->second);
  helper.shutdown_subchannel(id);
  counter_.record(it->state, connectivity_state::shutdown);
  if (last_failure_ == id)
    last_failure_.reset();
  entries_.erase(it);
  reindex();
  return true;
}

bool subchannel_list::retain_only(subchannel_id keep, policy_helper& helper) {
  auto pos = position_.find(keep);
  if (pos == position_.end())
    return false;
  auto kept_at = pos->second;
  for (std::size_t i = 0; i < entries_.size(); ++i) {
    if (i == kept_at)
      continue;
    helper.shutdown_subchannel(entries_[i].id);
    counter_.record(entries_[i].state, connectivity_state::shutdown);
  }
  if (last_failure_ != keep)
    last_failure_.reset();
  auto kept = std::move(entries_[kept_at]);
  entries_.clear();
  entries_.push_back(std::move(kept));
  reindex();
  return true;
}

void subchannel_list::shutdown_all(policy_helper& helper) {
  for (const auto& e : entries_) {
    helper.shutdown_subchannel(e.id);
    counter_.record(e.state, connectivity_state::shutdown);
  }
  entries_.clear();
  position_.clear();
  last_failure_.reset();
}

const subchannel_entry* subchannel_list::find(subchannel_id id) const noexcept {
  auto it = position_.find(id);
  return it == position_.end() ? nullptr : &entries_[it->second];
}

const subchannel_entry* subchannel_list::find_address(std::string_view address) const noexcept {
  for (const auto& e : entries_)
    if (e.address == address)
      return &e;
  return nullptr;
}

const subchannel_entry* subchannel_list::last_failure() const noexcept {
  return last_failure_ ? find(*last_failure_) : nullptr;
}

std::string subchannel_list::failure_summary() const {
  std::string out = "all " + std::to_string(entries_.size()) +
                    (entries_.size() == 1 ? " address failing" : " addresses failing");
  if (const auto* e = last_failure(); e != nullptr && !e->last_error.ok()) {
    out += "; last error: ";
    out += e->last_error.message.empty() ? std::string{to_string(e->last_error.code)}
                                         : e->last_error.message;
    out += " (" + e->address + ")";
  }
  return out;
}

}  // namespace achan
