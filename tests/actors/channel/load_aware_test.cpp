// Load-aware policies through a whole channel in virtual time (simulated transport): the
// call trackers a pick hands out see every call end exactly once, whichever party ends
// it, and least_request / peak_ewma keep calls off a slow backend.
#include <doctest/doctest.h>

#include <atomic>
#include <functional>
#include <map>

#include <achan/channel.hpp>
#include "core/balancer/ready_set_policy.hpp"
#include "core/balancer/rr_picker.hpp"
#include "tests/support/manual_channel.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

/// Counts the trackers started and ended; shared by every picker of the test policy.
struct counts {
  std::atomic<int> picks{0};
  std::atomic<int> ends{0};
  std::atomic<int> unsent{0};
  std::map<status_code, int> by_code;  // virtual time: one thread
};

class counting_tracker final : public call_tracker {
 public:
  explicit counting_tracker(std::shared_ptr<counts> c) : c_(std::move(c)) {}
  void on_call_end(const call_outcome& o) noexcept override {
    c_->ends.fetch_add(1);
    if (!o.sent)
      c_->unsent.fetch_add(1);
    ++c_->by_code[o.st.code];
  }

 private:
  std::shared_ptr<counts> c_;
};

/// round_robin's rotation with a counting tracker in slot 0.
class counting_picker final : public picker {
 public:
  counting_picker(std::vector<transport::connection_ptr> conns, std::shared_ptr<counts> c)
      : rr_(std::move(conns), 0), c_(c), t_(make_tracker<counting_tracker>(std::move(c))) {}
  pick_result pick(const pick_info& i) const noexcept override {
    auto r = rr_.pick(i);
    c_->picks.fetch_add(1);
    r.trackers[0] = t_.get();
    return r;
  }

 private:
  rr_picker rr_;
  std::shared_ptr<counts> c_;
  tracker_ref<counting_tracker> t_;
};

class counting_policy final : public ready_set_policy {
 public:
  counting_policy(policy_helper& h, std::shared_ptr<counts> c)
      : ready_set_policy(h), c_(std::move(c)) {}

 private:
  picker_ptr make_picker(std::vector<ready_endpoint> ready) override {
    std::vector<transport::connection_ptr> conns;
    for (auto& r : ready)
      conns.push_back(r.conn);
    return std::make_shared<counting_picker>(std::move(conns), c_);
  }
  std::shared_ptr<counts> c_;
};

struct fixture : test::manual_channel_fixture {
  std::shared_ptr<counts> c = std::make_shared<counts>();
  fixture() : manual_channel_fixture(3) {
    opts.policies.push_back({"counting", [c = c](policy_helper& h) -> std::unique_ptr<policy> {
                               return std::make_unique<counting_policy>(h, c);
                             }});
    opts.lb_policy = "counting";
  }
};

/// Keeps `in_flight` calls going on `ch` until `total` have been started; counts peers.
struct closed_loop {
  channel& ch;
  int total;
  int started = 0;
  std::map<std::string, int> peers;
  void start() {
    ++started;
    ch.call("/echo.Echo/Unary", "x", {}, [this](call_result&& r) {
      ++peers[r.peer];
      if (started < total)
        start();
    });
  }
};

}  // namespace

TEST_CASE("load_aware: every picked call ends its tracker exactly once") {
  fixture f;
  transport::sim_behavior slow;
  slow.latency = 1s;
  f.sim->set_behavior("10.0.0.2:1", slow);
  transport::sim_behavior failing;
  failing.reply = {status_code::internal, "boom"};
  f.sim->set_behavior("10.0.0.3:1", failing);
  auto ch = f.connected({"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1"});
  // Completed, failed, cancelled while in flight, and past their deadline.
  for (int i = 0; i < 30; ++i)
    ch.call("/echo.Echo/Unary", "x", {}, f.record());
  std::vector<call_handle> handles;
  for (int i = 0; i < 6; ++i)
    handles.push_back(ch.call("/echo.Echo/Unary", "x", {}, f.record()));
  call_options short_deadline;
  short_deadline.timeout = 100ms;
  for (int i = 0; i < 6; ++i)
    ch.call("/echo.Echo/Unary", "x", short_deadline, f.record());
  f.run();
  for (auto& h : handles)
    h.cancel();
  f.advance(2s);
  CHECK(f.results.size() == 42);
  CHECK(f.c->picks.load() == 42);
  CHECK(f.c->ends.load() == 42);
  CHECK(f.c->by_code[status_code::internal] > 0);
  CHECK(f.c->by_code[status_code::cancelled] > 0);
  CHECK(f.c->by_code[status_code::deadline_exceeded] > 0);
}

TEST_CASE("load_aware: a call picked for a connection that went away ends that pick unsent") {
  fixture f;
  transport::sim_behavior dropping;
  dropping.drop_after = 10ms;
  dropping.latency = 1s;
  f.sim->set_behavior("10.0.0.1:1", dropping);
  auto ch = f.connected({"10.0.0.1:1", "10.0.0.2:1"});
  call_options wfr;
  wfr.wait_for_ready = true;
  for (int i = 0; i < 10; ++i)
    ch.call("/echo.Echo/Unary", "x", wfr, f.record());
  f.advance(5s);
  // Every pick ended once; the calls lost with the connection ended UNAVAILABLE.
  CHECK(f.c->ends.load() == f.c->picks.load());
  CHECK(f.results.size() == 10);
}

TEST_CASE("load_aware: least_request and peak_ewma keep calls off a slow backend") {
  for (std::string policy : {"least_request", "peak_ewma", "round_robin"}) {
    CAPTURE(policy);
    test::manual_channel_fixture f{9};
    f.opts.lb_policy = policy;
    std::vector<std::string> addrs{"10.0.0.1:1", "10.0.0.2:1", "10.0.0.3:1", "10.0.0.4:1"};
    for (auto& a : addrs) {
      transport::sim_behavior b;
      b.latency = a == "10.0.0.4:1" ? 20ms : 1ms;
      f.sim->set_behavior(a, b);
    }
    auto ch = f.connected(addrs);
    closed_loop load{ch, 4000};
    for (int i = 0; i < 32; ++i)
      load.start();
    f.advance(60s);
    int done = 0;
    for (auto& [peer, n] : load.peers)
      done += n;
    REQUIRE(done == 4000);
    double slow = load.peers["10.0.0.4:1"] / 4000.0;
    MESSAGE(policy << ": slow backend share " << slow);
    if (policy == "round_robin")
      CHECK(slow == doctest::Approx(0.25).epsilon(0.05));
    else
      CHECK(slow < 0.10);
  }
}

TEST_CASE("load_aware: each attempt of a retried call ends its own pick's trackers") {
  fixture f;
  f.opts.service_config = R"({"methodConfig": [{"name": [{"service": "echo.Echo"}],
      "retryPolicy": {"maxAttempts": 3, "initialBackoff": "0.01s", "maxBackoff": "0.1s",
                      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}]})";
  transport::sim_behavior failing;
  failing.reply = {status_code::unavailable, "try another"};
  f.sim->set_behavior("10.0.0.2:1", failing);
  auto ch = f.connected({"10.0.0.1:1", "10.0.0.2:1"});
  for (int i = 0; i < 20; ++i)
    ch.call("/echo.Echo/Unary", "x", {}, f.record());
  f.advance(5s);
  REQUIRE(f.results.size() == 20);
  CHECK(ch.stats().retries > 0);
  // One pick per attempt (the fast path's first attempts included), each ended once.
  CHECK(f.c->picks.load() == 20 + static_cast<int>(ch.stats().retries));
  CHECK(f.c->ends.load() == f.c->picks.load());
  CHECK(f.c->by_code[status_code::unavailable] >= static_cast<int>(ch.stats().retries));
}

TEST_CASE("load_aware: weights from the resolver reach weighted_round_robin and ring_hash") {
  for (std::string policy : {"weighted_round_robin", "ring_hash"}) {
    CAPTURE(policy);
    test::manual_channel_fixture f{11};
    f.opts.lb_policy = policy;
    auto ch = f.dial();
    f.resolver->update_weighted({{"10.0.0.1:1", 3}, {"10.0.0.2:1", 1}});
    ch.connect();
    f.run();
    std::map<std::string, int> per;
    for (int i = 0; i < 400; ++i) {
      call_options o;
      o.wait_for_ready = true;
      if (policy == "ring_hash")
        o.request_hash = 0x9e3779b97f4a7c15ULL * (i + 1);  // spread over the ring
      ch.call("/echo.Echo/Unary", "x", o, [&](call_result&& r) { ++per[r.peer]; });
      f.run();
    }
    MESSAGE(policy << ": " << per["10.0.0.1:1"] << " / " << per["10.0.0.2:1"]);
    CHECK(per["10.0.0.1:1"] + per["10.0.0.2:1"] == 400);
    CHECK(per["10.0.0.1:1"] / 400.0 == doctest::Approx(0.75).epsilon(0.1));
  }
}
