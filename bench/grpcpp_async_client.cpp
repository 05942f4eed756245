// grpcpp_async_client: closed-loop unary load on grpc++'s CompletionQueue (async) client,
// the baseline that `achan bench` and bench/achan_load.cpp are compared with (bench/compare.sh).
//
//   grpcpp_async_client --target 127.0.0.1:PORT [--concurrency C] [--duration-ms D]
//                       [--warmup-ms W] [--payload-size BYTES] [--timeout-ms T]
//                       [--tls-ca FILE [--server-name NAME]]
//
// --tls-ca: TLS (grpc::SslCredentials) trusting the CA certificates in FILE (PEM), the
// server's certificate checked against NAME (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG; default:
// the target's host). Without it h2c, as before.
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
#include <fstream>
#include <iostream>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "bench/load_recorder.hpp"
#include "proto/echo.grpc.pb.h"
#include "testkit/program_args.hpp"

namespace {

using achan::test::EchoReply;
using achan::test::EchoRequest;
using bench::clock_type;

struct options : bench::load_options {
  std::string tls_ca;       ///< PEM CA file; set: TLS
  std::string server_name;  ///< name checked in the server's certificate
};

const achan::testkit::program_args args{"grpcpp_async_client",
                                        std::string{"grpcpp_async_client "} + bench::load_usage +
                                            " [--tls-ca FILE [--server-name NAME]]"};

options parse(int argc, char** argv) {
  options o;
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--tls-ca")
      o.tls_ca = v;
    else if (flag == "--server-name")
      o.server_name = v;
    else
      return bench::parse_load_flag(o, flag, v, args);
    return true;
  });
  bench::check_load_options(o, args);
  if (!o.server_name.empty() && o.tls_ca.empty())
    args.fail("--server-name needs --tls-ca");
  return o;
}

std::shared_ptr<grpc::Channel> make_channel(const options& o) {
  if (o.tls_ca.empty())
    return grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  ssl.pem_root_certs = args.read_file(o.tls_ca);
  grpc::ChannelArguments ch_args;
  if (!o.server_name.empty())
    ch_args.SetSslTargetNameOverride(o.server_name);
  return grpc::CreateCustomChannel(o.target, grpc::SslCredentials(ssl), ch_args);
}

using bench::recorder;

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

  auto channel = make_channel(opt);
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

  recorder rec(opt.warmup_ms, opt.duration_ms);
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
  rec.report("grpcpp", opt.concurrency);
  return rec.errors() == 0 ? 0 : 1;
}
