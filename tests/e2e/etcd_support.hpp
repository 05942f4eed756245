#pragma once
// Shared by the etcd e2e tests: what a channel's observer saw, echo backends, a channel
// dialled to an etcd:// target with an observer, and a bounded call loop.
#include <doctest/doctest.h>

#include <algorithm>
#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/etcd.hpp>
#include <achan/server.hpp>

#include "testkit/echo_service.hpp"
#include "tests/support/echo_messages.hpp"

namespace achan::test::etcd_e2e {

using namespace std::chrono_literals;

inline const std::string unary = "/achan.test.Echo/Unary";

/// What a channel's observer saw: the last address list, every list in order, resolver
/// errors and notes. Thread-safe (the observer runs on the balancer's thread).
struct seen {
  std::mutex mx;
  std::condition_variable cv;
  std::vector<std::string> addresses;
  std::vector<std::vector<std::string>> history;    ///< every published list, sorted
  std::vector<std::string> errors, notes, configs;  ///< configs: service config JSON texts

  channel_observer observer() {
    return [this](const channel_event& e) {
      std::lock_guard lk{mx};
      if (e.what == channel_event::kind::resolver_update) {
        addresses = e.addresses;
        std::sort(addresses.begin(), addresses.end());
        history.push_back(addresses);
        if (!e.reason.empty())
          notes.push_back(e.reason);
      } else if (e.what == channel_event::kind::resolver_error) {
        errors.push_back(e.reason);
      } else if (e.what == channel_event::kind::service_config) {
        configs.push_back(e.reason);
      } else {
        return;
      }
      cv.notify_all();
    };
  }
  bool wait_list(std::vector<std::string> want, std::chrono::milliseconds limit = 10s) {
    std::sort(want.begin(), want.end());
    std::unique_lock lk{mx};
    return cv.wait_for(lk, limit, [&] { return addresses == want && !history.empty(); });
  }
  bool wait_error(std::chrono::milliseconds limit = 10s) {
    std::unique_lock lk{mx};
    return cv.wait_for(lk, limit, [&] { return !errors.empty(); });
  }
  bool wait_config(const std::string& needle, std::chrono::milliseconds limit = 10s) {
    std::unique_lock lk{mx};
    return cv.wait_for(lk, limit, [&] {
      return !configs.empty() && configs.back().find(needle) != std::string::npos;
    });
  }
  bool any_note(const std::string& needle) {
    std::lock_guard lk{mx};
    return std::any_of(notes.begin(), notes.end(),
                       [&](const std::string& n) { return n.find(needle) != std::string::npos; });
  }
};

/// An achan echo server on a free loopback port, answering with its name.
struct backend {
  transport::h2_server server;
  std::string address;
  explicit backend(const std::string& name) {
    testkit::add_echo_service(server, name);
    auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port.ok());
    address = "127.0.0.1:" + std::to_string(*port);
  }
};

/// An actor system and a connected channel to `target` whose events go to `s`.
struct watched_channel {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  seen s;
  std::optional<channel> ch;

  explicit watched_channel(const std::string& target, dial_options o = {}) {
    o.observer = s.observer();
    auto made = dial(sys, target, o);
    REQUIRE(made);
    ch.emplace(std::move(*made));
    ch->connect();
  }
  ~watched_channel() { ch->close(); }
};

/// Polls `done` every 20 ms for up to `limit`; its last answer. For state in an external
/// store (etcd) that gives no event to wait on.
template <class Done>
bool poll_until(Done done, std::chrono::milliseconds limit) {
  for (auto until = std::chrono::steady_clock::now() + limit;
       !done() && std::chrono::steady_clock::now() < until;)
    std::this_thread::sleep_for(20ms);
  return done();
}

/// One unary echo call that waits for a ready subchannel: true if it succeeded.
inline bool call_ok(channel& ch) {
  return ch.call(unary, echo_request("x"), {.timeout = 10s, .wait_for_ready = true})
      .get()
      .status.ok();
}

/// How many of `n` sequential calls succeeded.
inline int calls_ok(channel& ch, int n) {
  int ok = 0;
  for (int i = 0; i < n; ++i)
    ok += call_ok(ch);
  return ok;
}

/// Sequential wait-for-ready calls on `threads` threads until stopped (or 1 000 000 calls
/// each): the load of a failover test. Counts successes and failures.
class call_load {
 public:
  call_load(channel& ch, int threads) {
    for (int t = 0; t < threads; ++t)
      threads_.emplace_back([this, &ch] {
        for (int i = 0; i < 1'000'000 && !stop_; ++i)
          ++(call_ok(ch) ? ok_ : failed_);
      });
  }
  ~call_load() { stop(); }
  void stop() {
    stop_ = true;
    for (auto& t : threads_)
      if (t.joinable())
        t.join();
  }
  std::uint64_t ok() const { return ok_; }
  std::uint64_t failed() const { return failed_; }

 private:
  std::atomic<bool> stop_{false};
  std::atomic<std::uint64_t> ok_{0}, failed_{0};
  std::vector<std::thread> threads_;
};

}  // namespace achan::test::etcd_e2e
