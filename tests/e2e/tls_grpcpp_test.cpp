// TLS between achan and grpc++ 1.51 (tests/interop's peers, started on free loopback
// ports): achan's channel against grpc++'s TLS server, grpc++'s TLS client against
// achan's server, each with and without a client certificate, and the client identity
// the server on the other side saw. Every wait is bounded.
#include "tests/e2e/tls_support.hpp"

#include <atomic>
#include <future>

#include "tests/support/process.hpp"

using namespace achan;
using namespace achan::test;

namespace {

/// tls_pki with its certificates and keys also in files, for the peers' flags.
struct interop_pki : tls_pki {
  std::string server_cert = dir.write("server.pem", server.cert_pem);
  std::string server_key = dir.write("server.key", server.key_pem);
  std::string client_cert = dir.write("client.pem", client.cert_pem);
  std::string client_key = dir.write("client.key", client.key_pem);
};

/// A grpcpp_echo_server serving TLS with the server certificate (listening on
/// 127.0.0.1); `extra` adds flags (client CA, --require-client-cert).
struct grpcpp_tls_server {
  child_process proc;
  std::string port;

  grpcpp_tls_server(const interop_pki& pki, std::vector<std::string> extra)
      : proc(test_binary("grpcpp_echo_server"), flags(pki, std::move(extra))) {
    auto line = proc.wait_for_line("listening on 127.0.0.1:", 20s);
    REQUIRE_MESSAGE(line, "grpcpp_echo_server did not start");
    port = line->substr(line->rfind(':') + 1);
  }

  static std::vector<std::string> flags(const interop_pki& pki, std::vector<std::string> extra) {
    std::vector<std::string> f{"--port",     "0",           "--name",
                               "grpcpp-tls", "--tls-cert",  pki.server_cert,
                               "--tls-key",  pki.server_key};
    f.insert(f.end(), extra.begin(), extra.end());
    return f;
  }
};

/// Runs grpcpp_echo_client once with `args` (a 10 s deadline added) and returns its
/// JSON line.
std::string grpcpp_call(std::vector<std::string> args) {
  args.insert(args.end(), {"--deadline-ms", "10000"});
  child_process p{test_binary("grpcpp_echo_client"), args};
  auto line = p.wait_for_line("{", 20s);
  REQUIRE_MESSAGE(line, "grpcpp_echo_client printed nothing");
  CHECK(p.wait_exit(20s).value_or(-1) == 0);
  return *line;
}

bool has(const std::string& text, const std::string& part) {
  return text.find(part) != std::string::npos;
}

/// Whether `st` is how achan reports a grpc++ server refusing its client certificate
/// (or its lack of one). grpc++ 1.51 does not send the TLS alert: it closes the TCP
/// connection after the client's side of the TLS 1.3 handshake is done, so achan can
/// only say that the peer closed it (or reset it, if achan's HTTP/2 preface was still
/// unread in the server's socket).
bool refused_by_grpcpp(const status& st, const std::string& address) {
  return st.code == status_code::unavailable &&
         (has(st.message, "connection to " + address + " closed by the peer") ||
          has(st.message, "connection to " + address + " lost: Connection reset by peer"));
}

/// A unary echo asking the grpc++ server for its view of the client; returns the call
/// and the "x-peer-identity" trailer ("" if absent).
std::pair<call_result, std::string> echo_with_identity(channel& ch) {
  auto r = ch.call(echo_unary, echo_request("who am i"),
                   {.timeout = 10s, .md = {{"x-echo-peer-identity", "1"}}})
               .get();
  std::string identity;
  for (const auto& [k, v] : r.trailers)
    if (k == "x-peer-identity")
      identity = v;
  return {std::move(r), identity};
}

/// A server-streaming call asking for `count` replies; its status and the replies seen.
std::pair<status, std::size_t> server_stream(channel& ch, std::uint32_t count) {
  auto replies = std::make_shared<std::atomic<std::size_t>>(0);
  auto end = std::make_shared<std::promise<status>>();
  achan::test::EchoRequest req;
  req.set_payload("s");
  req.set_reply_count(count);
  ch.server_stream(
      "/achan.test.Echo/ServerStream", req.SerializeAsString(), {.timeout = 10s},
      [replies](std::string&&) { ++*replies; },
      [end](call_result&& r) { end->set_value(r.status); });
  auto st = end->get_future();
  REQUIRE(st.wait_for(15s) == std::future_status::ready);
  return {st.get(), replies->load()};
}

/// What tls_support's Who method answers a grpc++ client with alice's certificate, as
/// the client's JSON line ends the "payload" string.
const std::string alice_identity =
    "verified|CN=alice,O=achan tests|alice.example|127.0.0.2|spiffe://example.org/alice|TLSv1.3\"";

}  // namespace

TEST_CASE("tls interop: achan client to a grpc++ TLS server - unary and server streaming") {
  interop_pki pki;
  grpcpp_tls_server s{pki, {}};
  tls_client c;

  auto ch = c.dial("dns:///localhost:" + s.port, pki.client_side());  // checked by DNS SAN
  auto [r, identity] = echo_with_identity(ch);
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(echo_reply(r).payload() == "who am i");
  CHECK(echo_reply(r).server() == "grpcpp-tls");
  // No client certificate: grpc++ sees an unauthenticated TLS peer.
  CHECK_MESSAGE(identity.starts_with("authenticated=false; transport_security_type=ssl"), identity);
  CHECK_MESSAGE(!has(identity, "x509_"), identity);
  auto [st, replies] = server_stream(ch, 5);
  CHECK_MESSAGE(st.ok(), st.to_string());
  CHECK(replies == 5);
  ch.close();

  auto by_ip = c.dial("ipv4:127.0.0.1:" + s.port, pki.client_side());  // checked by IP SAN
  auto ip = c.echo(by_ip);
  CHECK_MESSAGE(ip.status.ok(), ip.status.to_string());
  by_ip.close();
}

TEST_CASE("tls interop: achan client to a grpc++ server that requires a client certificate") {
  interop_pki pki;
  grpcpp_tls_server s{pki, {"--tls-client-ca", pki.ca_file, "--require-client-cert", "1"}};
  tls_client c;

  auto ch = c.dial("ipv4:127.0.0.1:" + s.port, pki.client_side(true));
  auto [r, identity] = echo_with_identity(ch);
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(echo_reply(r).payload() == "who am i");
  CHECK_MESSAGE(identity.starts_with("authenticated=true; transport_security_type=ssl"), identity);
  CHECK_MESSAGE(has(identity, "x509_subject=CN=alice,O=achan tests"), identity);
  CHECK_MESSAGE(has(identity, "x509_common_name=alice"), identity);
  CHECK_MESSAGE(has(identity, "x509_subject_alternative_name=alice.example"), identity);
  CHECK_MESSAGE(has(identity, "x509_subject_alternative_name=127.0.0.2"), identity);
  CHECK_MESSAGE(has(identity, "x509_subject_alternative_name=spiffe://example.org/alice"),
                identity);
  auto [st, replies] = server_stream(ch, 3);
  CHECK_MESSAGE(st.ok(), st.to_string());
  CHECK(replies == 3);
  ch.close();

  auto anonymous = c.dial("ipv4:127.0.0.1:" + s.port, pki.client_side(false));
  auto refused = c.echo(anonymous);
  CHECK_MESSAGE(refused_by_grpcpp(refused.status, "127.0.0.1:" + s.port),
                refused.status.to_string());
  anonymous.close();

  cert_authority stranger{"stranger CA"};
  auto foreign = stranger.issue({.cn = "mallory"});
  auto t = pki.client_side();
  t.cert_chain = pem_source::from_text(foreign.cert_pem);
  t.key = pem_source::from_text(foreign.key_pem);
  auto untrusted = c.dial("ipv4:127.0.0.1:" + s.port, t);
  auto bad = c.echo(untrusted);
  CHECK_MESSAGE(refused_by_grpcpp(bad.status, "127.0.0.1:" + s.port), bad.status.to_string());
  untrusted.close();
}

TEST_CASE("tls interop: a grpc++ server that asks for a client certificate lets one without in") {
  interop_pki pki;
  grpcpp_tls_server s{pki, {"--tls-client-ca", pki.ca_file}};
  tls_client c;
  auto anonymous = c.dial("ipv4:127.0.0.1:" + s.port, pki.client_side(false));
  auto [a, a_identity] = echo_with_identity(anonymous);
  REQUIRE_MESSAGE(a.status.ok(), a.status.to_string());
  CHECK_MESSAGE(a_identity.starts_with("authenticated=false"), a_identity);
  anonymous.close();
  auto known = c.dial("ipv4:127.0.0.1:" + s.port, pki.client_side(true));
  auto [k, k_identity] = echo_with_identity(known);
  REQUIRE_MESSAGE(k.status.ok(), k.status.to_string());
  CHECK_MESSAGE(k_identity.starts_with("authenticated=true"), k_identity);
  CHECK_MESSAGE(has(k_identity, "x509_common_name=alice"), k_identity);
  known.close();
}

TEST_CASE("tls interop: grpc++ client to an achan TLS server - unary and streaming") {
  interop_pki pki;
  tls_echo_server s{pki.server_side()};
  auto port = s.address.substr(s.address.find(':') + 1);
  const std::vector<std::string> tls{"--tls-ca", pki.ca_file};
  auto with = [&](std::vector<std::string> args, const std::vector<std::string>& more) {
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };

  // grpc++ checks the certificate against the target's host name...
  auto unary = grpcpp_call(with({"--target", "localhost:" + port, "--method", "unary"}, tls));
  CHECK_MESSAGE(has(unary, "\"code\":0,"), unary);
  CHECK_MESSAGE(has(unary, "\"server\":\"tls-srv\""), unary);
  auto ss = grpcpp_call(
      with({"--target", "localhost:" + port, "--method", "server_stream", "--count", "5"}, tls));
  CHECK_MESSAGE(has(ss, "\"code\":0,"), ss);
  CHECK_MESSAGE(has(ss, "\"replies\":5"), ss);
  auto bidi =
      grpcpp_call(with({"--target", "localhost:" + port, "--method", "bidi", "--count", "4"}, tls));
  CHECK_MESSAGE(has(bidi, "\"code\":0,"), bidi);
  CHECK_MESSAGE(has(bidi, "\"replies\":4"), bidi);
  // ...its IP address, or the --server-name override.
  auto by_ip = grpcpp_call(with({"--target", s.address, "--method", "unary"}, tls));
  CHECK_MESSAGE(has(by_ip, "\"code\":0,"), by_ip);
  auto named = grpcpp_call(
      with({"--target", s.address, "--method", "unary", "--server-name", "localhost"}, tls));
  CHECK_MESSAGE(has(named, "\"code\":0,"), named);

  // What achan's handler saw: TLS, no client certificate.
  auto who = grpcpp_call(
      with({"--target", "localhost:" + port, "--method", "raw", "--path", who_method}, tls));
  CHECK_MESSAGE(has(who, "\"code\":0,"), who);
  CHECK_MESSAGE(has(who, "\"payload\":\"unverified|||||TLSv1.3\""), who);

  // A grpc++ client that does not trust the server's CA does not get in.
  cert_authority stranger{"stranger CA"};
  auto stranger_ca = pki.dir.write("stranger.pem", stranger.cert_pem());
  auto untrusted =
      grpcpp_call({"--target", "localhost:" + port, "--method", "unary", "--tls-ca", stranger_ca});
  CHECK_MESSAGE(has(untrusted, "\"code\":14,"), untrusted);
  // Nor one that expects another name.
  auto mismatch = grpcpp_call(
      with({"--target", s.address, "--method", "unary", "--server-name", "other.example"}, tls));
  CHECK_MESSAGE(has(mismatch, "\"code\":14,"), mismatch);
  CHECK_MESSAGE(has(mismatch, "Peer name other.example is not in peer certificate"), mismatch);
}

TEST_CASE("tls interop: grpc++ client with a certificate to an achan server that requires one") {
  interop_pki pki;
  tls_echo_server s{pki.server_side(client_auth::require)};
  auto target = "localhost:" + s.address.substr(s.address.find(':') + 1);
  const std::vector<std::string> mtls{"--target",   target,          "--tls-ca",  pki.ca_file,
                                      "--tls-cert", pki.client_cert, "--tls-key", pki.client_key};
  auto with = [&](const std::vector<std::string>& more) {
    auto args = mtls;
    args.insert(args.end(), more.begin(), more.end());
    return args;
  };

  auto unary = with({"--method", "unary"});
  auto ok = grpcpp_call(unary);
  CHECK_MESSAGE(has(ok, "\"code\":0,"), ok);
  auto cs = grpcpp_call(with({"--method", "client_stream", "--count", "3"}));
  CHECK_MESSAGE(has(cs, "\"code\":0,"), cs);
  auto ss = grpcpp_call(with({"--method", "server_stream", "--count", "3"}));
  CHECK_MESSAGE(has(ss, "\"replies\":3"), ss);
  // The identity achan's handler saw (server_call_info::tls).
  auto who = grpcpp_call(with({"--method", "raw", "--path", who_method}));
  CHECK_MESSAGE(has(who, "\"code\":0,"), who);
  CHECK_MESSAGE(has(who, "\"payload\":\"" + alice_identity), who);

  auto anonymous = grpcpp_call({"--target", target, "--method", "unary", "--tls-ca", pki.ca_file});
  CHECK_MESSAGE(has(anonymous, "\"code\":14,"), anonymous);
}

TEST_CASE("tls interop: grpc++ client to achan serve with --require-client-cert") {
  interop_pki pki;
  child_process server{
      test_binary("achan"),
      {"serve", "--port", "0", "--name", "served", "--tls-cert", pki.server_cert, "--tls-key",
       pki.server_key, "--tls-client-ca", pki.ca_file, "--require-client-cert"}};
  auto line = server.wait_for_line("listening on ", 20s);
  REQUIRE_MESSAGE(line, "achan serve did not start");
  auto target = "localhost:" + line->substr(line->rfind(':') + 1);

  auto ok =
      grpcpp_call({"--target", target, "--method", "server_stream", "--count", "2", "--tls-ca",
                   pki.ca_file, "--tls-cert", pki.client_cert, "--tls-key", pki.client_key});
  CHECK_MESSAGE(has(ok, "\"code\":0,"), ok);
  CHECK_MESSAGE(has(ok, "\"server\":\"served\""), ok);
  auto anonymous = grpcpp_call({"--target", target, "--method", "unary", "--tls-ca", pki.ca_file});
  CHECK_MESSAGE(has(anonymous, "\"code\":14,"), anonymous);
  CHECK(server.stop() == 0);
}
