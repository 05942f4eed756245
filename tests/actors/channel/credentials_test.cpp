// Call credentials in the control plane, in virtual time over the simulated transport:
// providers that answer later, the deadline and cancellation while a provider is asked,
// the order of the channel's and the call's metadata, and the plaintext refusal.
#include <doctest/doctest.h>

#include <achan/call_credentials.hpp>
#include <achan/channel.hpp>
#include <achan/manual_resolver.hpp>
#include "tests/support/actor_fixture.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

/// A provider that keeps its callbacks until the test answers them.
struct held_provider {
  std::vector<call_credentials::callback> pending;
  std::vector<std::string> methods;
  call_credentials_ptr creds() {
    return make_call_credentials([this](const credentials_request& r, auto done) {
      methods.push_back(r.method);
      pending.push_back(std::move(done));
    });
  }
};

struct creds_fixture : test::actor_fixture {
  std::shared_ptr<manual_resolver> resolver = std::make_shared<manual_resolver>(sys);
  std::vector<call_result> results;

  creds_fixture() {
    transport::sim_behavior b;
    b.responder = [](const call& c) {  // answers with the authorization values it got
      std::string out;
      for (const auto& [k, v] : c.request_metadata())
        if (k == "authorization")
          out += (out.empty() ? "" : ";") + v;
      return call_result{{}, out, {}, {}};
    };
    sim->set_behavior("a:1", b);
  }
  ~creds_fixture() { run(); }

  channel dial(call_credentials_ptr creds, bool allow = true) {
    dial_options o;
    o.transport = sim;
    o.resolvers.push_back(resolver);
    o.seed = 1;
    o.call_credentials = std::move(creds);
    o.allow_insecure_call_credentials = allow;
    auto ch = achan::dial(sys, "manual:///b", o);
    REQUIRE(ch);
    resolver->update({"a:1"});
    ch->connect();
    run();
    return *ch;
  }
  call_handle start(channel& ch, call_options o = {}) {
    return ch.call("/svc.S/M", "x", std::move(o),
                   [this](call_result&& r) { results.push_back(std::move(r)); });
  }
};

}  // namespace

TEST_CASE("credentials: the call waits for its provider and then carries its metadata") {
  creds_fixture f;
  held_provider p;
  auto ch = f.dial(p.creds());
  f.start(ch);
  f.run();
  REQUIRE(p.pending.size() == 1);
  CHECK(p.methods.front() == "/svc.S/M");
  CHECK(f.results.empty());  // nothing is sent before the provider answers
  CHECK(f.sim->stats("a:1").calls == 0);
  p.pending.front()(metadata{{"authorization", "Bearer later"}});
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.ok());
  CHECK(f.results[0].payload == "Bearer later");
}

TEST_CASE("credentials: the channel's metadata comes first and the call's after it") {
  creds_fixture f;
  auto ch = f.dial(bearer_token_credentials("chan"));
  f.start(ch, {.credentials = bearer_token_credentials("call")});
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].payload == "Bearer chan;Bearer call");
}

TEST_CASE("credentials: the deadline passes while the provider is asked") {
  creds_fixture f;
  held_provider p;
  auto ch = f.dial(p.creds());
  f.start(ch, {.timeout = 1s});
  f.advance(999ms);
  CHECK(f.results.empty());
  f.advance(1ms);
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::deadline_exceeded);
  CHECK(f.results[0].status.message == "deadline exceeded while waiting for call credentials");
  p.pending.front()(metadata{});  // late: dropped
  f.run();
  CHECK(f.results.size() == 1);
  CHECK(f.sim->stats("a:1").calls == 0);
}

TEST_CASE("credentials: a call cancelled while its provider is asked ends once with CANCELLED") {
  creds_fixture f;
  held_provider p;
  auto ch = f.dial(p.creds());
  auto h = f.start(ch);
  f.run();
  h.cancel();
  f.run();
  p.pending.front()(metadata{{"authorization", "x"}});
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::cancelled);
  CHECK(f.sim->stats("a:1").calls == 0);
}

TEST_CASE("credentials: refused on a plaintext transport unless allowed") {
  creds_fixture f;
  dial_options o;
  o.transport = f.sim;  // the simulated transport is not secure
  o.resolvers.push_back(f.resolver);
  o.call_credentials = bearer_token_credentials("t");
  auto refused = achan::dial(f.sys, "manual:///b", o);
  REQUIRE_FALSE(refused);
  CHECK(f.sys.render(refused.error()).find("call credentials need a TLS channel") !=
        std::string::npos);
  auto ch = f.dial(nullptr, false);
  f.start(ch, {.credentials = bearer_token_credentials("t")});
  f.run();
  REQUIRE(f.results.size() == 1);
  CHECK(f.results[0].status.code == status_code::unauthenticated);
}
