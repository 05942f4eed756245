// control_plane_bench: heap per in-flight call (control_plane_bench.cpp's header says how).
#include <fcntl.h>
#include <malloc.h>
#include <poll.h>
#include <signal.h>
#include <spawn.h>
#include <sys/wait.h>
#include <unistd.h>

#include <algorithm>
#include <array>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/actor_executor.hpp>
#include <achan/channel.hpp>
#include <achan/h2_transport.hpp>
#include <achan/manual_resolver.hpp>
#include <achan/simulated_transport.hpp>
#include <achan/system_config.hpp>
#include "core/balancer/round_robin.hpp"
#include "core/balancer/rr_picker.hpp"
#include "proto/echo.pb.h"
#include "testkit/program_args.hpp"

#include "bench/control_plane/common.hpp"

extern char** environ;

namespace achan::cp_bench {
namespace {

/// `achan serve --port 0` in its own process, so its memory is not the client's.
class server_process {
 public:
  /// Starts it and waits (bounded) for its "listening on" line; port() 0 on failure.
  explicit server_process(const std::string& bin) {
    int fds[2];
    if (pipe2(fds, O_CLOEXEC) != 0)
      return;
    posix_spawn_file_actions_t fa;
    posix_spawn_file_actions_init(&fa);
    posix_spawn_file_actions_adddup2(&fa, fds[1], STDOUT_FILENO);
    // 1000 streams per connection (achan serve's default is 100), as the measure assumes.
    const char* argv[] = {
        bin.c_str(), "serve", "--port", "0", "--grace", "0", "--max-concurrent-streams",
        "1000",      nullptr};
    int rc = posix_spawn(&pid_, bin.c_str(), &fa, nullptr, const_cast<char**>(argv), environ);
    posix_spawn_file_actions_destroy(&fa);
    close(fds[1]);
    if (rc != 0) {
      pid_ = 0;
      close(fds[0]);
      return;
    }
    std::string out;
    auto until = clock_type::now() + 10s;
    while (out.find('\n') == std::string::npos && clock_type::now() < until) {
      pollfd p{fds[0], POLLIN, 0};
      if (poll(&p, 1, 100) <= 0)
        continue;
      char buf[256];
      auto n = read(fds[0], buf, sizeof buf);
      if (n <= 0)
        break;
      out.append(buf, static_cast<std::size_t>(n));
    }
    close(fds[0]);  // the server writes nothing more on stdout without --log-calls
    const std::string prefix = "listening on 127.0.0.1:";
    if (out.rfind(prefix, 0) == 0)
      port_ = std::atoi(out.c_str() + prefix.size());
  }
  ~server_process() {
    if (pid_ <= 0)
      return;
    kill(pid_, SIGTERM);
    auto until = clock_type::now() + 10s;
    int status = 0;
    while (waitpid(pid_, &status, WNOHANG) == 0) {
      if (clock_type::now() >= until) {
        kill(pid_, SIGKILL);
        waitpid(pid_, &status, 0);
        break;
      }
      std::this_thread::sleep_for(10ms);
    }
  }
  server_process(const server_process&) = delete;
  server_process& operator=(const server_process&) = delete;
  int port() const { return port_; }

 private:
  pid_t pid_ = 0;
  int port_ = 0;
};

/// Counts the calls the channel hands to its connections.
class counting_connection final : public achan::transport::connection {
 public:
  counting_connection(achan::transport::connection_ptr inner, std::atomic<std::uint64_t>& n)
      : inner_(std::move(inner)), n_(n) {}
  const std::string& address() const noexcept override { return inner_->address(); }
  void start_call(const achan::call_ptr& c) override {
    inner_->start_call(c);
    n_.fetch_add(1, std::memory_order_relaxed);
  }
  void cancel_call(const achan::call_ptr& c) override { inner_->cancel_call(c); }
  void close() override { inner_->close(); }

 private:
  achan::transport::connection_ptr inner_;
  std::atomic<std::uint64_t>& n_;
};

class counting_transport final : public achan::transport::transport {
 public:
  explicit counting_transport(achan::transport::transport_ptr inner) : inner_(std::move(inner)) {}
  achan::transport::connection_ptr connect(
      const std::string& address,
      std::shared_ptr<achan::transport::connection_events> events) override {
    return std::make_shared<counting_connection>(inner_->connect(address, std::move(events)),
                                                 started);
  }
  std::atomic<std::uint64_t> started{0};

 private:
  achan::transport::transport_ptr inner_;
};

/// Records how each call ended; every call must end exactly once.
struct call_tracker {
  explicit call_tracker(std::size_t n) : n(n), ended(new std::atomic<std::uint8_t>[n]) {
    for (std::size_t i = 0; i < n; ++i)
      ended[i].store(0);
  }
  void done(std::size_t i, achan::status_code code) {
    if (ended[i].fetch_add(1) != 0)
      twice.fetch_add(1);
    auto c = static_cast<std::size_t>(code);
    codes[c < codes.size() ? c : codes.size() - 1].fetch_add(1);
    total.fetch_add(1);
  }
  std::size_t never() const {
    std::size_t k = 0;
    for (std::size_t i = 0; i < n; ++i)
      k += ended[i].load() == 0;
    return k;
  }
  std::size_t n;
  std::unique_ptr<std::atomic<std::uint8_t>[]> ended;
  std::atomic<std::uint64_t> total{0}, twice{0};
  std::array<std::atomic<std::uint64_t>, 18> codes{};
};

std::string request_bytes(unsigned delay_ms) {
  achan::test::EchoRequest req;
  req.set_payload(std::string(64, 'p'));
  req.set_delay_ms(delay_ms);
  return req.SerializeAsString();
}

/// `simulated`: over the simulated transport with a peer that never answers (one connection),
/// which isolates the channel-side cost of a call from the HTTP/2 transport's.

}  // namespace

void measure_inflight(const options& o, unsigned connections, bool simulated) {
  const std::string tag = simulated
                              ? std::string{"inflight (simulated transport): "}
                              : "inflight (" + std::to_string(connections) + " connections): ";
  std::optional<server_process> server;
  std::string target = simulated ? std::string{"127.0.0.1:1"} : o.target;
  if (target.empty()) {
    server.emplace(o.achan);
    if (server->port() == 0) {
      check(false, tag + "could not start '" + o.achan + " serve' (see --achan)");
      return;
    }
    target = "127.0.0.1:" + std::to_string(server->port());
  }
  const char* method = "/achan.test.Echo/Unary";
  double per = 0, issue_s = 0;
  std::uint64_t handed = 0, early = 0;
  std::size_t never = 0;
  bool all_handed = false, all_ended = false;
  auto tracker = std::make_unique<call_tracker>(o.calls);
  {
    caf::actor_system_config cfg;
    achan::configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    {
      std::shared_ptr<achan::transport::simulated_transport> sim;
      if (simulated)
        sim = std::make_shared<achan::transport::simulated_transport>(
            achan::make_actor_executor(sys));
      auto counting = std::make_shared<counting_transport>(
          simulated ? achan::transport::transport_ptr{sim} : achan::transport::make_h2_transport());
      achan::dial_options d;
      d.transport = counting;
      d.lb_policy = "round_robin";  // pick_first would use one of the K connections
      d.connections_per_address = connections;
      d.block_until_ready = 10s;
      auto ch = achan::dial(sys, "ipv4:" + target, d);
      if (!ch) {
        check(false, tag + "dial: " + achan::to_string_with_message(ch.error()));
        return;
      }
      // Warm-up: quick calls over every connection, so lazily grown pools and caches
      // (nghttp2, asio, CAF, protobuf) are not counted as per-call cost.
      {
        struct counts {
          std::atomic<int> left, bad{0};
        };
        const int n = static_cast<int>(std::max(1000u, 20 * connections));
        auto w = std::make_shared<counts>();
        w->left = n;
        auto quick = request_bytes(0);
        for (int i = 0; i < n; ++i)
          ch->call(method, quick, {}, [w](achan::call_result&& r) {
            if (!r.status.ok())
              w->bad.fetch_add(1);
            w->left.fetch_sub(1);
          });
        check(wait_until([&] { return w->left.load() == 0; }, 30s), tag + "warm-up calls hang");
        check(w->bad.load() == 0, tag + "warm-up calls failed");
      }
      if (sim) {  // from now on the peer takes calls and never answers
        achan::transport::sim_behavior silent;
        silent.answer_calls = false;
        sim->set_behavior(target, silent);
      }
      achan::call_options copts;
      if (o.deadline_ms > 0)
        copts.timeout = std::chrono::milliseconds(o.deadline_ms);
      const std::string slow = request_bytes(o.delay_ms);
      auto base_started = counting->started.load();
      auto before = settled_heap(16384);
      auto t0 = clock_type::now();
      auto* t = tracker.get();
      for (std::size_t i = 0; i < o.calls; ++i)
        ch->call(method, slow, copts,
                 [t, i](achan::call_result&& r) { t->done(i, r.status.code); });
      issue_s = std::chrono::duration<double>(clock_type::now() - t0).count();
      all_handed =
          wait_until([&] { return counting->started.load() - base_started >= o.calls; }, 60s);
      handed = counting->started.load() - base_started;
      check(all_handed, tag + "only " + std::to_string(handed) + " of " + std::to_string(o.calls) +
                            " calls reached the transport in 60 s");
      auto after = settled_heap(65536);
      early = tracker->total.load();
      check(early == 0,
            tag + std::to_string(early) + " calls ended before the measurement (raise --delay-ms)");
      per =
          (static_cast<double>(after) - static_cast<double>(before)) / static_cast<double>(o.calls);
      ch->close();
      all_ended = wait_until([&] { return tracker->total.load() >= o.calls; }, 60s);
      check(all_ended, tag + "only " + std::to_string(tracker->total.load()) + " of " +
                           std::to_string(o.calls) + " calls ended within 60 s of close()");
    }
  }
  never = tracker->never();
  check(never == 0, tag + std::to_string(never) + " calls never ended");
  check(tracker->twice.load() == 0,
        tag + std::to_string(tracker->twice.load()) + " completions of calls that had ended");
  std::string codes;
  for (std::size_t c = 0; c < tracker->codes.size(); ++c)
    if (auto k = tracker->codes[c].load())
      codes += std::string(codes.empty() ? "" : ",") + "\"" +
               std::string{achan::to_string(static_cast<achan::status_code>(c))} +
               "\":" + std::to_string(k);
  std::printf(
      "{\"measure\":\"inflight_call_memory\",\"transport\":\"%s\",\"calls\":%zu,\"connections\":%u,"
      "\"delay_ms\":%u,"
      "\"deadline_ms\":%u,\"issue_s\":%.3f,\"handed_to_transport\":%llu,\"bytes_per_call\":%.0f,"
      "\"ended_before_close\":%llu,\"ended\":%llu,\"never_ended\":%zu,\"ended_twice\":%llu,"
      "\"end_codes\":{%s},\"ok\":%s}\n",
      simulated ? "simulated" : "h2", o.calls, connections, o.delay_ms, o.deadline_ms, issue_s,
      static_cast<unsigned long long>(handed), per, static_cast<unsigned long long>(early),
      static_cast<unsigned long long>(tracker->total.load()), never,
      static_cast<unsigned long long>(tracker->twice.load()), codes.c_str(),
      all_handed && all_ended && early == 0 && never == 0 && tracker->twice.load() == 0 ? "true"
                                                                                        : "false");
  std::fflush(stdout);
}

}  // namespace achan::cp_bench
