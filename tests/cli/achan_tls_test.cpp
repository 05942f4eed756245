// `achan call` and `achan serve` with TLS: the grpcurl-style flags, mutual TLS, bad
// files as usage errors (exit 2), plaintext/TLS mismatches, and SIGHUP reloading the
// server's certificate. Certificates are made for each run (tests/support/cert_forge).
#include <doctest/doctest.h>

#include <csignal>

#include <nlohmann/json.hpp>

#include "tests/cli/command_support.hpp"
#include "tests/support/cert_forge.hpp"
#include "tests/support/temp_dir.hpp"

using namespace achan::test;
using json = nlohmann::json;

namespace {

struct pki_files {
  cert_authority ca{"cli test CA"};
  temp_dir dir;
  std::string ca_file = dir.write("ca.pem", ca.cert_pem());
  key_pair server = ca.issue({.cn = "server", .dns = {"localhost"}, .ips = {"127.0.0.1"}});
  std::string server_cert = dir.write("server.pem", server.cert_pem);
  std::string server_key = dir.write("server.key", server.key_pem);
  key_pair client = ca.issue({.cn = "cli-client"});
  std::string client_cert = dir.write("client.pem", client.cert_pem);
  std::string client_key = dir.write("client.key", client.key_pem);

  std::vector<std::string> serve_flags() const {
    return {"--tls-cert", server_cert, "--tls-key", server_key};
  }
};

command_output call(const std::string& address, std::vector<std::string> flags) {
  std::vector<std::string> args{"call",
                                "ipv4:" + address,
                                "/achan.test.Echo/Unary",
                                "--proto",
                                echo_proto(),
                                "-d",
                                R"({"payload":"aGk="})",
                                "--deadline",
                                "10s"};
  args.insert(args.end(), flags.begin(), flags.end());
  return run_achan(args);
}

}  // namespace

TEST_CASE("achan tls: call --cacert against serve --tls-cert/--tls-key") {
  pki_files pki;
  served s{"tls-a", pki.serve_flags()};
  auto r = call(s.address, {"--cacert", pki.ca_file});
  REQUIRE_MESSAGE(r.exit_code == 0, r.err);
  CHECK(json::parse(r.out)["server"] == "tls-a");
  auto named = call(s.address, {"--cacert", pki.ca_file, "--servername", "localhost"});
  CHECK_MESSAGE(named.exit_code == 0, named.err);
  auto insecure = call(s.address, {"--insecure"});
  CHECK_MESSAGE(insecure.exit_code == 0, insecure.err);

  auto untrusted = call(s.address, {"--tls"});  // system roots do not know the test CA
  CHECK(untrusted.exit_code == 1);
  CHECK_MESSAGE(
      untrusted.err.find("certificate verification failed (unknown CA)") != std::string::npos,
      untrusted.err);
  auto plaintext = call(s.address, {});
  CHECK(plaintext.exit_code == 1);
  CHECK_MESSAGE(
      plaintext.err.find("a TLS server does this to a plaintext client") != std::string::npos,
      plaintext.err);
  auto wrong_name = call(s.address, {"--cacert", pki.ca_file, "--servername", "db.example"});
  CHECK(wrong_name.exit_code == 1);
  CHECK(wrong_name.err.find("(name mismatch)") != std::string::npos);
}

TEST_CASE("achan tls: mutual TLS with --cert/--key and --require-client-cert") {
  pki_files pki;
  auto flags = pki.serve_flags();
  flags.insert(flags.end(), {"--tls-client-ca", pki.ca_file, "--require-client-cert"});
  served s{"mtls", flags};
  auto with = call(s.address,
                   {"--cacert", pki.ca_file, "--cert", pki.client_cert, "--key", pki.client_key});
  CHECK_MESSAGE(with.exit_code == 0, with.err);
  auto without = call(s.address, {"--cacert", pki.ca_file});
  CHECK(without.exit_code == 1);
  CHECK_MESSAGE(without.err.find("certificate required") != std::string::npos, without.err);
}

TEST_CASE("achan tls: unusable files and flag combinations are usage errors (exit 2)") {
  pki_files pki;
  auto missing = call("127.0.0.1:1", {"--cacert", pki.dir.path().string() + "/none.pem"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("cannot read the CA bundle") != std::string::npos);
  auto not_pem = call("127.0.0.1:1", {"--cacert", pki.dir.write("x.pem", "hello\n")});
  CHECK(not_pem.exit_code == 2);
  CHECK(not_pem.err.find("cannot load the CA bundle") != std::string::npos);
  auto half = call("127.0.0.1:1", {"--cert", pki.client_cert});
  CHECK(half.exit_code == 2);
  CHECK(half.err.find("--cert and --key go together") != std::string::npos);
  auto mismatched = call("127.0.0.1:1", {"--cert", pki.client_cert, "--key", pki.server_key});
  CHECK(mismatched.exit_code == 2);
  CHECK(mismatched.err.find("does not match the certificate") != std::string::npos);

  auto serve_missing = run_achan({"serve", "--port", "0", "--tls-cert", pki.server_cert,
                                  "--tls-key", pki.dir.path().string() + "/none.key"});
  CHECK(serve_missing.exit_code == 2);
  CHECK(serve_missing.err.find("cannot read the server private key") != std::string::npos);
  auto serve_mismatch = run_achan(
      {"serve", "--port", "0", "--tls-cert", pki.server_cert, "--tls-key", pki.client_key});
  CHECK(serve_mismatch.exit_code == 2);
  CHECK(serve_mismatch.err.find("does not match the certificate") != std::string::npos);
  auto serve_half = run_achan({"serve", "--port", "0", "--tls-cert", pki.server_cert});
  CHECK(serve_half.exit_code == 2);
  auto no_ca = run_achan({"serve", "--port", "0", "--tls-cert", pki.server_cert, "--tls-key",
                          pki.server_key, "--require-client-cert"});
  CHECK(no_ca.exit_code == 2);
}

TEST_CASE("achan tls: SIGHUP makes achan serve reload its certificate files") {
  pki_files pki;
  served s{"reload", pki.serve_flags()};
  REQUIRE(call(s.address, {"--cacert", pki.ca_file}).exit_code == 0);

  cert_authority ca2{"second CA"};
  auto renewed = ca2.issue({.cn = "server2", .ips = {"127.0.0.1"}});
  auto ca2_file = pki.dir.write("ca2.pem", ca2.cert_pem());
  pki.dir.write("server.pem", renewed.cert_pem);
  pki.dir.write("server.key", renewed.key_pem);
  s.proc->signal(SIGHUP);
  REQUIRE(s.proc->wait_for_line("reloaded TLS certificates", std::chrono::seconds(10)));
  auto after = call(s.address, {"--cacert", ca2_file});
  CHECK_MESSAGE(after.exit_code == 0, after.err);
  auto old_ca = call(s.address, {"--cacert", pki.ca_file});
  CHECK(old_ca.exit_code == 1);

  pki.dir.write("server.key", pki.client.key_pem);  // does not match: the reload fails
  s.proc->signal(SIGHUP);
  auto still = call(s.address, {"--cacert", ca2_file});  // the renewed certificate stays
  CHECK_MESSAGE(still.exit_code == 0, still.err);
}

TEST_CASE("achan tls: --token-file sends a bearer token and needs TLS") {
  pki_files pki;
  served s{"token", pki.serve_flags()};
  auto token = pki.dir.write("token", "s3cret\n");
  auto ok = call(s.address, {"--cacert", pki.ca_file, "--token-file", token});
  CHECK_MESSAGE(ok.exit_code == 0, ok.err);
  auto plaintext = call(s.address, {"--token-file", token});
  CHECK(plaintext.exit_code == 2);
  CHECK(plaintext.err.find("--token-file sends a secret: it needs TLS") != std::string::npos);
  auto missing = call(s.address, {"--tls", "--token-file", pki.dir.path().string() + "/none"});
  CHECK(missing.exit_code == 2);
  CHECK(missing.err.find("cannot read a token") != std::string::npos);
  auto empty = call(s.address, {"--tls", "--token-file", pki.dir.write("empty", "\n")});
  CHECK(empty.exit_code == 2);
}
