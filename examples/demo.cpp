// achan demo: a round_robin channel over three real gRPC servers on loopback.
//
// Starts three achan servers (the echo test service) on free 127.0.0.1 ports, dials
// them with round_robin over HTTP/2, and shows the channel going IDLE -> CONNECTING ->
// READY, calls spread evenly, one backend stopped (GOAWAY) and the calls moving to the
// other two, then the backend restarted on its port and taken back into the rotation.
// Every call is wait_for_ready; exit code 0 only if none failed and the spread is right.
#include <cstdio>
#include <map>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/system_config.hpp>
#include "proto/echo.pb.h"
#include "testkit/echo_service.hpp"

using namespace std::chrono_literals;

namespace {

/// One backend: an achan server with the echo service.
struct backend {
  std::string name;
  std::unique_ptr<achan::transport::h2_server> server;
  std::shared_ptr<void> service;
  std::uint16_t port = 0;

  bool start(std::uint16_t on_port) {
    server = std::make_unique<achan::transport::h2_server>();
    service = achan::testkit::add_echo_service(*server, name);
    auto l = server->listen("127.0.0.1", on_port);
    if (!l.ok()) {
      std::fprintf(stderr, "%s: %s\n", name.c_str(), l.error().message.c_str());
      return false;
    }
    port = (*l);
    return true;
  }
  void stop() {
    server->shutdown(2s);  // GOAWAY; calls in flight finish
    server.reset();
  }
};

/// Sends `n` calls and counts replies per backend name.
std::map<std::string, int> burst(achan::channel& ch, int n, int& failures) {
  std::map<std::string, int> per_backend;
  achan::test::EchoRequest req;
  for (int i = 0; i < n; ++i) {
    req.set_payload("ping " + std::to_string(i));
    auto r = ch.call("/achan.test.Echo/Unary", req.SerializeAsString(),
                     {.timeout = 5s, .wait_for_ready = true})
                 .get();
    achan::test::EchoReply reply;
    if (r.status.ok() && reply.ParseFromString(r.payload))
      ++per_backend[reply.server()];
    else
      ++failures, std::printf("  call %d failed: %s\n", i, r.status.to_string().c_str());
  }
  return per_backend;
}

void print(const char* title, const std::map<std::string, int>& m) {
  std::printf("%s\n", title);
  for (auto& [name, n] : m)
    std::printf("  %-10s %3d calls\n", name.c_str(), n);
}

bool even(const std::map<std::string, int>& m, std::size_t backends, int each) {
  if (m.size() != backends)
    return false;
  for (auto& [name, n] : m)
    if (n < each - 5 || n > each + 5)  // the first calls may land before all are READY
      return false;
  return true;
}

}  // namespace

int main() {
  std::setvbuf(stdout, nullptr, _IOLBF, 0);
  backend backends[3] = {{"backend-1"}, {"backend-2"}, {"backend-3"}};
  std::string target = "ipv4:";
  for (auto& b : backends) {
    if (!b.start(0))
      return 1;
    target += (target.size() > 5 ? "," : "") + std::string{"127.0.0.1:"} + std::to_string(b.port);
    std::printf("%s listening on 127.0.0.1:%u\n", b.name.c_str(), b.port);
  }

  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  achan::dial_options opts;
  opts.lb_policy = "round_robin";
  opts.backoff.initial = 100ms;  // reconnect quickly when backend-2 comes back
  auto ch = achan::dial(sys, target, opts);
  if (!ch) {
    std::fprintf(stderr, "dial failed: %s\n", achan::to_string_with_message(ch.error()).c_str());
    return 1;
  }
  std::printf("dialed %s\n", target.c_str());
  ch->subscribe([](const achan::state_change& c) {
    if (c.from != c.to)
      std::printf("channel state: %s -> %s\n", to_string(c.from).data(), to_string(c.to).data());
  });

  int failures = 0;
  auto first = burst(*ch, 300, failures);
  print("300 calls, three healthy backends:", first);

  std::printf("stopping backend-2 (GOAWAY, then its port refuses connections)\n");
  backends[1].stop();
  auto second = burst(*ch, 300, failures);
  print("300 calls with backend-2 down:", second);

  std::printf("restarting backend-2 on port %u\n", backends[1].port);
  if (!backends[1].start(backends[1].port))
    return 1;
  std::map<std::string, int> third;
  for (int round = 0; round < 50 && !third.count("backend-2"); ++round)
    third = burst(*ch, 30, failures);  // bounded: reconnects within a few backoff steps
  third = burst(*ch, 300, failures);
  print("300 calls after backend-2 is back:", third);

  bool ok = failures == 0 && even(first, 3, 100) && even(third, 3, 100) && second.size() == 2 &&
            !second.count("backend-2");
  std::printf("%s: %d failed calls\n", ok ? "demo OK" : "demo FAILED", failures);
  ch->close();
  return ok ? 0 : 1;
}
