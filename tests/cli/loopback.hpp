#pragma once
/// Shared pieces of the CLI's real-socket tests: an achan h2_server on a free loopback
/// port and a client actor system that dials it.
#include <doctest/doctest.h>

#include <chrono>
#include <memory>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/server.hpp>
#include <achan/system_config.hpp>

namespace achan::test {

/// Listens on 127.0.0.1:0 and returns "127.0.0.1:PORT" (fails the test otherwise).
inline std::string listen_loopback(transport::h2_server& server) {
  auto l = server.listen("127.0.0.1", 0);
  REQUIRE_MESSAGE(l.ok(), l.error().message);
  return "127.0.0.1:" + std::to_string((*l));
}

/// Call options with just a timeout.
inline call_options within(clock_duration timeout) {
  call_options o;
  o.timeout = timeout;
  return o;
}

/// An actor system to dial from; channels must not outlive it.
struct dialer {
  caf::actor_system_config cfg;
  std::unique_ptr<caf::actor_system> sys;

  dialer() {
    configure_actor_system(cfg);
    sys = std::make_unique<caf::actor_system>(cfg);
  }

  /// A READY channel to `address` ("127.0.0.1:PORT").
  channel dial(const std::string& address) {
    dial_options o;
    o.block_until_ready = std::chrono::seconds(10);
    auto ch = achan::dial(*sys, "ipv4:" + address, o);
    REQUIRE_MESSAGE(ch, (ch ? "" : to_string_with_message(ch.error())));
    return *ch;
  }
};

}  // namespace achan::test
