// achan_load: closed-loop unary load through achan's channel over its HTTP/2 transport,
// measured the same way as bench/grpcpp_async_client.cpp (bench/compare.sh runs both).
//
//   achan_load --target 127.0.0.1:PORT [--concurrency C] [--duration-ms D] [--warmup-ms W]
//              [--payload-size BYTES] [--timeout-ms T] [--io-threads N]
//              [--scheduler-threads N] [-- CAF config flags]
//
// One channel (dial "ipv4:TARGET", pick_first, one HTTP/2 connection) on a transport with
// --io-threads asio threads (default 1); --scheduler-threads sets CAF's worker count
// (default 0: CAF's default, max(cores, 4)); arguments after "--" go to CAF's own
// config parser (e.g. -- --work-stealing.moderate-poll-attempts=0). C calls are always in flight:
// each call's completion callback (on an achan thread) serializes an EchoRequest and starts the
// next call. After W ms of warm-up it measures for D ms and prints one JSON line:
//   {"client":"achan","concurrency":C,"count":N,"errors":E,"qps":F,"p50_us":F,
//    "p90_us":F,"p99_us":F,"cpu_us_per_call":F}
// with the same meaning as grpcpp_async_client's (replies are parsed and checked there
// too; --timeout-ms works the same). Exit 0 when errors == 0, 1 otherwise, 2 on usage errors.
#include <sys/resource.h>

#include <algorithm>
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <iostream>
#include <memory>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include "bench/load_recorder.hpp"
#include "testkit/program_args.hpp"

#include <achan/channel.hpp>
#include <achan/h2_transport.hpp>
#include <achan/system_config.hpp>
#include "bench/load_recorder.hpp"
#include "proto/echo.pb.h"

namespace {

using achan::test::EchoReply;
using achan::test::EchoRequest;
using bench::clock_type;

constexpr const char* method = "/achan.test.Echo/Unary";

struct options : bench::load_options {
  int io_threads = 1;
  int scheduler_threads = 0;
  std::vector<std::string> caf_args;  ///< after "--": CAF config flags
};

const achan::testkit::program_args args{
    "achan_load", std::string{"achan_load "} + bench::load_usage +
                      " [--io-threads N] [--scheduler-threads N] [-- CAF config flags]"};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--") {
      o.caf_args.assign(argv + i + 1, argv + argc);
      break;
    }
    if (i + 1 >= argc)
      args.fail("missing value for " + flag);
    std::string v = argv[++i];
    if (bench::parse_load_flag(o, flag, v, args))
      continue;
    if (flag == "--io-threads")
      o.io_threads = args.number(flag, v);
    else if (flag == "--scheduler-threads")
      o.scheduler_threads = args.number(flag, v);
    else
      args.fail("unknown flag " + flag);
  }
  bench::check_load_options(o, args);
  if (o.io_threads < 1)
    args.fail("--io-threads must be at least 1");
  return o;
}

using bench::recorder;

/// Keeps `concurrency` calls in flight until the recorder stops, then lets them drain.
class closed_loop {
 public:
  closed_loop(achan::channel& ch, recorder& rec, const options& o)
      : ch_(ch),
        rec_(rec),
        payload_(static_cast<std::size_t>(o.payload_size), 'p'),
        timeout_(std::chrono::milliseconds(o.timeout_ms)),
        outstanding_(o.concurrency) {}

  /// Starts the first calls and blocks (main thread) until the last one has finished.
  void run(int concurrency) {
    for (int i = 0; i < concurrency; ++i)
      issue();
    std::unique_lock lk{mx_};
    cv_.wait(lk, [&] { return drained_; });
  }

 private:
  /// Starts one call; runs on the main thread or in a completion callback.
  void issue() {
    EchoRequest req;
    req.set_payload(payload_);
    std::string bytes = req.SerializeAsString();
    auto started = clock_type::now();
    achan::call_options copts;
    if (timeout_.count() > 0)
      copts.timeout = timeout_;
    ch_.call(method, std::move(bytes), std::move(copts),
             [this, started](achan::call_result&& r) { complete(started, std::move(r)); });
  }

  void complete(clock_type::time_point started, achan::call_result&& r) {
    bool good = r.status.ok();
    if (good) {
      EchoReply reply;
      good = reply.ParseFromString(r.payload) && reply.payload().size() == payload_.size();
    }
    if (!good && rec_.errors() == 0)
      std::cerr << "achan_load: first failed call: " << r.status.to_string() << "\n";
    rec_.record(started, good);
    if (!rec_.stopped()) {
      issue();
    } else if (outstanding_.fetch_sub(1) == 1) {
      std::lock_guard lk{mx_};
      drained_ = true;
      cv_.notify_one();
    }
  }

  achan::channel& ch_;
  recorder& rec_;
  const std::string payload_;
  const achan::clock_duration timeout_;
  std::atomic<int> outstanding_;
  std::mutex mx_;  // guards drained_ for the main thread's wait only
  std::condition_variable cv_;
  bool drained_ = false;
};

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);

  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg, static_cast<unsigned>(std::max(0, opt.scheduler_threads)));
  if (!opt.caf_args.empty()) {
    if (auto err = cfg.parse(opt.caf_args); err || !cfg.remainder.empty())
      args.fail("bad CAF flags after --");
  }
  std::int64_t errors = 0;
  {
    caf::actor_system sys{cfg};
    {
      achan::transport::h2_options h2;
      h2.io_threads = static_cast<unsigned>(opt.io_threads);
      achan::dial_options dial;
      dial.transport = achan::transport::make_h2_transport(h2);
      dial.block_until_ready = std::chrono::seconds(10);
      auto ch = achan::dial(sys, "ipv4:" + opt.target, dial);
      if (!ch) {
        std::cerr << "achan_load: dial " << opt.target << ": "
                  << achan::to_string_with_message(ch.error()) << "\n";
        return 1;
      }
      recorder rec(opt.warmup_ms, opt.duration_ms);
      std::thread timer = rec.timer();
      closed_loop loop(*ch, rec, opt);
      loop.run(opt.concurrency);
      timer.join();
      ch->close();
      rec.report("achan", opt.concurrency);
      errors = rec.errors();
      // The channel handle, then the transport (in `dial`), are released here, before
      // the actor system waits for its actors.
    }
  }
  return errors == 0 ? 0 : 1;
}
