#include "core/balancer/ring_hash_picker.hpp"

#include <algorithm>
#include <charconv>
#include <cmath>
#include <utility>

#define XXH_STATIC_LINKING_ONLY  // XXH64_state_t on the stack: no allocation per pick
#include <xxhash.h>

namespace achan {

std::uint64_t xxh64(std::string_view bytes) noexcept {
  return XXH64(bytes.data(), bytes.size(), 0);
}

std::optional<std::uint64_t> header_hash(const metadata& md, std::string_view key) noexcept {
  const std::string* first = nullptr;
  XXH64_state_t joined;
  bool repeated = false;
  for (const auto& [k, v] : md) {
    if (k != key)
      continue;
    if (!first) {
      first = &v;
      continue;
    }
    if (!repeated) {
      repeated = true;
      XXH64_reset(&joined, 0);
      XXH64_update(&joined, first->data(), first->size());
    }
    XXH64_update(&joined, ",", 1);
    XXH64_update(&joined, v.data(), v.size());
  }
  if (!first)
    return std::nullopt;
  return repeated ? XXH64_digest(&joined) : xxh64(*first);
}

hash_ring build_ring(const std::vector<std::string>& keys,
                     const std::vector<std::uint32_t>& weights, std::uint64_t min_ring_size,
                     std::uint64_t max_ring_size) {
  hash_ring ring;
  if (keys.empty())
    return ring;
  // The arithmetic (doubles, running sums) is gRPC's, so the same addresses and weights
  // give the same ring as in a gRPC client.
  std::uint64_t sum = 0;
  for (auto w : weights)
    sum += std::max<std::uint32_t>(w, 1);
  double min_normalized = 1.0;
  for (auto w : weights)
    min_normalized =
        std::min(static_cast<double>(std::max<std::uint32_t>(w, 1)) / sum, min_normalized);
  const double scale = std::min(std::ceil(min_normalized * min_ring_size) / min_normalized,
                                static_cast<double>(max_ring_size));
  ring.reserve(static_cast<std::size_t>(std::ceil(scale)));
  std::string key;
  double current = 0.0;
  double target = 0.0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    key.assign(keys[i]).push_back('_');
    const auto base = key.size();
    target += scale * (static_cast<double>(std::max<std::uint32_t>(weights[i], 1)) / sum);
    for (std::uint64_t count = 0; current < target; ++count, ++current) {
      char digits[24];
      auto end = std::to_chars(digits, digits + sizeof digits, count).ptr;
      key.resize(base);
      key.append(digits, end);
      ring.push_back({xxh64(key), static_cast<std::uint32_t>(i)});
    }
  }
  std::sort(ring.begin(), ring.end(), [](const ring_entry& a, const ring_entry& b) {
    return a.hash != b.hash ? a.hash < b.hash : a.endpoint < b.endpoint;
  });
  return ring;
}

std::size_t ring_index(const hash_ring& ring, std::uint64_t hash) noexcept {
  // gRPC's (ketama's) search finds the same entry: the first whose hash is >= `hash`.
  auto it = std::lower_bound(ring.begin(), ring.end(), hash,
                             [](const ring_entry& e, std::uint64_t h) { return e.hash < h; });
  return it == ring.end() ? 0 : static_cast<std::size_t>(it - ring.begin());
}

ring_hash_picker::ring_hash_picker(std::shared_ptr<const hash_ring> ring,
                                   const std::vector<ring_endpoint_state>& endpoints,
                                   std::string request_hash_header,
                                   std::function<void(subchannel_id)> connect, std::uint64_t seed)
    : ring_(std::move(ring)),
      endpoints_(std::make_unique<endpoint[]>(endpoints.size())),
      header_(std::move(request_hash_header)),
      connect_(std::move(connect)),
      random_state_(seed) {
  for (std::size_t i = 0; i < endpoints.size(); ++i) {
    auto& e = endpoints_[i];
    e.id = endpoints[i].id;
    e.state = endpoints[i].state;
    e.conn = endpoints[i].conn;
    e.failure = endpoints[i].failure;
    any_connecting_ = any_connecting_ || e.state == connectivity_state::connecting;
    any_usable_ = any_usable_ || e.state != connectivity_state::transient_failure;
  }
}

void ring_hash_picker::request_connect(const endpoint& e) const noexcept {
  if (connect_ && !e.connect_requested.exchange(true, std::memory_order_relaxed))
    connect_(e.id);
}

std::uint64_t ring_hash_picker::random_hash() const noexcept {
  // splitmix64: a counter stepped by the golden gamma, then mixed.
  auto z = random_state_.fetch_add(0x9e3779b97f4a7c15ULL, std::memory_order_relaxed) +
           0x9e3779b97f4a7c15ULL;
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

pick_result ring_hash_picker::pick(const pick_info& info) const noexcept {
  if (ring_->empty())
    return {};
  std::optional<std::uint64_t> hash = info.hash;
  if (!hash && !header_.empty() && info.md)
    hash = header_hash(*info.md, header_);
  if (!hash)
    return walk_random(ring_index(*ring_, random_hash()));
  return walk(ring_index(*ring_, *hash));
}

pick_result ring_hash_picker::walk(std::size_t first) const noexcept {
  if (!any_usable_)
    return fail_at(first);
  const auto& ring = *ring_;
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const auto& e = endpoints_[ring[(first + i) % ring.size()].endpoint];
    switch (e.state) {
      case connectivity_state::ready:
        return {pick_result::kind::complete, &e.conn, nullptr};
      case connectivity_state::idle:
        request_connect(e);
        return {};
      case connectivity_state::connecting:
        return {};
      default:
        break;  // TRANSIENT_FAILURE: the next entry is the fallback
    }
  }
  return fail_at(first);
}

pick_result ring_hash_picker::walk_random(std::size_t first) const noexcept {
  // gRFC A76: the first READY endpoint; without one, at most one connection attempt.
  // Every random pick of this picker shares that one attempt, so a call re-picked with a
  // new random hash does not wake a second endpoint.
  bool requested = any_connecting_ || random_connect_requested_.load(std::memory_order_relaxed);
  const auto& ring = *ring_;
  for (std::size_t i = 0; i < ring.size(); ++i) {
    const auto& e = endpoints_[ring[(first + i) % ring.size()].endpoint];
    if (e.state == connectivity_state::ready)
      return {pick_result::kind::complete, &e.conn, nullptr};
    if (!requested && e.state == connectivity_state::idle) {
      requested = true;
      if (!random_connect_requested_.exchange(true, std::memory_order_relaxed))
        request_connect(e);
    }
  }
  if (requested)
    return {};
  return fail_at(first);
}

pick_result ring_hash_picker::fail_at(std::size_t first) const noexcept {
  return {pick_result::kind::fail, nullptr, &endpoints_[(*ring_)[first].endpoint].failure};
}

}  // namespace achan
