// external_fault_test: a failure test as a user writes one against an installed achan —
// the fault proxy (achan::fault_proxy) embedded in the test, between a client and a server.
//
//   external_fault_test HOST:PORT
//
// Puts a fault_proxy in front of HOST:PORT (an `achan serve`), dials through it, adds
// 100 ms of downstream latency and checks that a call now takes at least that long; then
// disables the proxy and checks that a fail-fast call fails with UNAVAILABLE. Prints
// "fault test OK" and exits 0, or says what failed and exits 1.
#include <achan/achan.hpp>
#include <achan/fault_proxy.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  using namespace std::chrono_literals;
  if (argc != 2) {
    std::fprintf(stderr, "usage: external_fault_test HOST:PORT\n");
    return 2;
  }
  achan::fault::fault_proxy proxy{argv[1]};
  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  achan::dial_options opts;
  opts.block_until_ready = 10s;
  auto ch = achan::dial(sys, "ipv4:" + proxy.address(), opts);
  if (!ch) {
    std::fprintf(stderr, "external_fault_test: %s\n",
                 achan::to_string_with_message(ch.error()).c_str());
    return 1;
  }
  achan::call_options call;
  call.timeout = 5s;
  const std::string method = "/achan.test.Echo/Unary";
  proxy.add(achan::fault::latency(100));
  auto t0 = std::chrono::steady_clock::now();
  auto r = ch->call(method, std::string{}, call).get();
  auto took = std::chrono::steady_clock::now() - t0;
  if (!r.status.ok() || took < 100ms) {
    std::fprintf(stderr, "external_fault_test: latency call: %s after %lld ms\n",
                 r.status.to_string().c_str(),
                 static_cast<long long>(
                     std::chrono::duration_cast<std::chrono::milliseconds>(took).count()));
    return 1;
  }
  proxy.set_enabled(false);  // the connection drops and reconnecting is refused
  call.timeout = 2s;
  auto down = ch->call(method, std::string{}, call).get();
  if (down.status.code != achan::status_code::unavailable) {
    std::fprintf(stderr, "external_fault_test: with the proxy down: %s\n",
                 down.status.to_string().c_str());
    return 1;
  }
  ch->close();
  std::printf("fault test OK\n");
  return 0;
}
