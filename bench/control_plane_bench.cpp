// control_plane_bench: the control-plane figures of issue 4, one JSON line per measure
// (bench/suite.sh runs it and puts the figures in its summary).
//
//   control_plane_bench [--addresses N] [--reps R] [--calls N] [--connections "1 100"]
//                       [--delay-ms D] [--deadline-ms T] [--achan PATH | --target HOST:PORT]
//                       [--only resolver,idle,inflight]
//
// resolver  N-address resolver update (default 10 000) over the simulated transport, with
//           round_robin on CAF's real scheduler: dial through a manual resolver, push a
//           list of N addresses and wait until all are READY, then push N different ones.
//           Times from the update() call until round_robin publishes (a) its first picker
//           with a new address and (b) the picker covering all N new addresses, for the
//           initial list and for the replacement; medians of --reps runs (default 3).
//           round_robin runs unmodified inside a wrapper policy (added through
//           dial_options::policies) that only timestamps the helper's update_state.
// idle      heap per idle subchannel: a policy (dial_options::policies) that creates a
//           subchannel for every address and never connects them. Heap growth
//           (mallinfo2: uordblks + hblkhd) between two N-address lists of equal string
//           lengths, the first with no subchannels, the second with one per address, / N.
// inflight  heap per in-flight unary call: `achan serve` in its own process (--achan,
//           default: achan next to this program; or --target for a running server),
//           --calls (default 100 000) calls of achan.test.Echo/Unary with a 64-byte payload
//           and delay_ms = --delay-ms (default 60 000) started from one thread on one
//           channel with K connections per address, for each K of --connections (default
//           "1 100"; the server allows 1000 streams per connection, so with 1 most calls
//           wait in the client's HTTP/2 session and with 100 every stream is open). Waits
//           until the transport has taken every call (counted by a wrapper around the h2
//           transport) and the heap is still, then reports client heap growth / calls;
//           then closes the channel and checks that every call ended exactly once.
//           --deadline-ms gives each call a deadline (default 0: none). One more line does
//           the same over the simulated transport with a peer that never answers (the
//           channel-side cost of a call, without the HTTP/2 session's).
//
// Every wait is bounded. Prints {"measure":...} lines, then {"measure":"checks",...};
// exits 1 if any check failed (a wait timed out, a call ended twice or never, a call
// ended before the measurement), 2 on usage errors.
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

extern char** environ;

namespace {

using namespace std::chrono_literals;
using clock_type = std::chrono::steady_clock;
using achan::connectivity_state;

struct options {
  std::size_t addresses = 10000;
  int reps = 3;
  std::size_t calls = 100000;
  std::vector<unsigned> connections{1, 100};
  unsigned delay_ms = 60000;
  unsigned deadline_ms = 0;
  std::string achan;   // achan binary for `achan serve`
  std::string target;  // or a running server
  bool resolver = true, idle = true, inflight = true;
};

const achan::testkit::program_args args{
    "control_plane_bench",
    "control_plane_bench [--addresses N] [--reps R] [--calls N] [--connections \"1 100\"] "
    "[--delay-ms D] [--deadline-ms T] [--achan PATH | --target HOST:PORT] "
    "[--only resolver,idle,inflight]"};

options parse(int argc, char** argv) {
  options o;
  std::string self = argv[0];
  auto slash = self.rfind('/');
  o.achan = (slash == std::string::npos ? std::string{"."} : self.substr(0, slash)) + "/achan";
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--addresses")
      o.addresses = static_cast<std::size_t>(args.number(flag, v));
    else if (flag == "--reps")
      o.reps = static_cast<int>(args.number(flag, v));
    else if (flag == "--calls")
      o.calls = static_cast<std::size_t>(args.number(flag, v));
    else if (flag == "--delay-ms")
      o.delay_ms = static_cast<unsigned>(args.number(flag, v));
    else if (flag == "--deadline-ms")
      o.deadline_ms = static_cast<unsigned>(args.number(flag, v));
    else if (flag == "--achan")
      o.achan = v;
    else if (flag == "--target")
      o.target = v;
    else if (flag == "--connections") {
      o.connections.clear();
      std::istringstream in{v};
      for (std::string w; in >> w;)
        o.connections.push_back(static_cast<unsigned>(args.number(flag, w)));
    } else if (flag == "--only") {
      o.resolver = v.find("resolver") != std::string::npos;
      o.idle = v.find("idle") != std::string::npos;
      o.inflight = v.find("inflight") != std::string::npos;
      if (!o.resolver && !o.idle && !o.inflight)
        args.fail("--only takes resolver, idle and/or inflight");
    } else {
      return false;
    }
    return true;
  });
  if (o.addresses < 1 || o.addresses > 65536 || o.reps < 1 || o.calls < 1)
    args.fail("--addresses must be 1..65536, --reps and --calls at least 1");
  for (auto k : o.connections)
    if (k < 1 || k > 1000)
      args.fail("--connections: each K must be 1..1000");
  if (o.connections.empty())
    args.fail("--connections needs at least one K");
  return o;
}

// ---- checks and helpers -------------------------------------------------------------

int failed_checks = 0;

void check(bool ok, const std::string& what) {
  if (!ok) {
    ++failed_checks;
    std::fprintf(stderr, "control_plane_bench: CHECK FAILED: %s\n", what.c_str());
  }
}

double ms_between(clock_type::time_point a, clock_type::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

double median(std::vector<double> v) {
  if (v.empty())
    return 0;
  std::sort(v.begin(), v.end());
  auto n = v.size();
  return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2;
}

/// Bytes the process has allocated and not freed, in every malloc arena and mmap.
std::size_t heap_bytes() {
  auto m = mallinfo2();
  return m.uordblks + m.hblkhd;
}

/// Waits until the heap stops moving (three 50 ms samples in a row within `tolerance`
/// bytes), at most `bound`; returns the last sample. Actors finish initialising and
/// I/O threads drain their queues on their own time, so a single sample can be early.
std::size_t settled_heap(std::size_t tolerance, std::chrono::milliseconds bound = 5s) {
  auto until = clock_type::now() + bound;
  auto prev = heap_bytes();
  int still = 0;
  while (still < 3 && clock_type::now() < until) {
    std::this_thread::sleep_for(50ms);
    auto cur = heap_bytes();
    auto diff = cur > prev ? cur - prev : prev - cur;
    still = diff <= tolerance ? still + 1 : 0;
    prev = cur;
  }
  return prev;
}

/// Polls `done` every millisecond until it holds or `bound` passes.
bool wait_until(const std::function<bool()>& done, std::chrono::milliseconds bound) {
  auto until = clock_type::now() + bound;
  while (!done()) {
    if (clock_type::now() >= until)
      return false;
    std::this_thread::sleep_for(1ms);
  }
  return true;
}

/// `n` addresses "10.<net>.<hi>.<lo>:50051"; lists of different `net` (both one or
/// both two digits) have the same string lengths, address for address.
std::vector<std::string> address_list(int net, std::size_t n) {
  std::vector<std::string> out;
  out.reserve(n);
  for (std::size_t i = 0; i < n; ++i)
    out.push_back("10." + std::to_string(net) + "." + std::to_string(i / 256) + "." +
                  std::to_string(i % 256) + ":50051");
  return out;
}

// ---- (i) resolver update -------------------------------------------------------------

/// Timestamps the pickers a policy publishes; armed before each resolver update.
class picker_probe {
 public:
  void arm(std::string prefix, std::size_t want) {
    std::lock_guard lk{mx_};
    prefix_ = std::move(prefix);
    want_ = want;
    first_.reset();
    all_.reset();
    pickers_ = 0;
    t0_ = clock_type::now();
  }

  /// Balancer actor: a picker is about to be published.
  void published(connectivity_state s, const achan::picker_ptr& p) {
    auto now = clock_type::now();
    std::lock_guard lk{mx_};
    ++pickers_;
    auto* rr = dynamic_cast<const achan::rr_picker*>(p.get());
    if (s != connectivity_state::ready || !rr)
      return;
    const auto& conns = rr->connections();
    auto fresh = [&](const achan::transport::connection_ptr& c) {
      return c->address().rfind(prefix_, 0) == 0;
    };
    if (!first_ && std::any_of(conns.begin(), conns.end(), fresh))
      first_ = now;
    // Only a picker of the full size can cover every new address: check it in full once.
    if (!all_ && conns.size() == want_ && std::all_of(conns.begin(), conns.end(), fresh)) {
      all_ = now;
      cv_.notify_all();
    }
  }

  /// Waits (bounded) for the covering picker; times in ms since arm(), or nullopt.
  std::optional<std::pair<double, double>> wait(std::chrono::milliseconds bound,
                                                std::size_t& pickers) {
    std::unique_lock lk{mx_};
    bool ok = cv_.wait_for(lk, bound, [&] { return all_.has_value(); });
    pickers = pickers_;
    if (!ok)
      return std::nullopt;
    return std::make_pair(ms_between(t0_, *first_), ms_between(t0_, *all_));
  }

 private:
  std::mutex mx_;  // published() runs on the balancer actor, wait() on the main thread
  std::condition_variable cv_;
  std::string prefix_;
  std::size_t want_ = 0;
  clock_type::time_point t0_;
  std::optional<clock_type::time_point> first_, all_;
  std::size_t pickers_ = 0;
};

/// Forwards every helper call; tells the probe about each published picker first.
class probing_helper final : public achan::policy_helper {
 public:
  probing_helper(achan::policy_helper& inner, picker_probe& probe) : inner_(inner), probe_(probe) {}
  achan::subchannel_id create_subchannel(const std::string& a) override {
    return inner_.create_subchannel(a);
  }
  void connect(achan::subchannel_id id) override { inner_.connect(id); }
  void shutdown_subchannel(achan::subchannel_id id) override { inner_.shutdown_subchannel(id); }
  void update_state(connectivity_state s, achan::picker_ptr p) override {
    probe_.published(s, p);
    inner_.update_state(s, std::move(p));
  }
  void request_reresolution() override { inner_.request_reresolution(); }
  std::mt19937_64& random() override { return inner_.random(); }
  bool defer_evaluation() override { return inner_.defer_evaluation(); }
  void run_after(achan::clock_duration d, std::function<void()> fn) override {
    inner_.run_after(d, std::move(fn));
  }
  std::function<void(achan::subchannel_id)> connector() override { return inner_.connector(); }
  std::shared_ptr<const achan::lb_clock> clock() override { return inner_.clock(); }

 private:
  achan::policy_helper& inner_;
  picker_probe& probe_;
};

/// achan's round_robin, unchanged, behind a probing helper.
class probed_round_robin final : public achan::policy {
 public:
  probed_round_robin(achan::policy_helper& h, picker_probe& probe)
      : helper_(h, probe), rr_(helper_) {}
  void update_addresses(const std::vector<std::string>& a, const achan::lb_config& c) override {
    rr_.update_addresses(a, c);
  }
  void resolver_error(const achan::status& st) override { rr_.resolver_error(st); }
  void on_subchannel_update(const achan::subchannel_update& u) override {
    rr_.on_subchannel_update(u);
  }
  void exit_idle() override { rr_.exit_idle(); }
  void shutdown() override { rr_.shutdown(); }
  void flush() override { rr_.flush(); }

 private:
  probing_helper helper_;
  achan::round_robin rr_;
};

void measure_resolver(const options& o) {
  std::vector<double> init_first, init_all, upd_first, upd_all;
  std::size_t init_pickers = 0, upd_pickers = 0;
  bool ok = true;
  for (int rep = 0; rep < o.reps && ok; ++rep) {
    caf::actor_system_config cfg;
    achan::configure_actor_system(cfg);
    caf::actor_system sys{cfg};
    {
      auto sim =
          std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
      auto resolver = std::make_shared<achan::manual_resolver>(sys);
      auto probe = std::make_shared<picker_probe>();
      achan::dial_options d;
      d.transport = sim;
      d.resolvers.push_back(resolver);
      d.seed = 1;
      d.policies.emplace_back("probed_round_robin", [probe](achan::policy_helper& h) {
        return std::make_unique<probed_round_robin>(h, *probe);
      });
      d.lb_policy = "probed_round_robin";
      auto ch = achan::dial(sys, "manual:///bench", d);
      if (!ch) {
        check(false, "resolver: dial: " + achan::to_string_with_message(ch.error()));
        return;
      }
      ch->connect();
      auto a = address_list(11, o.addresses), b = address_list(12, o.addresses);
      std::size_t pickers = 0;
      probe->arm("10.11.", o.addresses);
      resolver->update(a);
      auto t1 = probe->wait(60s, pickers);
      check(t1.has_value(), "resolver: initial list: no picker covering all " +
                                std::to_string(o.addresses) + " addresses within 60 s");
      if (t1) {
        init_first.push_back(t1->first);
        init_all.push_back(t1->second);
        init_pickers = pickers;
        probe->arm("10.12.", o.addresses);
        resolver->update(b);
        auto t2 = probe->wait(60s, pickers);
        check(t2.has_value(), "resolver: update: no picker covering all " +
                                  std::to_string(o.addresses) + " new addresses within 60 s");
        if (t2) {
          upd_first.push_back(t2->first);
          upd_all.push_back(t2->second);
          upd_pickers = pickers;
        }
      }
      ok = upd_all.size() == static_cast<std::size_t>(rep + 1);
      ch->close();
    }
  }
  std::printf(
      "{\"measure\":\"resolver_update\",\"policy\":\"round_robin\",\"transport\":\"simulated\","
      "\"addresses\":%zu,\"reps\":%zu,\"initial_first_picker_ms\":%.2f,\"initial_all_ready_ms\":"
      "%.2f,\"update_first_picker_ms\":%.2f,\"update_all_ready_ms\":%.2f,"
      "\"initial_pickers_published\":%zu,\"update_pickers_published\":%zu,\"ok\":%s}\n",
      o.addresses, upd_all.size(), median(init_first), median(init_all), median(upd_first),
      median(upd_all), init_pickers, upd_pickers, ok ? "true" : "false");
  std::fflush(stdout);
}

// ---- (ii) idle subchannels -------------------------------------------------------------

/// Creates a subchannel for every address of the second and later lists (the first only
/// sizes its own bookkeeping), never connects one, and reports CONNECTING.
class idle_policy final : public achan::policy {
 public:
  idle_policy(achan::policy_helper& h, std::shared_ptr<std::atomic<int>> updates)
      : h_(h), updates_(std::move(updates)) {}
  void update_addresses(const std::vector<std::string>& a, const achan::lb_config&) override {
    drop_all();
    if (updates_->load() == 0)
      ids_.reserve(a.size());
    else
      for (auto& addr : a)
        ids_.push_back(h_.create_subchannel(addr));
    h_.update_state(connectivity_state::connecting, std::make_shared<achan::queue_picker>());
    updates_->fetch_add(1);
  }
  void resolver_error(const achan::status&) override {}
  void on_subchannel_update(const achan::subchannel_update&) override {}
  void exit_idle() override {}
  void shutdown() override { drop_all(); }

 private:
  void drop_all() {
    for (auto id : ids_)
      h_.shutdown_subchannel(id);
    ids_.clear();
  }
  achan::policy_helper& h_;
  std::shared_ptr<std::atomic<int>> updates_;
  std::vector<achan::subchannel_id> ids_;
};

void measure_idle(const options& o) {
  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  double per = 0;
  bool ok = false;
  {
    auto sim =
        std::make_shared<achan::transport::simulated_transport>(achan::make_actor_executor(sys));
    auto resolver = std::make_shared<achan::manual_resolver>(sys);
    auto updates = std::make_shared<std::atomic<int>>(0);
    achan::dial_options d;
    d.transport = sim;
    d.resolvers.push_back(resolver);
    d.policies.emplace_back("idle_subchannels", [updates](achan::policy_helper& h) {
      return std::make_unique<idle_policy>(h, updates);
    });
    d.lb_policy = "idle_subchannels";
    auto ch = achan::dial(sys, "manual:///bench", d);
    if (!ch) {
      check(false, "idle: dial: " + achan::to_string_with_message(ch.error()));
      return;
    }
    ch->connect();
    auto a = address_list(11, o.addresses), b = address_list(12, o.addresses);
    resolver->update(std::move(a));
    bool first = wait_until([&] { return updates->load() >= 1; }, 10s);
    check(first, "idle: first address list not applied within 10 s");
    auto before = settled_heap(4096);
    resolver->update(std::move(b));
    bool second = wait_until([&] { return updates->load() >= 2; }, 10s);
    check(second, "idle: second address list not applied within 10 s");
    auto after = settled_heap(4096);
    ok = first && second;
    per = (static_cast<double>(after) - static_cast<double>(before)) /
          static_cast<double>(o.addresses);
    ch->close();
  }
  std::printf(
      "{\"measure\":\"idle_subchannel_memory\",\"subchannels\":%zu,\"bytes_per_subchannel\":%.0f,"
      "\"ok\":%s}\n",
      o.addresses, per, ok ? "true" : "false");
  std::fflush(stdout);
}

// ---- (iii) in-flight calls ----------------------------------------------------------------

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
void measure_inflight(const options& o, unsigned connections, bool simulated = false) {
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

}  // namespace

int main(int argc, char** argv) {
  auto o = parse(argc, argv);
  if (o.resolver)
    measure_resolver(o);
  if (o.idle)
    measure_idle(o);
  if (o.inflight)
    for (auto k : o.connections)
      measure_inflight(o, k);
  if (o.inflight)
    measure_inflight(o, 1, true);
  std::printf("{\"measure\":\"checks\",\"failed\":%d}\n", failed_checks);
  return failed_checks == 0 ? 0 : 1;
}
