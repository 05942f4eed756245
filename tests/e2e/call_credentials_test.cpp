// Call credentials over TLS: a bearer token per channel and per call, asynchronous
// providers, provider failures and the status they give, deadlines while waiting for a
// provider, and the refusal on plaintext channels.
#include "tests/e2e/tls_support.hpp"

#include <thread>

#include <achan/call_credentials.hpp>
#include <achan/protocol.hpp>

#include <caf/scoped_actor.hpp>

using namespace achan;
using namespace achan::test;

namespace {

/// A TLS channel to `s` with `creds` on the channel.
channel dial_with(tls_client& c, const tls_echo_server& s, const tls_pki& pki,
                  call_credentials_ptr creds) {
  dial_options o;
  o.tls = pki.client_side();
  o.call_credentials = std::move(creds);
  auto ch = achan::dial(c.sys, "ipv4:" + s.address, o);
  REQUIRE_MESSAGE(ch, c.sys.render(ch.error()));
  return *ch;
}

call_result auth_call(channel& ch, call_options o = {}) {
  if (!o.timeout)
    o.timeout = std::chrono::seconds(10);
  o.wait_for_ready = true;
  return ch.call(auth_method, std::string{}, std::move(o)).get();
}

}  // namespace

TEST_CASE("call credentials: a channel's bearer token is on every call and a call's after it") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  auto ch = dial_with(c, s, pki, bearer_token_credentials("chan-token"));
  auto r = auth_call(ch);
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(r.payload == "Bearer chan-token");
  auto both = auth_call(ch, {.credentials = bearer_token_credentials("call-token")});
  REQUIRE_MESSAGE(both.status.ok(), both.status.to_string());
  CHECK(both.payload == "Bearer chan-token;Bearer call-token");

  // Streaming calls and the actor form carry them too.
  // (a server-streaming call of a unary method looks the same on the wire)
  std::promise<call_result> streamed;
  std::string message;
  ch.server_stream(
      auth_method, {}, {.timeout = std::chrono::seconds(10)},
      [&](std::string&& m) { message = std::move(m); },
      [&](call_result&& x) { streamed.set_value(std::move(x)); });
  auto st = streamed.get_future();
  REQUIRE(st.wait_for(std::chrono::seconds(10)) == std::future_status::ready);
  CHECK(st.get().status.ok());
  CHECK(message == "Bearer chan-token");
  caf::scoped_actor self{c.sys};
  call_result via_actor;
  self->request(ch.actor(), std::chrono::seconds(10),
                call_request{auth_method, {}, {.timeout = std::chrono::seconds(10)}})
      .receive([&](call_result& x) { via_actor = std::move(x); },
               [&](caf::error& e) { FAIL(c.sys.render(e)); });
  CHECK(via_actor.payload == "Bearer chan-token");
  ch.close();
}

TEST_CASE("call credentials: an asynchronous provider answers from another thread") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  std::atomic<int> asked{0};
  auto creds = make_call_credentials(
      [&asked](const credentials_request& req, call_credentials::callback done) {
        ++asked;
        std::thread([req, done = std::move(done)] {  // answers from a thread of its own
          done(metadata{{"authorization", "Signed " + req.method}});
        })
            .detach();
      });
  auto ch = dial_with(c, s, pki, creds);
  for (int i = 0; i < 3; ++i) {
    auto r = auth_call(ch);
    REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
    CHECK(r.payload == "Signed " + auth_method);
  }
  CHECK(asked == 3);
  ch.close();
}

TEST_CASE("call credentials: a provider's error ends the call with its status") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  auto failing = make_call_credentials([](const credentials_request&, auto done) {
    done(status{status_code::unavailable, "token service down"});
  });
  auto ch = dial_with(c, s, pki, failing);
  auto r = auth_call(ch);
  CHECK(r.status.code == status_code::unavailable);
  CHECK(r.status.message == "call credentials failed: token service down");

  auto illegal = make_call_credentials([](const credentials_request&, auto done) {
    done(status{status_code::not_found, "no such key"});
  });
  auto ch2 = dial_with(c, s, pki, illegal);
  auto r2 = auth_call(ch2);
  CHECK(r2.status.code == status_code::internal);  // gRFC A54
  CHECK(r2.status.message.find("illegal code NOT_FOUND") != std::string::npos);

  auto throwing = make_call_credentials(
      [](const credentials_request&, auto) { throw std::runtime_error("boom"); });
  auto ch3 = dial_with(c, s, pki, throwing);
  auto r3 = auth_call(ch3);
  CHECK(r3.status.code == status_code::unavailable);
  CHECK(r3.status.message == "call credentials threw: boom");

  auto bad_md = make_call_credentials([](const credentials_request&, auto done) {
    done(metadata{{"Authorization", "upper-case key"}});
  });
  auto ch4 = dial_with(c, s, pki, bad_md);
  auto r4 = auth_call(ch4);
  CHECK(r4.status.code == status_code::unavailable);
  CHECK(r4.status.message.find("call credentials returned bad metadata") != std::string::npos);
  for (auto* x : {&ch, &ch2, &ch3, &ch4})
    x->close();
}

TEST_CASE("call credentials: a provider that never answers meets the call's deadline") {
  tls_pki pki;
  tls_echo_server s{pki.server_side()};
  tls_client c;
  std::vector<call_credentials::callback> kept;  // never called until the end
  std::mutex mx;
  auto silent = make_call_credentials([&](const credentials_request&, auto done) {
    std::lock_guard lk{mx};
    kept.push_back(std::move(done));
  });
  auto ch = dial_with(c, s, pki, silent);
  auto r = auth_call(ch, {.timeout = std::chrono::milliseconds(200)});
  CHECK(r.status.code == status_code::deadline_exceeded);
  CHECK(r.status.message == "deadline exceeded while waiting for call credentials");
  std::lock_guard lk{mx};
  for (auto& done : kept)
    done(metadata{});  // too late: dropped, the call has its one status
  ch.close();
}

TEST_CASE("call credentials: refused on a plaintext channel unless allowed") {
  tls_echo_server plain{std::nullopt};
  tls_client c;
  dial_options o;
  o.call_credentials = bearer_token_credentials("secret");
  auto refused = achan::dial(c.sys, "ipv4:" + plain.address, o);
  REQUIRE_FALSE(refused);
  CHECK(c.sys.render(refused.error()).find("call credentials need a TLS channel") !=
        std::string::npos);

  auto ch = c.dial("ipv4:" + plain.address, std::nullopt);
  auto per_call = auth_call(ch, {.credentials = bearer_token_credentials("secret")});
  CHECK(per_call.status.code == status_code::unauthenticated);
  CHECK(per_call.status.message.find("need a TLS channel") != std::string::npos);
  ch.close();

  o.allow_insecure_call_credentials = true;
  auto allowed = achan::dial(c.sys, "ipv4:" + plain.address, o);
  REQUIRE(allowed);
  auto r = auth_call(*allowed);
  REQUIRE_MESSAGE(r.status.ok(), r.status.to_string());
  CHECK(r.payload == "Bearer secret");
  allowed->close();
}
