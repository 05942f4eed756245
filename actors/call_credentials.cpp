// Call credentials: the built-in providers and fetch_credentials (call_credentials.hpp).
#include "actors/call_credentials.hpp"

#include <caf/send.hpp>

#include <exception>
#include <vector>

#include "transport/grpc/wire_text.hpp"

namespace achan {
namespace {

/// gRFC A54: codes a control plane must not produce become INTERNAL.
status from_provider(status st) {
  switch (st.code) {
    case status_code::ok:
    case status_code::invalid_argument:
    case status_code::not_found:
    case status_code::already_exists:
    case status_code::failed_precondition:
    case status_code::aborted:
    case status_code::out_of_range:
    case status_code::data_loss:
      return {status_code::internal, "call credentials failed with illegal code " + st.to_string()};
    default:
      return {st.code, "call credentials failed: " + st.message};
  }
}

class function_credentials final : public call_credentials {
 public:
  using fn = std::function<void(const credentials_request&, callback)>;
  explicit function_credentials(fn f) : f_(std::move(f)) {}
  void get_metadata(const credentials_request& req, callback done) override {
    if (!f_)
      return done(status{status_code::unavailable, "no credentials function"});
    f_(req, std::move(done));
  }

 private:
  fn f_;
};

/// One step of the chain: asks `providers[i]`, then the next, then restarts the call.
void ask(std::shared_ptr<const std::vector<call_credentials_ptr>> providers, std::size_t i,
         std::shared_ptr<const credentials_request> req, channel_control me, call_ptr c) {
  if (c->finished())
    return;
  if (i == providers->size()) {
    caf::anon_send(me, start_call{std::move(c)});
    return;
  }
  auto done = [providers, i, req, me, c](result<metadata> r) mutable {
    if (c->finished())
      return;  // deadline or cancel came first
    if (!r) {
      auto st = from_provider(r.error());
      c->fail(st.code, std::move(st.message));
      return;
    }
    if (auto err = grpc::metadata_error(*r); !err.empty()) {
      c->fail(status_code::unavailable, "call credentials returned bad metadata: " + err);
      return;
    }
    c->add_metadata(std::move(*r));
    ask(std::move(providers), i + 1, std::move(req), std::move(me), std::move(c));
  };
  try {
    (*providers)[i]->get_metadata(*req, std::move(done));
  } catch (const std::exception& e) {
    c->fail(status_code::unavailable, std::string{"call credentials threw: "} + e.what());
  } catch (...) {
    c->fail(status_code::unavailable, "call credentials threw an exception");
  }
}

}  // namespace

call_credentials_ptr bearer_token_credentials(std::string token) {
  auto md = std::make_shared<const metadata>(metadata{{"authorization", "Bearer " + token}});
  return make_call_credentials(
      [md](const credentials_request&, call_credentials::callback done) { done(*md); });
}

call_credentials_ptr make_call_credentials(
    std::function<void(const credentials_request&, call_credentials::callback)> fn) {
  return std::make_shared<function_credentials>(std::move(fn));
}

void fetch_credentials(const channel_shared& shared, const channel_control& me, const call_ptr& c) {
  c->credentials_applied = true;
  if (!shared.credentials_allowed) {
    c->fail(status_code::unauthenticated,
            "call credentials need a TLS channel (dial_options::tls), or "
            "dial_options::allow_insecure_call_credentials to send them in plaintext");
    return;
  }
  c->awaiting_credentials = true;
  auto providers = std::make_shared<std::vector<call_credentials_ptr>>();
  if (shared.credentials)
    providers->push_back(shared.credentials);
  if (c->credentials)
    providers->push_back(c->credentials);
  auto req = std::make_shared<credentials_request>(
      credentials_request{c->method(), shared.authority ? *shared.authority : std::string{}});
  ask(std::move(providers), 0, std::move(req), me, c);
}

}  // namespace achan
