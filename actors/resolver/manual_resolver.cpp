#include <achan/manual_resolver.hpp>

#include <caf/actor.hpp>
#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>

namespace achan {
namespace {
struct manual_attach {
  resolver_sink sink;
};
}  // namespace
}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::manual_attach)

namespace achan {
namespace {

using manual_actor =
    resolver_actor::extend<caf::reacts_to<resolver_update>, caf::reacts_to<manual_attach>>;

struct manual_state {
  std::shared_ptr<std::atomic<std::size_t>> counter;
  std::optional<resolver_update> last;
  resolver_sink sink;
  static inline const char* name = "achan.manual_resolver";
};

manual_actor::behavior_type manual(manual_actor::stateful_pointer<manual_state> self,
                                   std::shared_ptr<std::atomic<std::size_t>> counter) {
  self->state.counter = std::move(counter);
  return {
      [=](resolve_now) { ++*self->state.counter; },
      [=](resolver_stop) { self->state.sink = nullptr; },
      [=](resolver_update& u) {
        self->state.last = u;
        if (self->state.sink)
          self->send(self->state.sink, std::move(u));
      },
      [=](manual_attach& a) {
        self->state.sink = std::move(a.sink);
        if (self->state.last)
          self->send(self->state.sink, *self->state.last);
      },
  };
}

manual_actor typed(const caf::actor& a) {
  return caf::actor_cast<manual_actor>(a);
}

}  // namespace

manual_resolver::manual_resolver(caf::actor_system& sys, std::string scheme)
    : scheme_(std::move(scheme)), counter_(std::make_shared<std::atomic<std::size_t>>(0)) {
  actor_ = caf::actor_cast<caf::actor>(sys.spawn(manual, counter_));
}

manual_resolver::~manual_resolver() {
  caf::anon_send_exit(actor_, caf::exit_reason::user_shutdown);
}

void manual_resolver::update(std::vector<std::string> addresses, std::optional<lb_config> config) {
  resolver_update u;
  u.addresses = std::move(addresses);
  u.config = std::move(config);
  caf::anon_send(typed(actor_), std::move(u));
}

void manual_resolver::update_weighted(std::vector<std::pair<std::string, std::uint32_t>> weighted,
                                      std::optional<lb_config> config) {
  resolver_update u;
  for (auto& [address, weight] : weighted) {
    u.addresses.push_back(std::move(address));
    u.weights.push_back(weight);
  }
  u.config = std::move(config);
  caf::anon_send(typed(actor_), std::move(u));
}

void manual_resolver::update_with_service_config(std::vector<std::string> addresses,
                                                 std::string service_config_json) {
  resolver_update u;
  u.addresses = std::move(addresses);
  u.service_config = std::move(service_config_json);
  caf::anon_send(typed(actor_), std::move(u));
}

void manual_resolver::fail(status error) {
  resolver_update u;
  u.error = std::move(error);
  caf::anon_send(typed(actor_), std::move(u));
}

resolver_actor manual_resolver::build(caf::actor_system&, const target&, resolver_sink sink,
                                      std::uint64_t /*seed: no randomness*/) {
  auto a = typed(actor_);
  caf::anon_send(a, manual_attach{std::move(sink)});
  return caf::actor_cast<resolver_actor>(a);
}

}  // namespace achan
