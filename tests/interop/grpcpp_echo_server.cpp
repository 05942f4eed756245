// grpcpp_echo_server: the achan.test.Echo service implemented with grpc++ (sync server),
// the reference peer for achan's interop tests, examples and benchmarks.
//
//   grpcpp_echo_server --port P [--host 127.0.0.1] [--name NAME] [--max-recv BYTES]
//                      [--log-calls 1] [--reflection 1]
//                      [--tls-cert FILE --tls-key FILE [--tls-client-ca FILE]
//                       [--require-client-cert 1]]
//
// Listens on 127.0.0.1 only (--host accepts nothing else); --port 0 picks a free port.
// Prints exactly "listening on 127.0.0.1:PORT" (flushed) once it serves. SIGTERM or
// SIGINT shuts it down gracefully (in-flight calls get 2 s) and it exits 0. Usage errors
// exit 2. Request knobs (delay_ms, fail_code, reply_count, reply_size) are documented in
// proto/echo.proto; request metadata whose key starts with "x-echo-" is copied back as
// response initial and trailing metadata. --reflection 1 adds grpc++'s own server
// reflection service (grpc.reflection.v1alpha), the reference for achan's reflection
// client; without it the server has none (calls to it are UNIMPLEMENTED).
//
// TLS (grpc::SslServerCredentials, PEM files): --tls-cert/--tls-key serve TLS instead
// of h2c; --tls-client-ca asks clients for a certificate and verifies one that is sent
// (GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY), with --require-client-cert 1 a
// client without one is refused (..._REQUEST_AND_REQUIRE_...). A request with the
// metadata "x-echo-peer-identity: 1" gets the trailer "x-peer-identity": what the
// server's auth context says about the client, "authenticated=true|false" then
// "property=value" entries (transport_security_type, x509_subject, x509_common_name,
// x509_subject_alternative_name, peer_dns, peer_ip, peer_uri, one entry per value),
// joined with "; ".
#include <grpc/grpc_security_constants.h>
#include <grpcpp/ext/proto_server_reflection_plugin.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/health_check_service_interface.h>
#include <grpcpp/impl/server_builder_option.h>
#include <grpcpp/security/server_credentials.h>

#include <chrono>
#include <csignal>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iostream>
#include <memory>
#include <sstream>
#include <string>
#include <string_view>
#include <thread>

#include "proto/echo.grpc.pb.h"
#include "testkit/program_args.hpp"

namespace {

using achan::test::EchoReply;
using achan::test::EchoRequest;

/// Command-line settings.
struct options {
  std::string host = "127.0.0.1";
  int port = -1;
  std::string name = "grpcpp";
  int max_recv = -1;        ///< -1: grpc's default (4 MiB)
  bool log_calls = false;   ///< print "call Unary <payload>" when a Unary handler starts
  bool reflection = false;  ///< serve grpc.reflection.v1alpha.ServerReflection
  std::string tls_cert;     ///< PEM file; empty: h2c
  std::string tls_key;
  std::string tls_client_ca;  ///< PEM file; set: ask clients for a certificate
  bool require_client_cert = false;
};

/// Set once from the options before the server starts; read by handler threads.
bool log_calls = false;

const achan::testkit::program_args args{
    "grpcpp_echo_server",
    "grpcpp_echo_server --port P [--host 127.0.0.1] [--name "
    "NAME] [--max-recv BYTES] [--log-calls 1] [--reflection 1] [--tls-cert FILE --tls-key FILE "
    "[--tls-client-ca FILE] [--require-client-cert 1]]"};

options parse(int argc, char** argv) {
  options o;
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--port")
      o.port = args.number(flag, v);
    else if (flag == "--host")
      o.host = v;
    else if (flag == "--name")
      o.name = v;
    else if (flag == "--max-recv")
      o.max_recv = args.number(flag, v);
    else if (flag == "--log-calls")
      o.log_calls = args.number(flag, v) != 0;
    else if (flag == "--reflection")
      o.reflection = args.number(flag, v) != 0;
    else if (flag == "--tls-cert")
      o.tls_cert = v;
    else if (flag == "--tls-key")
      o.tls_key = v;
    else if (flag == "--tls-client-ca")
      o.tls_client_ca = v;
    else if (flag == "--require-client-cert")
      o.require_client_cert = args.number(flag, v) != 0;
    else
      return false;
    return true;
  });
  if (o.port < 0 || o.port > 65535)
    args.fail("--port 0..65535 is required");
  if (o.host != "127.0.0.1")
    args.fail("--host must be 127.0.0.1 (this test peer never listens elsewhere)");
  if (o.tls_cert.empty() != o.tls_key.empty())
    args.fail("--tls-cert and --tls-key go together");
  if (o.tls_cert.empty() && !o.tls_client_ca.empty())
    args.fail("--tls-client-ca needs --tls-cert and --tls-key");
  if (o.require_client_cert && o.tls_client_ca.empty())
    args.fail("--require-client-cert needs --tls-client-ca");
  return o;
}

/// The listening port's credentials: TLS from the --tls-* files, else h2c.
std::shared_ptr<grpc::ServerCredentials> credentials(const options& o) {
  if (o.tls_cert.empty())
    return grpc::InsecureServerCredentials();
  auto request = GRPC_SSL_DONT_REQUEST_CLIENT_CERTIFICATE;
  if (o.require_client_cert)
    request = GRPC_SSL_REQUEST_AND_REQUIRE_CLIENT_CERTIFICATE_AND_VERIFY;
  else if (!o.tls_client_ca.empty())
    request = GRPC_SSL_REQUEST_CLIENT_CERTIFICATE_AND_VERIFY;
  grpc::SslServerCredentialsOptions ssl(request);
  if (!o.tls_client_ca.empty())
    ssl.pem_root_certs = args.read_file(o.tls_client_ca);
  ssl.pem_key_cert_pairs.push_back({args.read_file(o.tls_key), args.read_file(o.tls_cert)});
  return grpc::SslServerCredentials(ssl);
}

/// The client as the call's auth context describes it (the "x-peer-identity" trailer):
/// "authenticated=true; transport_security_type=ssl; x509_common_name=alice; ...".
/// Bytes a metadata value cannot carry become '?'.
std::string peer_identity(const grpc::ServerContext* ctx) {
  auto auth = ctx->auth_context();
  if (!auth)
    return "authenticated=false";
  std::string out = auth->IsPeerAuthenticated() ? "authenticated=true" : "authenticated=false";
  for (const char* name :
       {GRPC_TRANSPORT_SECURITY_TYPE_PROPERTY_NAME, GRPC_X509_SUBJECT_PROPERTY_NAME,
        GRPC_X509_CN_PROPERTY_NAME, GRPC_X509_SAN_PROPERTY_NAME, GRPC_PEER_DNS_PROPERTY_NAME,
        GRPC_PEER_IP_PROPERTY_NAME, GRPC_PEER_URI_PROPERTY_NAME}) {
    for (const auto& value : auth->FindPropertyValues(name)) {
      out += std::string{"; "} + name + "=";
      for (char c : std::string_view(value.data(), value.size()))
        out += (c >= 0x20 && c < 0x7f) ? c : '?';
    }
  }
  return out;
}

/// Sleeps `ms`, waking early if the client cancelled or the deadline passed, so a
/// graceful shutdown is not held up by abandoned delays.
void delay(grpc::ServerContext* ctx, std::uint32_t ms) {
  auto until = std::chrono::steady_clock::now() + std::chrono::milliseconds(ms);
  while (!ctx->IsCancelled()) {
    auto now = std::chrono::steady_clock::now();
    if (now >= until)
      return;
    std::this_thread::sleep_for(
        std::min<std::chrono::steady_clock::duration>(until - now, std::chrono::milliseconds(10)));
  }
}

/// Copies "x-echo-*" request metadata into the response's initial and trailing
/// metadata, and adds the "x-peer-identity" trailer if "x-echo-peer-identity: 1" asks
/// for it; call before the first write. -bin values arrive decoded and grpc++
/// re-encodes them.
void echo_metadata(grpc::ServerContext* ctx) {
  for (const auto& [key, value] : ctx->client_metadata()) {
    std::string k(key.data(), key.size());
    if (!k.starts_with("x-echo-"))
      continue;
    std::string v(value.data(), value.size());
    ctx->AddInitialMetadata(k, v);
    ctx->AddTrailingMetadata(k, v);
    if (k == "x-echo-peer-identity" && v == "1")
      ctx->AddTrailingMetadata("x-peer-identity", peer_identity(ctx));
  }
}

/// The status a request asks to fail with, or OK.
grpc::Status requested_status(const EchoRequest& req) {
  if (req.fail_code() == 0)
    return grpc::Status::OK;
  return {static_cast<grpc::StatusCode>(req.fail_code()), req.fail_message()};
}

class echo_service final : public achan::test::Echo::Service {
 public:
  explicit echo_service(std::string name) : name_(std::move(name)) {}

  grpc::Status Unary(grpc::ServerContext* ctx, const EchoRequest* req, EchoReply* reply) override {
    if (log_calls) {
      // Lets a test know the call reached a handler (grpc++ cancels calls it has
      // accepted but not yet dispatched when Shutdown starts).
      std::printf("call Unary %s\n", req->payload().c_str());
      std::fflush(stdout);
    }
    echo_metadata(ctx);
    delay(ctx, req->delay_ms());
    if (auto s = requested_status(*req); !s.ok())
      return s;
    fill(*req, 0, 1, *reply);
    return grpc::Status::OK;
  }

  grpc::Status ServerStream(grpc::ServerContext* ctx, const EchoRequest* req,
                            grpc::ServerWriter<EchoReply>* writer) override {
    echo_metadata(ctx);
    delay(ctx, req->delay_ms());
    if (auto s = requested_status(*req); !s.ok())
      return s;
    std::uint32_t n = req->reply_count() == 0 ? 1 : req->reply_count();
    EchoReply reply;
    for (std::uint32_t i = 0; i < n; ++i) {
      fill(*req, i, 1, reply);
      if (!writer->Write(reply))
        return {grpc::StatusCode::CANCELLED, "client went away"};
    }
    return grpc::Status::OK;
  }

  grpc::Status ClientStream(grpc::ServerContext* ctx, grpc::ServerReader<EchoRequest>* reader,
                            EchoReply* reply) override {
    echo_metadata(ctx);
    EchoRequest req, last;
    std::uint32_t received = 0;
    while (reader->Read(&req)) {
      ++received;
      delay(ctx, req.delay_ms());
      if (auto s = requested_status(req); !s.ok())
        return s;
      last = std::move(req);
    }
    fill(last, 0, received, *reply);
    return grpc::Status::OK;
  }

  grpc::Status Bidi(grpc::ServerContext* ctx,
                    grpc::ServerReaderWriter<EchoReply, EchoRequest>* stream) override {
    echo_metadata(ctx);
    EchoRequest req;
    EchoReply reply;
    std::uint32_t received = 0;
    while (stream->Read(&req)) {
      ++received;
      delay(ctx, req.delay_ms());
      if (auto s = requested_status(req); !s.ok())
        return s;
      fill(req, received - 1, received, reply);
      if (!stream->Write(reply))
        return {grpc::StatusCode::CANCELLED, "client went away"};
    }
    return grpc::Status::OK;
  }

 private:
  void fill(const EchoRequest& req, std::uint32_t index, std::uint32_t received,
            EchoReply& reply) const {
    if (req.reply_size() > 0)
      reply.set_payload(std::string(req.reply_size(), 'x'));
    else
      reply.set_payload(req.payload());
    reply.set_server(name_);
    reply.set_index(index);
    reply.set_received(received);
  }

  std::string name_;
};

/// Removes grpc++'s reflection plugin from a ServerBuilder. Loading libgrpc++_reflection
/// registers the plugin for every server (a static initializer in the library), so
/// "off" has to take it out again.
class without_reflection final : public grpc::ServerBuilderOption {
 public:
  void UpdateArguments(grpc::ChannelArguments*) override {}
  void UpdatePlugins(std::vector<std::unique_ptr<grpc::ServerBuilderPlugin>>* plugins) override {
    std::erase_if(*plugins, [](const std::unique_ptr<grpc::ServerBuilderPlugin>& p) {
      return dynamic_cast<grpc::reflection::ProtoServerReflectionPlugin*>(p.get()) != nullptr;
    });
  }
};

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  log_calls = opt.log_calls;

  // Block the stop signals before grpc starts its threads (they inherit the mask), then
  // take them synchronously with wait_for_stop below: no async-signal-safety concerns.
  auto stop_signals = achan::testkit::block_stop_signals();

  grpc::EnableDefaultHealthCheckService(true);
  if (opt.reflection)
    grpc::reflection::InitProtoReflectionServerBuilderPlugin();
  echo_service service(opt.name);
  grpc::ServerBuilder builder;
  if (!opt.reflection)
    builder.SetOption(std::make_unique<without_reflection>());
  int port = 0;
  builder.AddListeningPort(opt.host + ":" + std::to_string(opt.port), credentials(opt), &port);
  builder.RegisterService(&service);
  // Fail loudly if the port is taken instead of silently sharing it (grpc defaults to
  // SO_REUSEPORT on Linux).
  builder.AddChannelArgument(GRPC_ARG_ALLOW_REUSEPORT, 0);
  // The sync server runs one handler per thread and answers RESOURCE_EXHAUSTED
  // ("Server Threadpool Exhausted") beyond the quota: allow enough for the 1000
  // concurrent calls of the interop tests plus pollers.
  grpc::ResourceQuota quota("grpcpp_echo_server");
  quota.SetMaxThreads(1100);
  builder.SetResourceQuota(quota);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MIN_POLLERS, 2);
  builder.SetSyncServerOption(grpc::ServerBuilder::SyncServerOption::MAX_POLLERS, 8);
  if (opt.max_recv >= 0)
    builder.SetMaxReceiveMessageSize(opt.max_recv);

  std::unique_ptr<grpc::Server> server = builder.BuildAndStart();
  if (!server || port == 0) {
    std::cerr << "grpcpp_echo_server: cannot listen on " << opt.host << ":" << opt.port << "\n";
    return 1;
  }
  if (auto* health = server->GetHealthCheckService())
    health->SetServingStatus(achan::test::Echo::service_full_name(), true);

  std::printf("listening on %s:%d\n", opt.host.c_str(), port);
  std::fflush(stdout);

  achan::testkit::wait_for_stop(stop_signals);
  server->Shutdown(std::chrono::system_clock::now() + std::chrono::seconds(2));
  server->Wait();
  return 0;
}
