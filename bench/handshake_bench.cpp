// handshake_bench: time from dial to READY of fresh channels, one after another, over TLS
// or h2c, with achan's channel or grpc++'s (bench/compare.sh --handshake runs it).
//
//   handshake_bench --target 127.0.0.1:PORT [--client achan|grpcpp] [--count N]
//                   [--tls-ca FILE [--server-name NAME]] [--pause-ms P]
//
// Dials N (default 200) channels one after another; each is timed from just before the
// dial call to READY, then closed, and P ms (default 2) pass before the next so its
// teardown is not measured. One JSON line:
//   {"client":"achan","tls":true,"count":N,"p50_us":F,"p90_us":F,"mean_us":F,"min_us":F}
//
// achan: achan::dial("ipv4:TARGET", block_until_ready 10 s) on one HTTP/2 transport shared
// by all channels (make_h2_transport, one I/O thread, created before the first dial), so
// each dial is one new connection: TCP connect, TLS handshake with --tls-ca (a full one:
// achan keeps no sessions), HTTP/2 preface and SETTINGS; the channel, resolver and
// pick_first setup are included, thread start-up is not. grpc++: CreateCustomChannel
// (GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, so no channel reuses another's connection) and
// WaitForConnected; its READY is the subchannel's. Exit 0 if every dial reached READY,
// 1 otherwise, 2 on usage errors.
#include <grpcpp/grpcpp.h>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <fstream>
#include <iostream>
#include <numeric>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include "testkit/program_args.hpp"

#include <achan/channel.hpp>
#include <achan/h2_transport.hpp>
#include <achan/system_config.hpp>

namespace {

using clock_type = std::chrono::steady_clock;

struct options {
  std::string target;
  std::string client = "achan";
  int count = 200;
  int pause_ms = 2;
  std::string tls_ca;
  std::string server_name;
};

const achan::testkit::program_args args{
    "handshake_bench",
    "handshake_bench --target HOST:PORT [--client achan|grpcpp] [--count N] "
    "[--tls-ca FILE [--server-name NAME]] [--pause-ms P]"};

options parse(int argc, char** argv) {
  options o;
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& v) {
    if (flag == "--target")
      o.target = v;
    else if (flag == "--client")
      o.client = v;
    else if (flag == "--count")
      o.count = static_cast<int>(args.number(flag, v));
    else if (flag == "--pause-ms")
      o.pause_ms = static_cast<int>(args.number(flag, v));
    else if (flag == "--tls-ca")
      o.tls_ca = v;
    else if (flag == "--server-name")
      o.server_name = v;
    else
      return false;
    return true;
  });
  if (o.target.empty())
    args.fail("--target is required");
  if (o.client != "achan" && o.client != "grpcpp")
    args.fail("--client must be achan or grpcpp");
  if (o.count < 1)
    args.fail("--count must be at least 1");
  if (!o.server_name.empty() && o.tls_ca.empty())
    args.fail("--server-name needs --tls-ca");
  return o;
}

double us_since(clock_type::time_point t0) {
  return std::chrono::duration<double, std::micro>(clock_type::now() - t0).count();
}

/// Times `o.count` achan dials; false on the first failure.
bool run_achan(const options& o, std::vector<double>& times) {
  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg, 0);
  caf::actor_system sys{cfg};
  achan::transport::h2_options h2;
  if (!o.tls_ca.empty()) {
    h2.tls = achan::client_tls{};
    h2.tls->ca = achan::pem_source::from_file(o.tls_ca);
    h2.tls->server_name = o.server_name;
  }
  auto transport = achan::transport::make_h2_transport(h2);
  for (int i = 0; i < o.count; ++i) {
    achan::dial_options d;
    d.transport = transport;
    d.block_until_ready = std::chrono::seconds(10);
    auto t0 = clock_type::now();
    auto ch = achan::dial(sys, "ipv4:" + o.target, d);
    double us = us_since(t0);
    if (!ch) {
      std::cerr << "handshake_bench: dial " << i << " to " << o.target << ": "
                << achan::to_string_with_message(ch.error()) << "\n";
      return false;
    }
    times.push_back(us);
    ch->close();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
  }
  return true;
}

/// Times `o.count` grpc++ channels to READY; false on the first failure.
bool run_grpcpp(const options& o, std::vector<double>& times) {
  std::shared_ptr<grpc::ChannelCredentials> creds = grpc::InsecureChannelCredentials();
  if (!o.tls_ca.empty()) {
    grpc::SslCredentialsOptions ssl;
    ssl.pem_root_certs = args.read_file(o.tls_ca);
    creds = grpc::SslCredentials(ssl);
  }
  for (int i = 0; i < o.count; ++i) {
    grpc::ChannelArguments ch_args;
    ch_args.SetInt(GRPC_ARG_USE_LOCAL_SUBCHANNEL_POOL, 1);
    if (!o.server_name.empty())
      ch_args.SetSslTargetNameOverride(o.server_name);
    auto t0 = clock_type::now();
    auto ch = grpc::CreateCustomChannel(o.target, creds, ch_args);
    bool ok = ch->WaitForConnected(std::chrono::system_clock::now() + std::chrono::seconds(10));
    double us = us_since(t0);
    if (!ok) {
      std::cerr << "handshake_bench: grpc++ channel " << i << " to " << o.target
                << " not READY within 10 s\n";
      return false;
    }
    times.push_back(us);
    ch.reset();
    std::this_thread::sleep_for(std::chrono::milliseconds(o.pause_ms));
  }
  return true;
}

}  // namespace

int main(int argc, char** argv) {
  options opt = parse(argc, argv);
  std::vector<double> times;
  times.reserve(static_cast<std::size_t>(opt.count));
  bool ok = opt.client == "achan" ? run_achan(opt, times) : run_grpcpp(opt, times);
  if (times.empty())
    return 1;
  std::vector<double> sorted = times;
  std::sort(sorted.begin(), sorted.end());
  auto pct = [&](double p) {
    auto i = std::min(sorted.size() - 1, static_cast<std::size_t>(p * sorted.size()));
    return sorted[i];
  };
  double mean = std::accumulate(times.begin(), times.end(), 0.0) / times.size();
  std::printf(
      "{\"client\":\"%s\",\"tls\":%s,\"count\":%zu,\"p50_us\":%.1f,\"p90_us\":%.1f,"
      "\"mean_us\":%.1f,\"min_us\":%.1f}\n",
      opt.client.c_str(), opt.tls_ca.empty() ? "false" : "true", times.size(), pct(0.5), pct(0.9),
      mean, sorted.front());
  return ok ? 0 : 1;
}
