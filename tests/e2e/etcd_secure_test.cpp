// The etcd resolver and registration against a real etcd with TLS (server-only and
// mutual) and with user/password auth, including a token lost in a member restart.
#include <doctest/doctest.h>

#include <thread>

#include "tests/e2e/etcd_support.hpp"
#include "tests/support/cert_forge.hpp"
#include "tests/support/etcd_cluster.hpp"
#include "tests/support/temp_dir.hpp"

using namespace achan;
using namespace achan::test::etcd_e2e;
using namespace std::chrono_literals;

namespace {

/// A CA, the members' certificate, a client's, as files and PEM text.
struct pki {
  test::temp_dir dir;
  test::cert_authority ca{"etcd test CA"};
  test::key_pair server = ca.issue({.cn = "etcd", .ips = {"127.0.0.1"}});
  test::key_pair client = ca.issue({.cn = "achan client"});
  test::etcd_cluster_options::tls_files files(bool client_auth) {
    return {dir.write("server.pem", server.cert_pem), dir.write("server.key", server.key_pem),
            dir.write("ca.pem", ca.cert_pem()),       client_auth,
            dir.write("client.pem", client.cert_pem), dir.write("client.key", client.key_pem)};
  }
};

dial_options with_etcd(const etcd_options& eo) {
  dial_options o;
  o.lb_policy = "round_robin";
  o.resolvers.push_back(make_etcd_resolver(eo));
  return o;
}

}  // namespace

TEST_CASE("etcd over TLS: the resolver verifies the members and a wrong CA is an error") {
  pki p;
  test::etcd_cluster etcd(1, {.tls = p.files(false)});
  backend a("a");
  etcd.put("svc/a", a.address);
  etcd_options eo;
  eo.tls = client_tls{.ca = pem_source::from_text(p.ca.cert_pem())};
  watched_channel w("etcd://" + etcd.authority() + "/svc", with_etcd(eo));
  REQUIRE(w.s.wait_list({a.address}));
  CHECK(calls_ok(*w.ch, 5) == 5);

  test::cert_authority other{"another CA"};
  eo.tls = client_tls{.ca = pem_source::from_text(other.cert_pem())};
  watched_channel wrong("etcd://" + etcd.authority() + "/svc", with_etcd(eo));
  REQUIRE(wrong.s.wait_error());
  std::lock_guard lk{wrong.s.mx};
  CHECK(wrong.s.errors[0].find("certificate") != std::string::npos);
  CHECK(wrong.s.history.empty());
}

TEST_CASE("etcd over mutual TLS: resolver and registration present a client certificate") {
  pki p;
  test::etcd_cluster etcd(1, {.tls = p.files(true)});
  backend a("a");
  etcd.put("svc/a", a.address);
  etcd_options eo;
  eo.tls = client_tls{.ca = pem_source::from_text(p.ca.cert_pem()),
                      .cert_chain = pem_source::from_text(p.client.cert_pem),
                      .key = pem_source::from_text(p.client.key_pem)};
  watched_channel w("etcd://" + etcd.authority() + "/svc", with_etcd(eo));
  REQUIRE(w.s.wait_list({a.address}));

  etcd_registration_options ro;
  ro.etcd = eo;
  ro.ttl = 5s;
  auto reg =
      etcd_registration::start(w.sys, "etcd://" + etcd.authority() + "/svc", "127.0.0.1:7", ro);
  REQUIRE(reg);
  REQUIRE(poll_until([&] { return (*reg)->registered(); }, 10s));
  CHECK(w.s.wait_list({a.address, "127.0.0.1:7"}));
  (*reg)->stop();
  CHECK(w.s.wait_list({a.address}));

  // Without a client certificate the members refuse the handshake.
  eo.tls->cert_chain = {};
  eo.tls->key = {};
  watched_channel refused("etcd://" + etcd.authority() + "/svc", with_etcd(eo));
  CHECK(refused.s.wait_error());
}

TEST_CASE("etcd auth: user and password - a wrong password is an error - a lost token is renewed") {
  test::etcd_cluster etcd(1);
  backend a("a"), b("b");
  etcd.put("svc/a", a.address);
  // A root user (etcd requires one to enable auth) and a reader of svc/ only.
  for (std::vector<std::string> args :
       {std::vector<std::string>{"user", "add", "root:rootpw"},
        {"role", "add", "reader"},
        {"role", "grant-permission", "reader", "--prefix=true", "read", "svc/"},
        {"user", "add", "app:apppw"},
        {"user", "grant-role", "app", "reader"},
        {"auth", "enable"}}) {
    auto r = etcd.etcdctl(args);
    REQUIRE_MESSAGE(r.code == 0, r.out, r.err);
  }
  etcd.set_ctl_flags({"--user=root:rootpw"});

  etcd_options eo;
  eo.user = "app";
  eo.password = "apppw";
  eo.retry.max = 500ms;
  watched_channel w("etcd://" + etcd.authority() + "/svc", with_etcd(eo));
  REQUIRE(w.s.wait_list({a.address}));
  etcd.put("svc/b", b.address);
  REQUIRE(w.s.wait_list({a.address, b.address}));

  // etcd's simple tokens live in the member's memory: a restart forgets them, and the
  // resolver must authenticate again to list and watch.
  etcd.stop_member(0);
  REQUIRE(w.s.wait_error(20s));
  etcd.restart_member(0);
  etcd.del("svc/a");
  bool renewed = w.s.wait_list({b.address}, 20s);
  {
    std::lock_guard lk{w.s.mx};
    CHECK_MESSAGE(renewed, "last error: ", w.s.errors.back());
  }

  eo.password = "wrong";
  watched_channel denied("etcd://" + etcd.authority() + "/svc", with_etcd(eo));
  REQUIRE(denied.s.wait_error());
  std::lock_guard lk{denied.s.mx};
  CHECK(denied.s.errors[0].find("authentication failed") != std::string::npos);
}
