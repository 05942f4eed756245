#pragma once
// Shared by the achan server e2e tests: an echo server on a free loopback port, a client
// actor system, and one run of the grpc++ client peer.
#include <doctest/doctest.h>

#include <csignal>
#include <future>
#include <mutex>
#include <thread>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include "testkit/echo_service.hpp"
#include "tests/support/echo_messages.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_h2_client.hpp"

namespace achan::test::server_e2e {

using namespace std::chrono_literals;

inline const std::string unary = "/achan.test.Echo/Unary";

/// An achan server with the echo service on a free loopback port.
struct echo_server {
  transport::h2_server server;
  std::shared_ptr<void> service = testkit::add_echo_service(server, "achan-srv");
  std::string address;

  echo_server() {
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    address = "127.0.0.1:" + std::to_string((*l));
  }
};

struct client {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  channel dial(const std::string& address) {
    dial_options o;
    o.block_until_ready = 10s;
    auto ch = achan::dial(sys, "ipv4:" + address, o);
    REQUIRE(ch);
    return *ch;
  }
};

/// Runs the grpc++ client peer once and returns its JSON line.
inline std::string grpcpp_call(const std::string& address, std::vector<std::string> args) {
  args.insert(args.begin(), {"--target", address});
  test::child_process p{test::test_binary("grpcpp_echo_client"), args};
  auto line = p.wait_for_line("{", 20s);
  REQUIRE_MESSAGE(line, "grpcpp_echo_client printed nothing");
  CHECK(p.wait_exit(20s).value_or(-1) == 0);
  return *line;
}

}  // namespace achan::test::server_e2e
