// grpcpp_async_client: closed-loop unary load on grpc++'s CompletionQueue (async) client,
// the baseline that bench/achan_load.cpp is compared with (bench/compare.sh).
//
//   grpcpp_async_client --target 127.0.0.1:PORT [--concurrency C] [--duration-ms D]
//                       [--warmup-ms W] [--payload-size BYTES] [--timeout-ms T]
//
// One channel, one thread draining one completion queue, C Echo/Unary calls always in
// flight (each completion starts the next call). After W ms of warm-up it measures for D
// ms and prints one JSON line:
//   {"client":"grpcpp","concurrency":C,"count":N,"errors":E,"qps":F,"p50_us":F,
//    "p90_us":F,"p99_us":F,"cpu_us_per_call":F}
// count/qps/latencies cover calls that completed OK inside the measured window;
// latency is start-to-completion per call (steady_clock); cpu_us_per_call is this
// process's user+sys CPU time (getrusage) over the window divided by count. errors counts
// every failed call or wrong reply of the whole run, warm-up included. Each call has a
// deadline of --timeout-ms (default 10000; 0: no deadline). Exit 0 when
// errors == 0, 1 otherwise, 2 on usage errors.
#include <grpcpp/grpcpp.h>
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

#include "proto/echo.grpc.pb.h"

namespace {

using clock_type = std::chrono::steady_clock;
using achan::test::EchoReply;
using achan::test::EchoRequest;

struct options {
  std::string target;
  int concurrency = 1;
  int duration_ms = 5000;
  int warmup_ms = 1000;
  int payload_size = 64;
  int timeout_ms = 10000;
};

[[noreturn]] void usage(const std::string& why) {
  std::cerr << "grpcpp_async_client: " << why << "\n"
            << "usage: grpcpp_async_client --target HOST:PORT [--concurrency C]"
               " [--duration-ms D] [--warmup-ms W] [--payload-size BYTES] [--timeout-ms T]\n";
  std::exit(2);
}

int to_int(const std::string& flag, const std::string& v) {
  try {
    std::size_t used = 0;
    int n = std::stoi(v, &used);
    if (used == v.size() && n >= 0)
      return n;
  } catch (const std::exception&) {
  }
  usage("bad number for " + flag + ": " + v);
}

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (i + 1 >= argc)
      usage("missing value for " + flag);
    std::string v = argv[++i];
    if (flag == "--target")
      o.target = v;
    else if (flag == "--concurrency")
      o.concurrency = to_int(flag, v);
    else if (flag == "--duration-ms")
      o.duration_ms = to_int(flag, v);
    else if (flag == "--warmup-ms")
      o.warmup_ms = to_int(flag, v);
    else if (flag == "--payload-size")
      o.payload_size = to_int(flag, v);
    else if (flag == "--timeout-ms")
      o.timeout_ms = to_int(flag, v);
    else
      usage("unknown flag " + flag);
  }
  if (o.target.empty())
    usage("--target is required");
  if (o.concurrency < 1 || o.duration_ms < 1)
    usage("--concurrency and --duration-ms must be at least 1");
  return o;
}

/// Process CPU time (user + sys) in microseconds.
double cpu_us() {
  rusage ru{};
  getrusage(RUSAGE_SELF, &ru);
  auto us = [](const timeval& t) { return t.tv_sec * 1e6 + t.tv_usec; };
  return us(ru.ru_utime) + us(ru.ru_stime);
}

/// Measurement window and results. The window's bounds are fixed before the first call;
/// a timer thread samples CPU time at both ends and then raises `stop`.
class recorder {
 public:
  recorder(const options& o)
      : start_(clock_type::now() + std::chrono::milliseconds(o.warmup_ms)),
        end_(start_ + std::chrono::milliseconds(o.duration_ms)),
        cap_(static_cast<std::size_t>(o.duration_ms) * 500 + 100000),
        lat_ns_(new std::uint64_t[cap_]) {}

  /// Records one finished call (completion thread).
  void record(clock_type::time_point started, bool ok) {
    if (!ok) {
      errors_.fetch_add(1, std::memory_order_relaxed);
      return;
    }
    auto now = clock_type::now();
    if (now < start_ || now >= end_)
      return;
    auto i = n_.fetch_add(1, std::memory_order_relaxed);
    if (i < cap_)
      lat_ns_[i] = static_cast<std::uint64_t>((now - started).count());
  }

  /// Runs the window on its own thread: sample CPU, wait, sample CPU, stop.
  std::thread timer() {
    return std::thread([this] {
      std::this_thread::sleep_until(start_);
      cpu0_ = cpu_us();
      std::this_thread::sleep_until(end_);
      cpu1_ = cpu_us();
      stop_.store(true, std::memory_order_release);
    });
  }

  bool stopped() const { return stop_.load(std::memory_order_acquire); }
  std::int64_t errors() const { return errors_.load(); }

  /// Prints the JSON line; call after the timer thread has been joined.
  void report(const char* client, const options& o) {
    std::size_t n = std::min<std::size_t>(n_.load(), cap_);
    std::int64_t count = static_cast<std::int64_t>(n_.load());
    std::sort(lat_ns_.get(), lat_ns_.get() + n);
    auto pct = [&](double p) {
      if (n == 0)
        return 0.0;
      std::size_t i = std::min(n - 1, static_cast<std::size_t>(p * static_cast<double>(n)));
      return static_cast<double>(lat_ns_[i]) / 1000.0;
    };
    double secs = o.duration_ms / 1000.0;
    std::printf(
        "{\"client\":\"%s\",\"concurrency\":%d,\"count\":%lld,\"errors\":%lld,\"qps\":%.1f,"
        "\"p50_us\":%.1f,\"p90_us\":%.1f,\"p99_us\":%.1f,\"cpu_us_per_call\":%.2f}\n",
        client, o.concurrency, static_cast<long long>(count), static_cast<long long>(errors()),
        static_cast<double>(count) / secs, pct(0.50), pct(0.90), pct(0.99),
        count > 0 ? (cpu1_ - cpu0_) / static_cast<double>(count) : 0.0);
    std::fflush(stdout);
  }

 private:
  clock_type::time_point start_, end_;
  std::size_t cap_;
  std::unique_ptr<std::uint64_t[]> lat_ns_;
  std::atomic<std::size_t> n_{0};
  std::atomic<std::int64_t> errors_{0};
  std::atomic<bool> stop_{false};
  double cpu0_ = 0, cpu1_ = 0;
};

/// One of the C call slots; its address is the completion-queue tag.
struct call_slot {
  std::optional<grpc::ClientContext> ctx;
  EchoReply reply;
  grpc::Status status;
  std::unique_ptr<grpc::ClientAsyncResponseReader<EchoReply>> rpc;
  clock_type::time_point started;
};

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);

  auto channel = grpc::CreateChannel(opt.target, grpc::InsecureChannelCredentials());
  if (!channel->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10))) {
    std::cerr << "grpcpp_async_client: cannot connect to " << opt.target << "\n";
    return 1;
  }
  auto stub = achan::test::Echo::NewStub(channel);
  grpc::CompletionQueue cq;
  const std::string payload(static_cast<std::size_t>(opt.payload_size), 'p');

  auto start = [&](call_slot& s) {
    s.ctx.emplace();
    if (opt.timeout_ms > 0)
      s.ctx->set_deadline(std::chrono::system_clock::now() +
                          std::chrono::milliseconds(opt.timeout_ms));
    s.reply.Clear();
    EchoRequest req;
    req.set_payload(payload);
    s.started = clock_type::now();
    s.rpc = stub->AsyncUnary(&*s.ctx, req, &cq);
    s.rpc->Finish(&s.reply, &s.status, &s);
  };

  recorder rec(opt);
  std::thread timer = rec.timer();
  std::vector<call_slot> slots(static_cast<std::size_t>(opt.concurrency));
  for (auto& s : slots)
    start(s);
  int outstanding = opt.concurrency;
  void* tag = nullptr;
  bool ok = false;
  while (outstanding > 0 && cq.Next(&tag, &ok)) {
    auto& s = *static_cast<call_slot*>(tag);
    bool good = ok && s.status.ok() && s.reply.payload().size() == payload.size();
    if (!good && rec.errors() == 0)
      std::cerr << "grpcpp_async_client: first failed call: code " << s.status.error_code() << " "
                << s.status.error_message() << "\n";
    rec.record(s.started, good);
    if (rec.stopped())
      --outstanding;
    else
      start(s);
  }
  timer.join();
  cq.Shutdown();
  while (cq.Next(&tag, &ok)) {
  }
  rec.report("grpcpp", opt);
  return rec.errors() == 0 ? 0 : 1;
}
