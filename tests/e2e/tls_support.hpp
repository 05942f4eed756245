#pragma once
// TLS test fixtures: a CA with server and client certificates made for this run
// (tests/support/cert_forge), an achan TLS server with the echo service and a "Who"
// method answering with the client's TLS identity, and channels dialed with TLS.
#include <doctest/doctest.h>

#include <chrono>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/server.hpp>
#include "testkit/echo_service.hpp"
#include "tests/support/cert_forge.hpp"
#include "tests/support/echo_messages.hpp"
#include "tests/support/temp_dir.hpp"

namespace achan::test {

using namespace std::chrono_literals;

inline const std::string echo_unary = "/achan.test.Echo/Unary";
inline const std::string who_method = "/achan.test.Tls/Who";
/// Answers with every `authorization` value of the request, joined by ';'.
inline const std::string auth_method = "/achan.test.Tls/Auth";

/// One CA, a server certificate for localhost and 127.0.0.1, a client certificate.
struct tls_pki {
  cert_authority ca{"achan test CA"};
  key_pair server = ca.issue({.cn = "server", .dns = {"localhost"}, .ips = {"127.0.0.1"}});
  key_pair client = ca.issue({.cn = "alice",
                              .dns = {"alice.example"},
                              .ips = {"127.0.0.2"},
                              .uris = {"spiffe://example.org/alice"}});
  temp_dir dir;
  std::string ca_file = dir.write("ca.pem", ca.cert_pem());

  server_tls server_side(client_auth auth = client_auth::none) const {
    server_tls t;
    t.cert_chain = pem_source::from_text(server.cert_pem);
    t.key = pem_source::from_text(server.key_pem);
    if (auth != client_auth::none)
      t.client_ca = pem_source::from_file(ca_file);
    t.auth = auth;
    return t;
  }
  client_tls client_side(bool with_cert = false) const {
    client_tls t;
    t.ca = pem_source::from_file(ca_file);
    if (with_cert) {
      t.cert_chain = pem_source::from_text(client.cert_pem);
      t.key = pem_source::from_text(client.key_pem);
    }
    return t;
  }
};

/// "verified|subject|dns,..|ip,..|uri,..|protocol" of the calling client, or "h2c".
inline std::string describe(const transport::server_call_info& info) {
  if (!info.tls)
    return "h2c";
  auto join = [](const std::vector<std::string>& v) {
    std::string out;
    for (const auto& s : v)
      out += (out.empty() ? "" : ",") + s;
    return out;
  };
  const auto& t = *info.tls;
  return std::string{t.verified ? "verified" : "unverified"} + "|" + t.subject + "|" +
         join(t.dns_sans) + "|" + join(t.ip_sans) + "|" + join(t.uri_sans) + "|" + t.protocol;
}

/// An achan server on a free loopback port, TLS if `tls` is set.
struct tls_echo_server {
  transport::h2_server server;
  std::shared_ptr<void> service;
  std::string address;  // "127.0.0.1:port"

  explicit tls_echo_server(std::optional<server_tls> tls,
                           std::chrono::milliseconds handshake_timeout = 10s)
      : server(options(std::move(tls), handshake_timeout)) {
    service = testkit::add_echo_service(server, "tls-srv");
    server.add_unary(who_method, [](transport::server_call_info info, std::string,
                                    transport::responder r) { r.reply(describe(info)); });
    server.add_unary(auth_method,
                     [](transport::server_call_info info, std::string, transport::responder r) {
                       std::string out;
                       for (const auto& [k, v] : info.request_metadata)
                         if (k == "authorization")
                           out += (out.empty() ? "" : ";") + v;
                       r.reply(out);
                     });
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    address = "127.0.0.1:" + std::to_string(*l);
  }

  static transport::server_options options(std::optional<server_tls> tls,
                                           std::chrono::milliseconds handshake_timeout) {
    transport::server_options o;
    o.tls = std::move(tls);
    o.handshake_timeout = handshake_timeout;
    return o;
  }
};

struct tls_client {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};

  /// A channel to `target` with `tls` (h2c if unset); not yet connected.
  channel dial(const std::string& target, std::optional<client_tls> tls,
               std::chrono::milliseconds connect_timeout = 5s) {
    dial_options o;
    o.tls = std::move(tls);
    o.backoff.min_connect_timeout = connect_timeout;
    auto ch = achan::dial(sys, target, o);
    REQUIRE_MESSAGE(ch, sys.render(ch.error()));
    return *ch;
  }

  /// One unary echo call: fails fast (no wait_for_ready), so a connection failure is
  /// its status.
  call_result echo(channel& ch, const std::string& payload = "hi") {
    return ch.call(echo_unary, echo_request(payload), {.timeout = 10s}).get();
  }
  call_result who(channel& ch) {
    return ch.call(who_method, std::string{}, {.timeout = 10s, .wait_for_ready = true}).get();
  }
};

}  // namespace achan::test
