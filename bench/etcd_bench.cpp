// The etcd resolver's figures (issue 17), against a running etcd (bench/etcd.sh starts
// one on loopback):
//   update latency: a Put of one key under a watched prefix (sent by this process over its
//     own channel to etcd) → the channel's balancer holding the new address list (the
//     observer's resolver_update event; the balancer hands the list to the policy in the
//     same message, so the new picker follows within that step). Sequential updates,
//     alternately adding an endpoint and withdrawing it (gRPC naming format, Op 1), so
//     each one changes the list. p50/p90/p99 over --updates (1000).
//   large prefix: --endpoints (1000) keys written, then a fresh channel dialled: connect()
//     → the first list with every endpoint ("listed"), then update latency on that
//     prefix (every change re-publishes the whole list) over --big-updates (200).
// The channel's policy is pick_first, its first endpoint a live in-process achan server,
// so no update connects anywhere (the other endpoints are closed 127.0.0.1 ports never
// dialled). Also put_answered: Put sent → etcd's answer (its WAL fsync; the watch event
// can arrive before it). One JSON object per measure on stdout, a readable line on stderr.
//
//   etcd_bench --etcd 127.0.0.1:2379 [--updates N] [--endpoints M] [--big-updates K]
#include <algorithm>
#include <chrono>
#include <condition_variable>
#include <cstdio>
#include <cstdlib>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/etcd.hpp>
#include <achan/server.hpp>

#include "core/etcd/etcd_wire.hpp"
#include "testkit/echo_service.hpp"

namespace {

using clock_type = std::chrono::steady_clock;
using namespace std::chrono_literals;

/// The last list the observer saw, when, and how many lists so far.
struct watcher {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::string> addresses;
  clock_type::time_point at{};
  std::uint64_t updates = 0;

  achan::channel_observer observer() {
    return [this](const achan::channel_event& e) {
      if (e.what != achan::channel_event::kind::resolver_update)
        return;
      auto now = clock_type::now();
      std::lock_guard lk{mx};
      addresses = e.addresses;
      at = now;
      ++updates;
      cv.notify_all();
    };
  }
  /// Waits (≤ 10 s) for a list after update number `after` that satisfies `ok`; its time.
  template <class Pred>
  clock_type::time_point wait(std::uint64_t after, Pred ok) {
    std::unique_lock lk{mx};
    if (!cv.wait_for(lk, 10s, [&] { return updates > after && ok(addresses); })) {
      std::fprintf(stderr, "etcd_bench: no expected update within 10 s\n");
      std::exit(1);
    }
    return at;
  }
  std::uint64_t count() {
    std::lock_guard lk{mx};
    return updates;
  }
};

bool has(const std::vector<std::string>& list, const std::string& a) {
  return std::find(list.begin(), list.end(), a) != list.end();
}

void put(achan::channel& etcd, const std::string& key, const std::string& value) {
  auto r = etcd.call(achan::etcd::put_method,
                     achan::etcd::encode(achan::etcd::put_request{key, value, 0}), {.timeout = 5s})
               .get();
  if (!r.status.ok()) {
    std::fprintf(stderr, "etcd_bench: Put %s failed: %s\n", key.c_str(), r.status.message.c_str());
    std::exit(1);
  }
}

double us(clock_type::duration d) {
  return std::chrono::duration<double, std::micro>(d).count();
}

double quantile(std::vector<double> v, double q) {
  std::sort(v.begin(), v.end());
  return v.empty() ? 0 : v[std::min(v.size() - 1, static_cast<std::size_t>(q * v.size()))];
}

void report(const char* measure, const std::vector<double>& lat_us, const std::string& extra) {
  std::printf(R"({"measure":"%s","n":%zu,"p50_us":%.0f,"p90_us":%.0f,"p99_us":%.0f%s})"
              "\n",
              measure, lat_us.size(), quantile(lat_us, 0.5), quantile(lat_us, 0.9),
              quantile(lat_us, 0.99), extra.c_str());
  std::fflush(stdout);
  std::fprintf(stderr, "%-22s n=%zu p50 %.2f ms p90 %.2f ms p99 %.2f ms\n", measure, lat_us.size(),
               quantile(lat_us, 0.5) / 1e3, quantile(lat_us, 0.9) / 1e3,
               quantile(lat_us, 0.99) / 1e3);
}

/// Latencies in µs: Put sent → the new list at the balancer, and → etcd's answer to the Put.
struct update_figures {
  std::vector<double> update, put;
};

/// `n` sequential updates under `prefix` (keys PREFIX/u0..u49, ports from `port0`): Put →
/// the list with (or without) the endpoint.
update_figures updates(achan::channel& etcd, watcher& w, const std::string& prefix, int n,
                       int port0) {
  update_figures out;
  for (int i = 0; i < n; ++i) {
    auto slot = (i / 2) % 50;
    auto key = prefix + "u" + std::to_string(slot);
    auto addr = "127.0.0.1:" + std::to_string(port0 + slot);
    bool add = i % 2 == 0;
    auto before = w.count();
    auto t0 = clock_type::now();
    put(etcd, key, add ? addr : R"({"Op":1,"Addr":")" + addr + R"("})");
    out.put.push_back(us(clock_type::now() - t0));
    auto t1 = w.wait(before, [&](const auto& list) { return has(list, addr) == add; });
    out.update.push_back(us(t1 - t0));
  }
  return out;
}

int arg(int argc, char** argv, const std::string& name, int fallback) {
  for (int i = 1; i + 1 < argc; ++i)
    if (argv[i] == name)
      return std::atoi(argv[i + 1]);
  return fallback;
}

}  // namespace

int main(int argc, char** argv) {
  std::string member;
  for (int i = 1; i + 1 < argc; ++i)
    if (std::string(argv[i]) == "--etcd")
      member = argv[i + 1];
  int n_updates = arg(argc, argv, "--updates", 1000);
  int n_endpoints = arg(argc, argv, "--endpoints", 1000);
  int n_big = arg(argc, argv, "--big-updates", 200);
  if (member.empty() || n_updates < 1 || n_endpoints < 1 || n_big < 1) {
    std::fprintf(stderr,
                 "usage: etcd_bench --etcd HOST:PORT [--updates N] [--endpoints M] "
                 "[--big-updates K]\n");
    return 2;
  }
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  achan::transport::h2_server live;
  achan::testkit::add_echo_service(live, "live");
  auto port = live.listen("127.0.0.1", 0);
  if (!port.ok()) {
    std::fprintf(stderr, "etcd_bench: cannot listen\n");
    return 1;
  }
  auto live_addr = "127.0.0.1:" + std::to_string(*port);
  auto etcd = achan::dial(sys, "ipv4:" + member);
  if (!etcd) {
    std::fprintf(stderr, "etcd_bench: bad --etcd %s\n", member.c_str());
    return 2;
  }
  auto run = std::to_string(std::chrono::system_clock::now().time_since_epoch().count());

  // Update latency on a small prefix: the live endpoint plus up to 50 more.
  auto small = "bench/" + run + "/small/";
  put(*etcd, small + "a", live_addr);
  watcher w;
  achan::dial_options o;
  o.observer = w.observer();
  auto ch = achan::dial(sys, "etcd://" + member + "/" + small, o);
  ch->connect();
  w.wait(0, [&](const auto& list) { return has(list, live_addr); });
  auto f = updates(*etcd, w, small, n_updates, 20000);
  report("update", f.update, "");
  report("put_answered", f.put, "");  // etcd's own share: the Put's round trip (WAL fsync)

  // A large prefix: written, listed by a fresh channel, then watched.
  auto big = "bench/" + run + "/big/";
  put(*etcd, big + "a", live_addr);
  for (int i = 0; i < n_endpoints - 1; ++i)
    put(*etcd, big + "e" + std::to_string(i), "127.0.0.1:" + std::to_string(30000 + i % 30000));
  watcher wb;
  achan::dial_options ob;
  ob.observer = wb.observer();
  auto t0 = clock_type::now();
  auto chb = achan::dial(sys, "etcd://" + member + "/" + big, ob);
  chb->connect();
  auto t1 = wb.wait(
      0, [&](const auto& list) { return list.size() == static_cast<std::size_t>(n_endpoints); });
  std::vector<double> listed{us(t1 - t0)};
  report("list", listed, R"(,"endpoints":)" + std::to_string(n_endpoints));
  report("update_large_prefix", updates(*etcd, wb, big, n_big, 60000).update,
         R"(,"endpoints":)" + std::to_string(n_endpoints));
  ch->close();
  chb->close();
  etcd->close();
  return 0;
}
