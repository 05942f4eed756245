// external_client: one unary call through an installed achan, from outside its tree.
//
//   external_client HOST:PORT [METHOD]
//
// Dials ipv4:HOST:PORT, waits until READY (at most 10 s), calls METHOD (default
// /achan.test.Echo/Unary, which `achan serve` serves) with an empty request and prints
// "status OK peer ..." or the status. Exit 0 only if the call succeeded; 2 on bad usage.
#include <achan/achan.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <cstdio>
#include <string>

int main(int argc, char** argv) {
  if (argc < 2 || argc > 3) {
    std::fprintf(stderr, "usage: external_client HOST:PORT [METHOD]\n");
    return 2;
  }
  std::string method = argc == 3 ? argv[2] : "/achan.test.Echo/Unary";
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
  auto r = ch->call(method, std::string{}, {.timeout = std::chrono::seconds(5)}).get();
  std::printf("status %s peer %s\n", r.status.to_string().c_str(), r.peer.c_str());
  ch->close();
  return r.status.ok() ? 0 : 1;
}
