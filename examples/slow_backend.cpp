// Load-aware balancing in one screen: four backends on the simulated transport, one of them
// answering 20 ms late; 32 calls in flight, 2 000 calls per policy. round_robin gives the slow
// backend its full quarter; least_request (3 choices) and peak_ewma (docs/balancing.md) move
// calls off it.
// Prints each policy's share; exits 0 if both load-aware policies sent it under 10 %.
#include <algorithm>
#include <condition_variable>
#include <cstdio>
#include <map>
#include <mutex>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/actor_executor.hpp>
#include <achan/channel.hpp>
#include <achan/simulated_transport.hpp>

using namespace std::chrono_literals;

namespace {

/// Keeps `in_flight` calls going until `total` have ended; counts the backends that answered.
struct load {
  achan::channel& ch;
  int total;
  std::mutex mx;
  std::condition_variable cv;
  std::map<std::string, int> peers;
  int started = 0, ended = 0;

  /// Starts one call whose completion starts the next while calls are left. The last
  /// completion touches the load only under the lock, so run() may return (and the load
  /// go) as soon as it sees every call ended.
  void launch() {
    ch.call("/demo.Echo/Say", "hi", {}, [this](achan::call_result&& r) {
      bool more = false;
      {
        std::lock_guard lk{mx};
        ++peers[r.peer];
        ++ended;
        if ((more = started < total))
          ++started;
        if (ended == total)
          cv.notify_all();
      }
      if (more)
        launch();
    });
  }
  void run(int in_flight) {
    int first = 0;
    {
      std::lock_guard lk{mx};
      first = started = std::min(in_flight, total);
    }
    for (int i = 0; i < first; ++i)
      launch();
    std::unique_lock lk{mx};
    cv.wait(lk, [this] { return ended == total; });
  }
};

}  // namespace

int main() {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  const std::string slow = "10.0.0.4:50051";
  bool ok = true;
  for (std::string policy : {"round_robin", "least_request", "peak_ewma"}) {
    auto sim =
        std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
    for (auto a : {"10.0.0.1:50051", "10.0.0.2:50051", "10.0.0.3:50051"})
      sim->set_behavior(a, {.latency = 100us});
    sim->set_behavior(slow, {.latency = 20ms});
    achan::dial_options opts;
    opts.transport = sim;
    opts.lb_policy = policy;
    if (policy == "least_request")  // 3 choices: both of 2 land on the slow one 1/16 of the time
      opts.lb_policy_config = R"({"choiceCount": 3})";
    opts.block_until_ready = 10s;
    auto ch = achan::dial(sys, "ipv4:10.0.0.1:50051,10.0.0.2:50051,10.0.0.3:50051," + slow, opts);
    if (!ch) {
      std::fprintf(stderr, "%s\n", achan::to_string_with_message(ch.error()).c_str());
      return 1;
    }
    load l{*ch, 2000};
    l.run(32);
    double share = l.peers[slow] / 2000.0;
    std::printf("%-14s slow backend got %5.1f %% of the calls\n", policy.c_str(), 100 * share);
    if (policy != "round_robin" && share >= 0.10)
      ok = false;
    ch->close();
  }
  return ok ? 0 : 1;
}
