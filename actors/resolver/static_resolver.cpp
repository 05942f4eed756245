#include "actors/resolver/static_resolver.hpp"

#include <arpa/inet.h>

#include <caf/actor_system.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace achan {
namespace {

struct static_state {
  resolver_update answer;
  resolver_sink sink;
  static inline const char* name = "achan.static_resolver";
};

resolver_actor::behavior_type static_resolver(resolver_actor::stateful_pointer<static_state> self,
                                              resolver_update answer, resolver_sink sink) {
  self->state.answer = std::move(answer);
  self->state.sink = std::move(sink);
  self->send(self->state.sink, self->state.answer);
  return {
      [=](resolve_now) { self->send(self->state.sink, self->state.answer); },
      [=](resolver_stop) { self->quit(); },
  };
}

class static_builder final : public resolver_builder {
 public:
  static_builder(std::string scheme, static_resolve_fn fn)
      : scheme_(std::move(scheme)), fn_(std::move(fn)) {}
  std::string scheme() const override { return scheme_; }
  std::string validate(const target& t) const override { return fn_(t).error; }
  resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink) override {
    auto r = fn_(t);
    resolver_update answer;
    if (r.error.empty())
      answer.addresses = std::move(r.addresses);
    else
      answer.error = {status_code::unavailable, r.error};
    return sys.spawn(static_resolver, std::move(answer), std::move(sink));
  }

 private:
  std::string scheme_;
  static_resolve_fn fn_;
};

bool is_ip_literal(const std::string& host, int family) {
  unsigned char buf[sizeof(in6_addr)];
  return inet_pton(family, host.c_str(), buf) == 1;
}

/// dns: until the c-ares resolver exists, IP literals and localhost only. Other names
/// pass dial-time validation and fail at run time with a clear UNAVAILABLE.
class literal_dns_builder final : public resolver_builder {
 public:
  std::string scheme() const override { return "dns"; }
  std::string validate(const target& t) const override { return split(t).error; }
  resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink) override {
    resolver_update answer;
    auto hp = *split(t).value;
    if (is_ip_literal(hp.host, AF_INET) || is_ip_literal(hp.host, AF_INET6)) {
      answer.addresses.push_back(join_host_port(hp.host, hp.port));
    } else if (hp.host == "localhost") {
      answer.addresses.push_back(join_host_port("127.0.0.1", hp.port));
      answer.addresses.push_back(join_host_port("::1", hp.port));
    } else {
      answer.error = {status_code::unavailable,
                      "DNS lookup of '" + hp.host +
                          "' is not available in this build yet; use an IP address, localhost "
                          "or an ipv4:/ipv6:/unix: target"};
    }
    return sys.spawn(static_resolver, std::move(answer), std::move(sink));
  }

 private:
  static host_port_result split(const target& t) {
    auto r = split_host_port(t.endpoint, 443);
    if (!r.value && r.error.empty())
      r.error = "invalid dns target '" + t.original + "'";
    return r;
  }
};

}  // namespace

resolver_builder_ptr make_static_builder(std::string scheme, static_resolve_fn fn) {
  return std::make_shared<static_builder>(std::move(scheme), std::move(fn));
}

std::vector<resolver_builder_ptr> builtin_static_builders() {
  std::vector<resolver_builder_ptr> out;
  out.push_back(make_static_builder("passthrough", [](const target& t) {
    address_list_result r;
    if (t.endpoint.empty())
      r.error = "passthrough target '" + t.original + "' has an empty endpoint";
    else
      r.addresses.push_back(t.endpoint);
    return r;
  }));
  out.push_back(make_static_builder(
      "ipv4", [](const target& t) { return parse_ip_list(t.endpoint, false); }));
  out.push_back(
      make_static_builder("ipv6", [](const target& t) { return parse_ip_list(t.endpoint, true); }));
  out.push_back(make_static_builder("unix", [](const target& t) { return parse_unix(t); }));
  out.push_back(
      make_static_builder("unix-abstract", [](const target& t) { return parse_unix(t); }));
  out.push_back(std::make_shared<literal_dns_builder>());
  return out;
}

}  // namespace achan
