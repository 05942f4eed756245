#include "actors/resolver/static_resolver.hpp"

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
  result<void> validate(const target& t) const override {
    auto r = fn_(t);
    return r ? result<void>{} : result<void>{r.error()};
  }
  resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink,
                       std::uint64_t /*seed: no randomness*/) override {
    auto r = fn_(t);
    resolver_update answer;
    if (r)
      answer.addresses = std::move(*r);
    else
      answer.error = {status_code::unavailable, r.error().message};
    return sys.spawn(static_resolver, std::move(answer), std::move(sink));
  }

 private:
  std::string scheme_;
  static_resolve_fn fn_;
};

}  // namespace

resolver_builder_ptr make_static_builder(std::string scheme, static_resolve_fn fn) {
  return std::make_shared<static_builder>(std::move(scheme), std::move(fn));
}

std::vector<resolver_builder_ptr> builtin_static_builders() {
  std::vector<resolver_builder_ptr> out;
  out.push_back(make_static_builder("passthrough", [](const target& t) -> address_list_result {
    if (t.endpoint.empty())
      return status{status_code::invalid_argument,
                    "passthrough target '" + t.original + "' has an empty endpoint"};
    return std::vector<std::string>{t.endpoint};
  }));
  out.push_back(make_static_builder(
      "ipv4", [](const target& t) { return parse_ip_list(t.endpoint, false); }));
  out.push_back(
      make_static_builder("ipv6", [](const target& t) { return parse_ip_list(t.endpoint, true); }));
  out.push_back(make_static_builder("unix", [](const target& t) { return parse_unix(t); }));
  out.push_back(
      make_static_builder("unix-abstract", [](const target& t) { return parse_unix(t); }));
  return out;
}

}  // namespace achan
