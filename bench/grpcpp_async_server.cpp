// grpcpp_async_server: achan.test.Echo/Unary on grpc++'s CompletionQueue (async) API, the
// server side of the whole-process benchmark (bench/compare.sh). Only Unary is served.
//
//   grpcpp_async_server --port P [--threads N] [--name NAME] [--tls-cert FILE --tls-key FILE]
//
// Listens on 127.0.0.1 only; --port 0 picks a free port. With --tls-cert and --tls-key
// (PEM certificate chain and its private key) it serves TLS (grpc::SslServerCredentials,
// no client certificate asked for); without them h2c, as before. Prints exactly
// "listening on 127.0.0.1:PORT" (flushed) once it serves. --threads N (1 or 2, default 1)
// runs N completion queues, one polling thread each. SIGTERM or SIGINT shuts it down
// (in-flight calls get 1 s) and it exits 0. Usage errors exit 2.
#include <grpcpp/grpcpp.h>

#include <atomic>
#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "proto/echo.grpc.pb.h"
#include "testkit/program_args.hpp"

namespace {

using achan::test::EchoReply;
using achan::test::EchoRequest;

struct options {
  int port = -1;
  int threads = 1;
  std::string name = "grpcpp-async";
  std::string tls_cert;  ///< PEM chain file; with tls_key: serve TLS
  std::string tls_key;
};

const achan::testkit::program_args args{
    "grpcpp_async_server",
    "grpcpp_async_server --port P [--threads 1|2] [--name NAME] "
    "[--tls-cert FILE --tls-key FILE]"};

options parse(int argc, char** argv) {
  options o;
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--port")
      o.port = args.number(flag, v);
    else if (flag == "--threads")
      o.threads = args.number(flag, v);
    else if (flag == "--name")
      o.name = v;
    else if (flag == "--tls-cert")
      o.tls_cert = v;
    else if (flag == "--tls-key")
      o.tls_key = v;
    else
      return false;
    return true;
  });
  if (o.port < 0 || o.port > 65535)
    args.fail("--port 0..65535 is required");
  if (o.threads < 1 || o.threads > 2)
    args.fail("--threads must be 1 or 2");
  if (o.tls_cert.empty() != o.tls_key.empty())
    args.fail("--tls-cert and --tls-key go together");
  return o;
}

std::shared_ptr<grpc::ServerCredentials> credentials(const options& o) {
  if (o.tls_cert.empty())
    return grpc::InsecureServerCredentials();
  grpc::SslServerCredentialsOptions ssl;
  ssl.pem_key_cert_pairs.push_back({args.read_file(o.tls_key), args.read_file(o.tls_cert)});
  return grpc::SslServerCredentials(ssl);
}

/// Set before Server::Shutdown; slots stop re-posting themselves.
std::atomic<bool> stopping{false};

/// One outstanding Unary slot: requested from the server, answered, then recycled.
/// Its address is the completion-queue tag; only its queue's thread touches it.
class unary_slot {
 public:
  unary_slot(achan::test::Echo::AsyncService* svc, grpc::ServerCompletionQueue* cq,
             const std::string* name)
      : svc_(svc), cq_(cq), name_(name), writer_(&ctx_) {
    request();
  }

  /// Advances on a completion; `ok == false` means the server is shutting down (the
  /// request was never matched) or the reply could not be sent. Deletes itself when done.
  void proceed(bool ok) {
    if (state_ == state::requested) {
      if (!ok) {
        delete this;
        return;
      }
      // Post a replacement first so the next call finds a waiting slot (not once shutdown
      // has begun: a request posted to a shut-down queue is a grpc assertion failure).
      if (!stopping.load(std::memory_order_acquire))
        new unary_slot(svc_, cq_, name_);
      reply_.set_payload(req_.payload());
      reply_.set_server(*name_);
      state_ = state::finishing;
      writer_.Finish(reply_, grpc::Status::OK, this);
    } else {
      delete this;
    }
  }

 private:
  enum class state { requested, finishing };

  void request() { svc_->RequestUnary(&ctx_, &req_, &writer_, cq_, cq_, this); }

  achan::test::Echo::AsyncService* svc_;
  grpc::ServerCompletionQueue* cq_;
  const std::string* name_;
  grpc::ServerContext ctx_;
  EchoRequest req_;
  EchoReply reply_;
  grpc::ServerAsyncResponseWriter<EchoReply> writer_;
  state state_ = state::requested;
};

/// Slots posted per completion queue up front: more than the benchmark's deepest
/// concurrency, so no call waits for a slot to be re-posted.
constexpr int slots_per_queue = 256;

void drive(grpc::ServerCompletionQueue* cq) {
  void* tag = nullptr;
  bool ok = false;
  while (cq->Next(&tag, &ok))
    static_cast<unary_slot*>(tag)->proceed(ok);
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);

  // Block the stop signals before grpc starts its threads (they inherit the mask), then
  // take them synchronously with wait_for_stop below.
  auto stop_signals = achan::testkit::block_stop_signals();

  achan::test::Echo::AsyncService service;
  grpc::ServerBuilder builder;
  int port = 0;
  builder.AddListeningPort("127.0.0.1:" + std::to_string(opt.port), credentials(opt), &port);
  builder.RegisterService(&service);
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  std::vector<std::unique_ptr<grpc::ServerCompletionQueue>> cqs;
  for (int i = 0; i < opt.threads; ++i)
    cqs.push_back(builder.AddCompletionQueue());
  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpcpp_async_server: cannot listen on 127.0.0.1:" << opt.port << "\n";
    return 1;
  }

  for (auto& cq : cqs)
    for (int i = 0; i < slots_per_queue; ++i)
      new unary_slot(&service, cq.get(), &opt.name);
  std::vector<std::thread> threads;
  for (auto& cq : cqs)
    threads.emplace_back(drive, cq.get());

  std::printf("listening on 127.0.0.1:%d\n", port);
  std::fflush(stdout);

  achan::testkit::wait_for_stop(stop_signals);
  stopping.store(true, std::memory_order_release);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(1));
  for (auto& cq : cqs)
    cq->Shutdown();  // after Server::Shutdown, as grpc++ requires
  for (auto& t : threads)
    t.join();
  return 0;
}
