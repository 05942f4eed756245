// external_client: calls through an installed achan, from outside its tree.
//
//   external_client HOST:PORT [METHOD]
//
// Dials ipv4:HOST:PORT and waits until READY (at most 10 s). Without METHOD it makes a
// typed call with the stubs generated from greeter.proto (achan.test.Echo/Unary, which
// `achan serve` serves) and prints "status OK server NAME payload TEXT"; with METHOD, a
// call of that method with an empty request, printing "status ...". Exit 0 only if the
// call succeeded; 2 on bad usage.
#include <achan/achan.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdio>
#include <string>

#include "greeter.achan.pb.h"

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: external_client HOST:PORT [METHOD]\n");
    return 2;
  }
  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};

  achan::dial_options opts;
  opts.block_until_ready = std::chrono::seconds(10);
  auto ch = achan::dial(sys, std::string{"ipv4:"} + argv[1], opts);
  if (!ch) {
    std::fprintf(stderr, "external_client: %s\n",
                 achan::to_string_with_message(ch.error()).c_str());
    return 1;
  }
  achan::call_options call;
  call.timeout = std::chrono::seconds(5);
  bool ok = false;
  if (argc == 2) {
    achan::test::Echo::Client echo{*ch};
    achan::test::EchoRequest req;
    req.set_payload("hello");
    auto r = echo.Unary(req, call).get();
    std::printf("status %s server %s payload %s\n", r.status.to_string().c_str(),
                r.response.server().c_str(), r.response.payload().c_str());
    ok = r.ok();
  } else {
    auto r = ch->call(argv[2], std::string{}, call).get();
    std::printf("status %s peer %s\n", r.status.to_string().c_str(), r.peer.c_str());
    ok = r.status.ok();
  }
  ch->close();
  return ok ? 0 : 1;
}
