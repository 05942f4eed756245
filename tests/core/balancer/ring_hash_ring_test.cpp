// ring_hash's config, ring and request hashes: validation messages, gRPC's ring sizes,
// consistent-hashing stability, distribution, requestHashHeader, allocation-free picks.
#include <doctest/doctest.h>

#include <algorithm>
#include <chrono>
#include <map>
#include <random>
#include <set>

#include <achan/service_config.hpp>
#include "core/balancer/registry.hpp"
#include "core/balancer/ring_hash.hpp"
#include "tests/support/allocation_counter.hpp"
#include "tests/support/fake_policy_helper.hpp"
#include "tests/support/seed.hpp"

using namespace achan;
using achan::test::fake_policy_helper;

namespace {

/// What a pick is told about a call.
pick_info info(const metadata* md, std::optional<std::uint64_t> hash = {},
               std::string_view method = {}) {
  pick_info i;
  i.method = method;
  i.md = md;
  i.hash = hash;
  return i;
}

std::string config_error(std::string_view json) {
  auto r = parse_ring_hash_config(json, "lb.ring_hash");
  return r ? std::string{} : r.error().message;
}

std::vector<std::string> backends(int n) {
  std::vector<std::string> out;
  for (int i = 0; i < n; ++i)
    out.push_back("10.0.0." + std::to_string(i + 1) + ":443");
  return out;
}

hash_ring ring_of(const std::vector<std::string>& addrs, std::uint64_t min_size = 1024,
                  std::uint64_t max_size = 4096) {
  return build_ring(addrs, std::vector<std::uint32_t>(addrs.size(), 1), min_size, max_size);
}

/// The endpoint (address) each key's hash lands on.
std::vector<std::string> owners(const hash_ring& ring, const std::vector<std::string>& addrs,
                                const std::vector<std::uint64_t>& keys) {
  std::vector<std::string> out;
  for (auto k : keys)
    out.push_back(addrs[ring[ring_index(ring, k)].endpoint]);
  return out;
}

std::vector<std::uint64_t> random_keys(std::size_t n) {
  auto seed = achan::test::test_seed();
  MESSAGE("seed " << seed);
  std::mt19937_64 rng{seed};
  std::vector<std::uint64_t> keys(n);
  for (auto& k : keys)
    k = rng();
  return keys;
}

/// A policy with every backend READY.
struct ready_ring {
  fake_policy_helper h;
  ring_hash rh{h};
  explicit ready_ring(const std::vector<std::string>& addrs, std::string cfg = "{}") {
    rh.update_addresses(addrs, lb_config{.name = "ring_hash", .config = std::move(cfg)});
    for (const auto& a : addrs)
      rh.on_subchannel_update(h.ready(h.id_of(a)));
  }
  std::string pick(const pick_info& info) const {
    auto r = h.picker->pick(info);
    REQUIRE(r.what == pick_result::kind::complete);
    return (*r.conn)->address();
  }
};

}  // namespace

TEST_CASE("ring_hash config: defaults and accepted values") {
  auto d = parse_ring_hash_config("{}", "p");
  REQUIRE(d);
  CHECK(*d == ring_hash_config{1024, 4096, ""});
  auto c = parse_ring_hash_config(
      R"({"minRingSize": "10", "maxRingSize": 8388608, "requestHashHeader": "X-User-Id"})", "p");
  REQUIRE(c);
  CHECK(c->min_ring_size == 10);
  CHECK(c->max_ring_size == 8388608);
  CHECK(c->request_hash_header == "x-user-id");
  auto n = parse_ring_hash_config(R"({"minRingSize": null, "requestHashHeader": ""})", "p");
  REQUIRE(n);
  CHECK(*n == ring_hash_config{});
}

TEST_CASE("ring_hash config: errors name the field") {
  CHECK(config_error(R"({"minRingSize": 0})") ==
        "lb.ring_hash.minRingSize: must be an integer from 1 to 8388608, not 0");
  CHECK(config_error(R"({"maxRingSize": 8388609})") ==
        "lb.ring_hash.maxRingSize: must be an integer from 1 to 8388608, not 8388609");
  CHECK(config_error(R"({"minRingSize": 1.5})") ==
        "lb.ring_hash.minRingSize: must be an integer from 1 to 8388608, not 1.5");
  CHECK(config_error(R"({"maxRingSize": -1})") ==
        "lb.ring_hash.maxRingSize: must be an integer from 1 to 8388608, not -1");
  CHECK(config_error(R"({"minRingSize": 100, "maxRingSize": 10})") ==
        "lb.ring_hash.maxRingSize: must be at least minRingSize (100), not 10");
  CHECK(config_error(R"({"maxRingSize": 10})") ==
        "lb.ring_hash.maxRingSize: must be at least minRingSize (1024 by default), not 10");
  CHECK(config_error(R"({"minRingSize": 5000})") ==
        "lb.ring_hash.minRingSize: must not exceed maxRingSize (4096 by default), not 5000");
  CHECK(config_error(R"({"requestHashHeader": 7})") ==
        "lb.ring_hash.requestHashHeader: must be a string, not 7");
  CHECK(config_error(R"({"requestHashHeader": ":path"})") ==
        "lb.ring_hash.requestHashHeader: pseudo-header \":path\" cannot be hashed; name a "
        "request header");
  CHECK(config_error(R"({"requestHashHeader": "Trace-Bin"})") ==
        "lb.ring_hash.requestHashHeader: binary header \"trace-bin\" cannot be hashed");
  CHECK(config_error(R"({"requestHashHeader": "user id"})") ==
        "lb.ring_hash.requestHashHeader: \"user id\" is not a valid header name (allowed: 0-9 "
        "a-z - _ .)");
  CHECK(config_error("[]") == "lb.ring_hash: must be an object, not []");
  CHECK(config_error("{").rfind("lb.ring_hash: not valid JSON: ", 0) == 0);
}

TEST_CASE("ring_hash config: registered with a validator under both names") {
  const auto& r = policy_registry::builtins();
  REQUIRE(r.find("ring_hash") != nullptr);
  REQUIRE(r.find("ring_hash_experimental") != nullptr);
  CHECK(r.config_error("ring_hash", R"({"minRingSize": 2048})", "x").empty());
  CHECK(r.config_error("ring_hash_experimental", R"({"minRingSize": 0})", "x") ==
        "x.minRingSize: must be an integer from 1 to 8388608, not 0");
  auto sc = parse_service_config(
      R"({"loadBalancingConfig": [{"ring_hash": {"requestHashHeader": "a-bin"}}]})");
  REQUIRE(!sc);
  CHECK(sc.error().message ==
        "loadBalancingConfig[0].ring_hash.requestHashHeader: binary header \"a-bin\" cannot be "
        "hashed");
  fake_policy_helper h;
  auto p = (*r.find("ring_hash_experimental"))(h);
  CHECK(dynamic_cast<ring_hash*>(p.get()) != nullptr);
}

TEST_CASE("ring_hash ring: sizes follow gRPC's formula and weights") {
  CHECK(ring_of(backends(10)).size() == 1030);  // ceil(1024 / 10) entries each
  CHECK(ring_of(backends(4), 1, 4096).size() == 4);
  CHECK(ring_of(backends(10), 4096, 4096).size() == 4096);  // clamped to maxRingSize
  CHECK(ring_of(backends(1000)).size() == 2000);            // 2 each: a whole number
  // A weight of 2 (an address listed twice) doubles the share.
  auto addrs = backends(3);
  auto ring = build_ring(addrs, {2, 1, 1}, 1024, 4096);
  std::map<std::uint32_t, int> per;
  for (const auto& e : ring)
    ++per[e.endpoint];
  CHECK(ring.size() == 1024);
  CHECK(per == std::map<std::uint32_t, int>{{0, 512}, {1, 256}, {2, 256}});
  CHECK(std::is_sorted(ring.begin(), ring.end(),
                       [](const auto& a, const auto& b) { return a.hash < b.hash; }));
  // Entry j of an endpoint is XXH64("<address>_<j>").
  std::set<std::uint64_t> hashes;
  for (const auto& e : ring_of({"h:1"}, 4, 4))
    hashes.insert(e.hash);
  CHECK(hashes ==
        std::set<std::uint64_t>{xxh64("h:1_0"), xxh64("h:1_1"), xxh64("h:1_2"), xxh64("h:1_3")});
  CHECK(xxh64("") == 0xef46db3751d8e999ULL);  // XXH64's published empty-input value
}

TEST_CASE("ring_hash ring: 4096 entries for 1000 addresses build in milliseconds") {
  auto t0 = std::chrono::steady_clock::now();
  auto ring = ring_of(backends(1000), 4096, 4096);
  auto took = std::chrono::steady_clock::now() - t0;
  MESSAGE("built " << ring.size() << " entries in "
                   << std::chrono::duration<double, std::milli>(took).count() << " ms");
  CHECK(ring.size() >= 4096);
  CHECK(took < std::chrono::milliseconds(200));  // ~0.4 ms optimised, a few under ASan
}

TEST_CASE("ring_hash ring: the index is the first entry at or above the hash") {
  hash_ring ring{{10, 0}, {20, 1}, {30, 2}};
  CHECK(ring_index(ring, 0) == 0);
  CHECK(ring_index(ring, 10) == 0);
  CHECK(ring_index(ring, 11) == 1);
  CHECK(ring_index(ring, 30) == 2);
  CHECK(ring_index(ring, 31) == 0);  // wraps
  CHECK(ring_index(ring, ~0ULL) == 0);
}

TEST_CASE("ring_hash ring: adding an 11th of 10 backends gives it about 1/11 of the keys") {
  auto keys = random_keys(10'000);
  auto ten = backends(10);
  auto eleven = backends(11);
  // minRingSize 100 keeps 10 entries per backend for 10 and for 11 backends: then only the
  // keys the new backend takes move.
  auto before = owners(ring_of(ten, 100), ten, keys);
  auto after = owners(ring_of(eleven, 100), eleven, keys);
  int moved = 0;
  for (std::size_t i = 0; i < keys.size(); ++i)
    if (before[i] != after[i]) {
      ++moved;
      CHECK(after[i] == eleven.back());
    }
  MESSAGE(moved << " of 10000 keys moved");
  CHECK(moved == doctest::Approx(10'000.0 / 11).epsilon(0.3));
  // With the default sizes each backend's count shrinks from 103 to 94 entries: the new
  // backend still takes about 1/11, and the keys of the dropped entries move as well.
  before = owners(ring_of(ten), ten, keys);
  after = owners(ring_of(eleven), eleven, keys);
  int to_new = 0;
  moved = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    moved += before[i] != after[i];
    to_new += after[i] == eleven.back();
  }
  MESSAGE(to_new << " keys moved to the new backend, " << moved << " in all");
  CHECK(to_new == doctest::Approx(10'000.0 / 11).epsilon(0.3));
  CHECK(moved < 2 * 10'000 / 11);
}

TEST_CASE("ring_hash ring: removing one of 10 backends moves only its keys") {
  auto keys = random_keys(10'000);
  auto ten = backends(10);
  auto nine = ten;
  nine.erase(nine.begin() + 4);
  // minRingSize 81 keeps 9 entries per backend for 10 and for 9 backends.
  auto before = owners(ring_of(ten, 81), ten, keys);
  auto after = owners(ring_of(nine, 81), nine, keys);
  int moved = 0;
  for (std::size_t i = 0; i < keys.size(); ++i) {
    if (before[i] == ten[4])
      CHECK(after[i] != ten[4]);
    else
      CHECK(after[i] == before[i]);
    moved += before[i] != after[i];
  }
  MESSAGE(moved << " of 10000 keys moved");
  CHECK(moved > 0);
}

TEST_CASE("ring_hash ring: 10000 random keys spread within 25 percent over 10 backends") {
  auto keys = random_keys(10'000);
  auto addrs = backends(10);
  std::map<std::string, int> per;
  for (const auto& a : owners(ring_of(addrs, 4096, 4096), addrs, keys))
    ++per[a];
  REQUIRE(per.size() == 10);
  for (const auto& [a, n] : per) {
    INFO(a << " got " << n);
    CHECK(n == doctest::Approx(1000).epsilon(0.25));
  }
}

TEST_CASE("ring_hash: the same request hash always picks the same backend") {
  ready_ring r{backends(10)};
  for (std::uint64_t k : random_keys(200)) {
    auto first = r.pick(info(nullptr, k));
    CHECK(r.pick(info(nullptr, k)) == first);
    CHECK(r.pick(info(nullptr, k, "/other.Svc/M")) == first);
  }
}

TEST_CASE("ring_hash: requestHashHeader picks by the header's values") {
  ready_ring r{backends(10), R"({"requestHashHeader": "X-Shard"})"};
  metadata md{{"x-other", "1"}, {"x-shard", "tenant-7"}};
  auto a = r.pick(info(&md));
  for (int i = 0; i < 20; ++i)
    CHECK(r.pick(info(&md)) == a);
  const auto& ring = dynamic_cast<const ring_hash_picker&>(*r.h.picker).ring();
  CHECK(a == backends(10)[ring[ring_index(ring, xxh64("tenant-7"))].endpoint]);
  // Repeated: the values joined with ",".
  metadata twice{{"x-shard", "a"}, {"x-other", "1"}, {"x-shard", "b"}};
  CHECK(header_hash(twice, "x-shard") == xxh64("a,b"));
  metadata joined{{"x-shard", "a,b"}};
  CHECK(r.pick(info(&twice)) == r.pick(info(&joined)));
  CHECK(header_hash(twice, "x-none") == std::nullopt);
  // Different values spread.
  std::set<std::string> seen;
  for (int i = 0; i < 100; ++i) {
    metadata m{{"x-shard", "tenant-" + std::to_string(i)}};
    seen.insert(r.pick(info(&m)));
  }
  CHECK(seen.size() == 10);
}

TEST_CASE("ring_hash: a user-set request hash wins over the header") {
  ready_ring r{backends(10), R"({"requestHashHeader": "x-shard"})"};
  metadata md{{"x-shard", "tenant-7"}};
  const auto& ring = dynamic_cast<const ring_hash_picker&>(*r.h.picker).ring();
  for (std::uint64_t k : random_keys(50))
    CHECK(r.pick(info(&md, k)) == backends(10)[ring[ring_index(ring, k)].endpoint]);
}

TEST_CASE("ring_hash: random hashes follow the seeded generator") {
  auto picks = [](std::uint64_t seed) {
    fake_policy_helper h{seed};
    ring_hash rh{h};
    auto addrs = backends(10);
    rh.update_addresses(addrs, lb_config{.name = "ring_hash"});
    for (const auto& a : addrs)
      rh.on_subchannel_update(h.ready(h.id_of(a)));
    std::vector<std::string> out;
    for (int i = 0; i < 50; ++i)
      out.push_back((*h.picker->pick({}).conn)->address());
    return out;
  };
  CHECK(picks(7) == picks(7));
  CHECK(picks(7) != picks(8));
  auto spread = picks(7);
  CHECK(std::set<std::string>(spread.begin(), spread.end()).size() > 5);
}

TEST_CASE("ring_hash: a pick allocates nothing") {
  if (!achan::test::allocation_counter::available()) {
    MESSAGE("no sanitizer runtime: allocations not counted");
    return;
  }
  ready_ring r{backends(100), R"({"requestHashHeader": "x-shard"})"};
  metadata md{{"x-shard", "a"}, {"x-shard", "b"}};
  std::uint64_t allocations = 0;
  {
    achan::test::allocation_counter count;
    for (std::uint64_t i = 0; i < 1000; ++i) {
      (void)r.h.picker->pick(info(nullptr, i * 0x9e3779b97f4a7c15ULL));
      (void)r.h.picker->pick(info(&md));
      (void)r.h.picker->pick({});
    }
    allocations = count.allocations();
  }
  CHECK(allocations == 0);
}
