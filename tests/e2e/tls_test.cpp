// TLS between achan's channel and achan's server on loopback: server authentication by
// DNS name and by IP address, mutual TLS and the identity a handler sees, streaming,
// certificates from files and from memory, reloading, and bad settings.
#include "tests/e2e/tls_support.hpp"

#include <achan/h2_transport.hpp>

using namespace achan;
using namespace achan::test;

TEST_CASE("tls: unary and streaming calls over TLS with the server checked by its DNS name") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  auto ch =
      c.dial("dns:///localhost:" + s.address.substr(s.address.find(':') + 1), pki.client_side());
  auto r = c.echo(ch, "over tls");
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(echo_reply(r).payload() == "over tls");
  auto who = c.who(ch);
  REQUIRE(who.status.ok());
  CHECK(who.payload.rfind("unverified|||||TLSv1.3", 0) == 0);  // no client certificate

  std::vector<std::string> got;
  std::promise<status> end;
  achan::test::EchoRequest req;
  req.set_payload("s");
  req.set_reply_count(5);
  ch.server_stream(
      "/achan.test.Echo/ServerStream", req.SerializeAsString(), {.timeout = 10s},
      [&](std::string&& m) { got.push_back(std::move(m)); },
      [&](call_result&& r) { end.set_value(r.status); });
  auto st = end.get_future();
  REQUIRE(st.wait_for(10s) == std::future_status::ready);
  CHECK(st.get().ok());
  CHECK(got.size() == 5);
  ch.close();
}

TEST_CASE("tls: an ipv4 target is checked against the certificate's IP addresses") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  auto ch = c.dial("ipv4:" + s.address, pki.client_side());
  auto r = c.echo(ch);
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(r.peer == s.address);
  ch.close();
}

TEST_CASE("tls: mutual TLS and the handler sees the client's verified identity") {
  tls_pki pki;
  tls_echo_server s{pki.server_side(client_auth::require)};
  tls_client c;
  auto ch = c.dial("ipv4:" + s.address, pki.client_side(true));
  auto who = c.who(ch);
  REQUIRE_MESSAGE(who.status.ok(), who.status.to_string());
  CHECK(who.payload ==
        "verified|CN=alice,O=achan tests|alice.example|127.0.0.2|spiffe://example.org/alice|"
        "TLSv1.3");
  ch.close();
}

TEST_CASE("tls: client_auth::request lets a client without a certificate in") {
  tls_pki pki;
  tls_echo_server s{pki.server_side(client_auth::request)};
  tls_client c;
  auto anonymous = c.dial("ipv4:" + s.address, pki.client_side(false));
  auto a = c.who(anonymous);
  REQUIRE_MESSAGE(a.status.ok(), a.status.to_string());
  CHECK(a.payload.rfind("unverified||", 0) == 0);
  auto known = c.dial("ipv4:" + s.address, pki.client_side(true));
  auto k = c.who(known);
  REQUIRE_MESSAGE(k.status.ok(), k.status.to_string());
  CHECK(k.payload.rfind("verified|CN=alice", 0) == 0);
  anonymous.close();
  known.close();
}

TEST_CASE("tls: the server name override is what the certificate must match") {
  tls_pki pki;
  auto other = pki.ca.issue({.cn = "other", .dns = {"backend.internal"}});
  server_tls st;
  st.cert_chain = pem_source::from_text(other.cert_pem);
  st.key = pem_source::from_text(other.key_pem);
  tls_echo_server s{st};
  tls_client c;
  auto t = pki.client_side();
  t.server_name = "backend.internal";
  auto ch = c.dial("ipv4:" + s.address, t);
  auto r = c.echo(ch);
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  ch.close();
}

TEST_CASE("tls: skip_verification accepts a certificate nobody trusts") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  client_tls t;  // system roots, which do not know the test CA
  t.skip_verification = true;
  auto ch = c.dial("ipv4:" + s.address, t);
  auto r = c.echo(ch);
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  ch.close();
}

TEST_CASE("tls: reload_tls serves new connections with the new certificate") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  cert_authority ca2{"second CA"};
  auto renewed = ca2.issue({.cn = "server2", .ips = {"127.0.0.1"}});
  tls_client c;
  client_tls trust2;
  trust2.ca = pem_source::from_text(ca2.cert_pem());
  auto before = c.dial("ipv4:" + s.address, trust2);
  CHECK(c.echo(before).status.code == status_code::unavailable);  // old certificate still
  before.close();

  server_tls next;
  next.cert_chain = pem_source::from_text(renewed.cert_pem);
  next.key = pem_source::from_text(renewed.key_pem);
  auto ok = s.server.reload_tls(next);
  REQUIRE_MESSAGE(ok.ok(), ok.to_string());
  auto after = c.dial("ipv4:" + s.address, trust2);
  auto r = c.echo(after);
  CHECK_MESSAGE(r.status.ok(), r.status.to_string());
  after.close();

  server_tls broken = next;
  broken.key = pem_source::from_text(pki.client.key_pem);  // not the certificate's key
  auto bad = s.server.reload_tls(broken);
  CHECK(bad.code == status_code::invalid_argument);
  CHECK_MESSAGE(bad.message.find("does not match the certificate") != std::string::npos,
                bad.message);
  auto still = c.dial("ipv4:" + s.address, trust2);  // the good settings stay
  CHECK(c.echo(still).status.ok());
  still.close();

  transport::h2_server plain;
  CHECK(plain.reload_tls(next).code == status_code::failed_precondition);
}

TEST_CASE("tls: unusable settings are errors that name the file and the reason") {
  tls_pki pki;
  tls_client c;
  client_tls missing;
  missing.ca = pem_source::from_file(pki.dir.path().string() + "/nope.pem");
  auto ch = achan::dial(c.sys, "ipv4:127.0.0.1:1", dial_options{.tls = missing});
  REQUIRE_FALSE(ch);
  CHECK(c.sys.render(ch.error()).find("cannot read the CA bundle '") != std::string::npos);

  client_tls garbage;
  garbage.ca = pem_source::from_file(pki.dir.write("garbage.pem", "not a certificate\n"));
  CHECK(transport::validate(transport::h2_options{.tls = garbage})
            .message.find("cannot load the CA bundle") != std::string::npos);

  client_tls half;
  half.cert_chain = pem_source::from_text(pki.client.cert_pem);
  CHECK(transport::validate(transport::h2_options{.tls = half}).code ==
        status_code::invalid_argument);

  client_tls wrong_key = pki.client_side(true);
  wrong_key.key = pem_source::from_text(pki.server.key_pem);
  CHECK(transport::validate(transport::h2_options{.tls = wrong_key})
            .message.find("does not match the certificate") != std::string::npos);

  dial_options both;
  both.tls = pki.client_side();
  both.transport = transport::make_h2_transport();
  auto refused = achan::dial(c.sys, "ipv4:127.0.0.1:1", both);
  REQUIRE_FALSE(refused);
  CHECK(c.sys.render(refused.error()).find("set h2_options::tls") != std::string::npos);

  server_tls no_key;
  no_key.cert_chain = pem_source::from_text(pki.server.cert_pem);
  transport::h2_server srv{tls_echo_server::options(no_key, 10s)};
  auto l = srv.listen("127.0.0.1", 0);
  REQUIRE_FALSE(l.ok());
  CHECK(l.error().message.find("needs a certificate chain and its private key") !=
        std::string::npos);
  server_tls no_ca = pki.server_side();
  no_ca.auth = client_auth::require;
  transport::h2_server srv2{tls_echo_server::options(no_ca, 10s)};
  CHECK(srv2.listen("127.0.0.1", 0).error().message.find("client CA bundle") != std::string::npos);
}
