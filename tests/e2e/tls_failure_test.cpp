// TLS failures, each with the status a caller sees: untrusted CA, expired certificate,
// name mismatch, a client certificate missing where one is required, a server without
// ALPN h2 (openssl s_server), plaintext against TLS both ways, and handshakes that stall.
// None may hang: every wait is bounded.
#include "tests/e2e/tls_support.hpp"

#include <asio/connect.hpp>
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/read.hpp>

#include <condition_variable>
#include <mutex>
#include <thread>

#include "tests/e2e/hostile_support.hpp"
#include "tests/support/process.hpp"
#include "tests/support/raw_server.hpp"

using namespace achan;
using namespace achan::test;

namespace {

/// The status of a fail-fast call through a TLS channel to `address` trusting `t`.
status call_status(const std::string& address, std::optional<client_tls> t,
                   std::chrono::milliseconds connect_timeout = 5s) {
  tls_client c;
  auto ch = c.dial("ipv4:" + address, std::move(t), connect_timeout);
  auto r = c.echo(ch);
  ch.close();
  return r.status;
}

bool has(const status& st, const std::string& text) {
  return st.message.find(text) != std::string::npos;
}

}  // namespace

TEST_CASE("tls failure: a server certificate from an unknown CA") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  cert_authority stranger{"stranger CA"};
  client_tls t;
  t.ca = pem_source::from_text(stranger.cert_pem());
  auto st = call_status(s.address, t);
  CHECK(st.code == status_code::unavailable);
  CHECK_MESSAGE(has(st, "TLS handshake with " + s.address +
                            " failed: certificate verification "
                            "failed (unknown CA)"),
                st.message);
}

TEST_CASE("tls failure: an expired server certificate") {
  tls_pki pki;
  auto old = pki.ca.issue(
      {.cn = "old", .ips = {"127.0.0.1"}, .valid_from_days = -30, .valid_to_days = -1});
  server_tls st_opts;
  st_opts.cert_chain = pem_source::from_text(old.cert_pem);
  st_opts.key = pem_source::from_text(old.key_pem);
  tls_echo_server s{st_opts};
  auto st = call_status(s.address, pki.client_side());
  CHECK(st.code == status_code::unavailable);
  CHECK_MESSAGE(has(st, "certificate verification failed (expired): certificate has expired"),
                st.message);
}

TEST_CASE("tls failure: the certificate is for another name") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  auto t = pki.client_side();
  t.server_name = "db.example";
  auto st = call_status(s.address, t);
  CHECK_MESSAGE(has(st, "certificate verification failed (name mismatch)"), st.message);
  CHECK_MESSAGE(has(st, "not for 'db.example'"), st.message);

  auto no_ip = pki.ca.issue({.cn = "named only", .dns = {"localhost"}});
  server_tls named;
  named.cert_chain = pem_source::from_text(no_ip.cert_pem);
  named.key = pem_source::from_text(no_ip.key_pem);
  tls_echo_server s2{named};
  auto by_ip = call_status(s2.address, pki.client_side());
  CHECK_MESSAGE(has(by_ip, "(name mismatch)"), by_ip.message);
  CHECK_MESSAGE(has(by_ip, "not for '127.0.0.1'"), by_ip.message);
}

TEST_CASE("tls failure: no client certificate where the server requires one") {
  tls_pki pki;
  tls_echo_server s{pki.server_side(client_auth::require)};
  auto st = call_status(s.address, pki.client_side(false));
  CHECK(st.code == status_code::unavailable);
  CHECK_MESSAGE(has(st, "certificate required"), st.message);

  cert_authority stranger{"stranger CA"};
  auto foreign = stranger.issue({.cn = "mallory"});
  auto t = pki.client_side();
  t.cert_chain = pem_source::from_text(foreign.cert_pem);
  t.key = pem_source::from_text(foreign.key_pem);
  auto bad = call_status(s.address, t);
  CHECK(bad.code == status_code::unavailable);
  CHECK_MESSAGE((has(bad, "unknown ca") || has(bad, "bad certificate")), bad.message);
}

TEST_CASE("tls failure: a TLS server that does not negotiate ALPN h2 (openssl s_server)") {
  tls_pki pki;
  auto cert = pki.dir.write("server.pem", pki.server.cert_pem);
  auto key = pki.dir.write("server.key", pki.server.key_pem);
  std::uint16_t port = 0;
  {
    asio::io_context io;
    asio::ip::tcp::acceptor probe{io, {asio::ip::make_address("127.0.0.1"), 0}};
    port = probe.local_endpoint().port();
  }
  child_process server{"/usr/bin/openssl",
                       {"s_server", "-accept", "127.0.0.1:" + std::to_string(port), "-cert", cert,
                        "-key", key, "-naccept", "1", "-www"}};  // (-www: it reads no stdin)
  REQUIRE_MESSAGE(server.wait_for_line("ACCEPT", 10s), "openssl s_server did not start");
  auto st = call_status("127.0.0.1:" + std::to_string(port), pki.client_side());
  CHECK(st.code == status_code::unavailable);
  CHECK_MESSAGE(has(st, "the server did not negotiate ALPN h2 (it selected no protocol)"),
                st.message);
}

TEST_CASE("tls failure: a TLS channel to a plaintext server and the other way round") {
  tls_pki pki;
  tls_echo_server plain{std::nullopt};
  auto st = call_status(plain.address, pki.client_side());
  CHECK(st.code == status_code::unavailable);
  CHECK_MESSAGE(has(st, "the peer does not speak TLS"), st.message);

  tls_echo_server secure{pki.server_side()};
  auto st2 = call_status(secure.address, std::nullopt);
  CHECK(st2.code == status_code::unavailable);
  // (OpenSSL closes without an alert: the client can only say what that usually means)
  CHECK_MESSAGE(has(st2,
                    "closed by the peer before the HTTP/2 handshake (a TLS server does "
                    "this to a plaintext client"),
                st2.message);
}

TEST_CASE("tls failure: a server that stalls mid-handshake is cut off by the connect timeout") {
  tls_pki pki;
  raw_server stall{[](raw_peer& p) { p.read_for(3s); }};  // takes the ClientHello, says nothing
  auto st = call_status(stall.address(), pki.client_side(), 300ms);
  CHECK(st.code == status_code::unavailable);
  CHECK_MESSAGE(has(st, "timed out"), st.message);
}

TEST_CASE("tls failure: a client that stalls mid-handshake is closed by the server") {
  tls_pki pki;
  tls_echo_server s{pki.server_side(), 200ms};
  asio::io_context io;
  asio::ip::tcp::socket sock{io};
  auto colon = s.address.find(':');
  sock.connect({asio::ip::make_address(s.address.substr(0, colon)),
                static_cast<std::uint16_t>(std::stoi(s.address.substr(colon + 1)))});
  sock.write_some(asio::buffer(std::string("\x16\x03\x01\x00\x10", 5)));  // a record begun
  auto start = std::chrono::steady_clock::now();
  char buf[256];
  std::error_code ec;
  while (!ec && std::chrono::steady_clock::now() - start < 10s)
    sock.read_some(asio::buffer(buf), ec);  // until the server closes
  CHECK(ec == asio::error::eof);
  CHECK(std::chrono::steady_clock::now() - start < 5s);
  CHECK(connections_down_to(s.server, 0));  // (its bookkeeping follows the close)
}

TEST_CASE("tls failure: the observer sees the cause and backoff retries the handshake") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  cert_authority stranger{"stranger CA"};
  std::mutex mx;
  std::condition_variable changed;
  std::vector<std::string> reasons;  // of subchannel transitions to TRANSIENT_FAILURE
  tls_client c;
  dial_options o;
  o.tls = client_tls{};
  o.tls->ca = pem_source::from_text(stranger.cert_pem());
  o.backoff.initial = 50ms;
  o.backoff.max = 50ms;
  o.observer = [&](const channel_event& e) {
    if (e.what == channel_event::kind::subchannel_state &&
        e.to == connectivity_state::transient_failure) {
      std::lock_guard lk{mx};
      reasons.push_back(e.reason);
      changed.notify_all();
    }
  };
  auto ch = achan::dial(c.sys, "ipv4:" + s.address, o);
  REQUIRE(ch);
  ch->connect();
  std::unique_lock lk{mx};
  changed.wait_for(lk, 5s, [&] { return reasons.size() >= 3; });
  REQUIRE(reasons.size() >= 3);  // each retry is a new handshake that fails the same way
  for (const auto& r : reasons)
    CHECK_MESSAGE(r.find("certificate verification failed (unknown CA)") != std::string::npos, r);
  ch->close();
}
