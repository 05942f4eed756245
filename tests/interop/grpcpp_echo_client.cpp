// grpcpp_echo_client: makes one achan.test.Echo call with grpc++ and prints the outcome
// as one JSON line, the reference client for interop tests (pointed at grpc++'s or
// achan's own server).
//
//   grpcpp_echo_client --target HOST:PORT
//       --method unary|server_stream|client_stream|bidi|health|raw [--path /pkg.Svc/Method]
//       [--payload-size N] [--count N] [--deadline-ms N] [--delay-ms N] [--reply-size N]
//       [--cancel-after-ms N]
//       [--metadata k=v ...] [--fail-code C --fail-message M] [--wait-for-ready]
//       [--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--server-name NAME]
//
// --count: replies asked for (server_stream) or requests sent (client_stream, bidi).
// --metadata takes one or more k=v words (until the next --flag) and may repeat; for a
// key ending in -bin, v is base64 (argv cannot hold every byte) and is sent decoded.
// Output: {"code":N,"message":"...","replies":N,"bytes":N,"server":"..."} where bytes
// is the total reply payload size and server the last reply's server field. With
// --metadata, two more members follow: "initial" and "trailing", objects of the
// response metadata received ("-bin" values base64-encoded). Exits 0 whenever the call
// was made (whatever its status), 2 on usage errors.
//
// --method raw --path P sends one empty message to method P (any service, no protobuf)
// and adds "payload", the reply's bytes as a JSON string, to the line.
// TLS (grpc::SslCredentials, PEM files): --tls-ca names the CAs that may sign the
// server's certificate (without it: grpc's default roots), --tls-cert/--tls-key the
// client's certificate; any of the three means TLS. grpc++ checks the certificate
// against the target's host, or against --server-name (GRPC_SSL_TARGET_NAME_OVERRIDE_ARG,
// which also sets SNI and :authority). Host names resolve through the system resolver
// (GRPC_DNS_RESOLVER=native unless the environment sets it; see main).
#include <grpcpp/generic/generic_stub.h>
#include <grpcpp/grpcpp.h>
#include <grpcpp/security/credentials.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <future>
#include <iostream>
#include <map>
#include <memory>
#include <optional>
#include <sstream>
#include <string>
#include <utility>
#include <vector>

#include <thread>

#include "proto/echo.grpc.pb.h"
#include "proto/health.grpc.pb.h"
#include "testkit/program_args.hpp"

namespace {

using achan::test::EchoReply;
using achan::test::EchoRequest;

/// Command-line settings.
struct options {
  std::string target;
  std::string method;
  long payload_size = 16;
  long count = 1;
  long deadline_ms = 0;      ///< 0: no deadline
  long cancel_after_ms = 0;  ///< > 0: TryCancel() the call after this long
  long delay_ms = 0;
  long reply_size = 0;
  long fail_code = 0;
  std::string fail_message;
  bool wait_for_ready = false;
  std::vector<std::pair<std::string, std::string>> metadata;
  std::string path;  ///< --method raw: the method called
  std::string tls_ca, tls_cert, tls_key, server_name;
  bool tls() const { return !tls_ca.empty() || !tls_cert.empty() || !tls_key.empty(); }
};

const achan::testkit::program_args args{
    "grpcpp_echo_client",
    "grpcpp_echo_client --target HOST:PORT "
    "--method unary|server_stream|client_stream|bidi|health|raw [--path /pkg.Svc/Method] "
    "[--payload-size N] [--count N] [--deadline-ms N] [--cancel-after-ms N] [--delay-ms N] "
    "[--reply-size N] [--metadata k=v ...] [--fail-code C --fail-message M] [--wait-for-ready] "
    "[--tls-ca FILE] [--tls-cert FILE --tls-key FILE] [--server-name NAME]"};

options parse(int argc, char** argv) {
  options o;
  for (int i = 1; i < argc; ++i) {
    std::string flag = argv[i];
    if (flag == "--wait-for-ready") {
      o.wait_for_ready = true;
      continue;
    }
    if (flag == "--metadata") {
      int taken = 0;
      for (; i + 1 < argc && !std::string(argv[i + 1]).starts_with("--"); ++taken) {
        std::string kv = argv[++i];
        auto eq = kv.find('=');
        if (eq == std::string::npos || eq == 0)
          args.fail("--metadata wants key=value, got " + kv);
        o.metadata.emplace_back(kv.substr(0, eq), kv.substr(eq + 1));
      }
      if (taken == 0)
        args.fail("--metadata wants at least one key=value");
      continue;
    }
    if (i + 1 >= argc)
      args.fail("missing value for " + flag);
    std::string v = argv[++i];
    if (flag == "--target")
      o.target = v;
    else if (flag == "--method")
      o.method = v;
    else if (flag == "--payload-size")
      o.payload_size = args.number(flag, v);
    else if (flag == "--count")
      o.count = args.number(flag, v);
    else if (flag == "--deadline-ms")
      o.deadline_ms = args.number(flag, v);
    else if (flag == "--cancel-after-ms")
      o.cancel_after_ms = args.number(flag, v);
    else if (flag == "--delay-ms")
      o.delay_ms = args.number(flag, v);
    else if (flag == "--reply-size")
      o.reply_size = args.number(flag, v);
    else if (flag == "--fail-code")
      o.fail_code = args.number(flag, v);
    else if (flag == "--fail-message")
      o.fail_message = v;
    else if (flag == "--path")
      o.path = v;
    else if (flag == "--tls-ca")
      o.tls_ca = v;
    else if (flag == "--tls-cert")
      o.tls_cert = v;
    else if (flag == "--tls-key")
      o.tls_key = v;
    else if (flag == "--server-name")
      o.server_name = v;
    else
      args.fail("unknown flag " + flag);
  }
  if (o.target.empty())
    args.fail("--target is required");
  if (o.method != "unary" && o.method != "server_stream" && o.method != "client_stream" &&
      o.method != "health" && o.method != "bidi" && o.method != "raw")
    args.fail("--method must be unary, server_stream, client_stream, bidi, health or raw");
  if ((o.method == "raw") != !o.path.empty())
    args.fail("--path goes with --method raw, and --method raw needs it");
  if (o.tls_cert.empty() != o.tls_key.empty())
    args.fail("--tls-cert and --tls-key go together");
  if (!o.server_name.empty() && !o.tls())
    args.fail("--server-name needs TLS (--tls-ca or --tls-cert)");
  if (o.fail_code > 16)
    args.fail("--fail-code must be 0..16");
  return o;
}

/// What the call produced, for the JSON line.
struct outcome {
  grpc::Status status;
  long replies = 0;
  long bytes = 0;
  std::string server;
  std::optional<std::string> raw;  ///< --method raw: the reply's bytes

  void add(const EchoReply& r) {
    ++replies;
    bytes += static_cast<long>(r.payload().size());
    server = r.server();
  }
};

std::string json_string(const std::string& s) {
  std::string out = "\"";
  for (unsigned char c : s) {
    if (c == '"' || c == '\\') {
      out += '\\';
      out += static_cast<char>(c);
    } else if (c < 0x20) {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\u%04x", c);
      out += buf;
    } else {
      out += static_cast<char>(c);
    }
  }
  return out + "\"";
}

std::string base64(const std::string& in) {
  static constexpr char table[] =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  std::string out;
  std::size_t i = 0;
  for (; i + 2 < in.size(); i += 3) {
    std::uint32_t v =
        (std::uint8_t(in[i]) << 16) | (std::uint8_t(in[i + 1]) << 8) | std::uint8_t(in[i + 2]);
    for (int shift : {18, 12, 6, 0})
      out += table[(v >> shift) & 63];
  }
  if (std::size_t rest = in.size() - i; rest > 0) {
    std::uint32_t v = std::uint8_t(in[i]) << 16;
    if (rest == 2)
      v |= std::uint8_t(in[i + 1]) << 8;
    out += table[(v >> 18) & 63];
    out += table[(v >> 12) & 63];
    out += rest == 2 ? table[(v >> 6) & 63] : '=';
    out += '=';
  }
  return out;
}

/// The channel to --target: TLS from the --tls-* files, else h2c.
std::shared_ptr<grpc::Channel> make_channel(const options& o) {
  if (!o.tls())
    return grpc::CreateChannel(o.target, grpc::InsecureChannelCredentials());
  grpc::SslCredentialsOptions ssl;
  if (!o.tls_ca.empty())
    ssl.pem_root_certs = args.read_file(o.tls_ca);
  if (!o.tls_cert.empty()) {
    ssl.pem_cert_chain = args.read_file(o.tls_cert);
    ssl.pem_private_key = args.read_file(o.tls_key);
  }
  grpc::ChannelArguments channel_args;
  if (!o.server_name.empty())
    channel_args.SetSslTargetNameOverride(o.server_name);
  return grpc::CreateCustomChannel(o.target, grpc::SslCredentials(ssl), channel_args);
}

/// Decodes standard base64 (padding optional); nullopt on a character outside the alphabet.
std::optional<std::string> unbase64(const std::string& in) {
  std::string out;
  std::uint32_t acc = 0;
  int bits = 0;
  for (char c : in) {
    int v;
    if (c >= 'A' && c <= 'Z')
      v = c - 'A';
    else if (c >= 'a' && c <= 'z')
      v = c - 'a' + 26;
    else if (c >= '0' && c <= '9')
      v = c - '0' + 52;
    else if (c == '+')
      v = 62;
    else if (c == '/')
      v = 63;
    else if (c == '=')
      break;
    else
      return std::nullopt;
    acc = (acc << 6) | static_cast<std::uint32_t>(v);
    bits += 6;
    if (bits >= 8) {
      bits -= 8;
      out += static_cast<char>((acc >> bits) & 0xff);
    }
  }
  return out;
}

std::string json_metadata(const std::multimap<grpc::string_ref, grpc::string_ref>& md) {
  std::string out = "{";
  for (const auto& [key, value] : md) {
    std::string k(key.data(), key.size());
    std::string v(value.data(), value.size());
    if (out.size() > 1)
      out += ',';
    out += json_string(k) + ":" + json_string(k.ends_with("-bin") ? base64(v) : v);
  }
  return out + "}";
}

EchoRequest make_request(const options& o) {
  EchoRequest req;
  req.set_payload(std::string(static_cast<std::size_t>(o.payload_size), 'p'));
  req.set_delay_ms(static_cast<std::uint32_t>(o.delay_ms));
  req.set_fail_code(static_cast<std::int32_t>(o.fail_code));
  req.set_fail_message(o.fail_message);
  req.set_reply_count(static_cast<std::uint32_t>(o.count));
  req.set_reply_size(static_cast<std::uint32_t>(o.reply_size));
  return req;
}

outcome call(achan::test::Echo::Stub& stub, grpc::ClientContext& ctx, const options& o,
             const std::shared_ptr<grpc::Channel>& channel) {
  outcome out;
  EchoRequest req = make_request(o);
  EchoReply reply;
  if (o.method == "raw") {
    // Through the generic stub: the reply is whatever bytes the method returns.
    grpc::GenericStub generic(channel);
    grpc::Slice empty;
    grpc::ByteBuffer request(&empty, 1), response;  // (a default ByteBuffer is no message)
    std::promise<grpc::Status> done;
    generic.UnaryCall(&ctx, o.path, grpc::StubOptions(), &request, &response,
                      [&done](grpc::Status s) { done.set_value(std::move(s)); });
    out.status = done.get_future().get();  // the call's deadline (if any) bounds it
    if (out.status.ok()) {
      std::vector<grpc::Slice> slices;
      std::string bytes;
      if (response.Dump(&slices).ok())
        for (const auto& slice : slices)
          bytes.append(reinterpret_cast<const char*>(slice.begin()), slice.size());
      ++out.replies;
      out.bytes = static_cast<long>(bytes.size());
      out.raw = std::move(bytes);
    }
  } else if (o.method == "health") {
    // grpc.health.v1.Health/Check: lets tests call a service the server may not have.
    auto health = grpc::health::v1::Health::NewStub(channel);
    grpc::health::v1::HealthCheckRequest hreq;
    grpc::health::v1::HealthCheckResponse hresp;
    out.status = health->Check(&ctx, hreq, &hresp);
  } else if (o.method == "unary") {
    out.status = stub.Unary(&ctx, req, &reply);
    if (out.status.ok())
      out.add(reply);
  } else if (o.method == "server_stream") {
    auto reader = stub.ServerStream(&ctx, req);
    while (reader->Read(&reply))
      out.add(reply);
    out.status = reader->Finish();
  } else if (o.method == "client_stream") {
    auto writer = stub.ClientStream(&ctx, &reply);
    for (long i = 0; i < o.count; ++i)
      if (!writer->Write(req))
        break;  // the server already ended the call; Finish says why
    writer->WritesDone();
    out.status = writer->Finish();
    if (out.status.ok())
      out.add(reply);
  } else {
    auto stream = stub.Bidi(&ctx);
    for (long i = 0; i < o.count; ++i) {
      if (!stream->Write(req) || !stream->Read(&reply))
        break;
      out.add(reply);
    }
    stream->WritesDone();
    while (stream->Read(&reply))
      out.add(reply);
    out.status = stream->Finish();
  }
  return out;
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  // Host names (localhost:PORT for TLS name checks) resolve through the system resolver
  // unless the environment says otherwise: Debian's c-ares 1.18.1, grpc's default, leaks
  // 10 bytes per ares_gethostbyname("localhost") (c-ares issue 439), and under
  // LeakSanitizer that turns this peer's exit status into 1. Set before grpc starts.
  setenv("GRPC_DNS_RESOLVER", "native", /*overwrite=*/0);
  std::string line;
  {
    auto channel = make_channel(opt);
    auto stub = achan::test::Echo::NewStub(channel);
    grpc::ClientContext ctx;
    if (opt.deadline_ms > 0)
      ctx.set_deadline(std::chrono::system_clock::now() +
                       std::chrono::milliseconds(opt.deadline_ms));
    ctx.set_wait_for_ready(opt.wait_for_ready);
    for (const auto& [k, v] : opt.metadata) {
      if (!k.ends_with("-bin")) {
        ctx.AddMetadata(k, v);
      } else if (auto bytes = unbase64(v)) {
        ctx.AddMetadata(k, *bytes);
      } else {
        args.fail("--metadata " + k + " wants a base64 value");
      }
    }

    std::thread canceller;
    if (opt.cancel_after_ms > 0)
      canceller = std::thread([&ctx, ms = opt.cancel_after_ms] {
        std::this_thread::sleep_for(std::chrono::milliseconds(ms));  // the peer's own timing
        ctx.TryCancel();
      });
    outcome out = call(*stub, ctx, opt, channel);
    if (canceller.joinable())
      canceller.join();
    line = "{\"code\":" + std::to_string(static_cast<int>(out.status.error_code())) +
           ",\"message\":" + json_string(out.status.error_message()) +
           ",\"replies\":" + std::to_string(out.replies) +
           ",\"bytes\":" + std::to_string(out.bytes) + ",\"server\":" + json_string(out.server);
    if (out.raw)
      line += ",\"payload\":" + json_string(*out.raw);
    if (!opt.metadata.empty()) {
      line += ",\"initial\":" + json_metadata(ctx.GetServerInitialMetadata());
      line += ",\"trailing\":" + json_metadata(ctx.GetServerTrailingMetadata());
    }
    line += "}";
  }
  std::printf("%s\n", line.c_str());
  std::fflush(stdout);
  return 0;
}
