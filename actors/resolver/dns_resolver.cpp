#include "actors/resolver/dns_resolver.hpp"

#include <arpa/inet.h>
#include <limits.h>
#include <unistd.h>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>
#include <caf/stateful_actor.hpp>
#include <caf/typed_event_based_actor.hpp>
#include <caf/weak_intrusive_ptr.hpp>

#include "core/resolver/dns_core.hpp"
#include "transport/dns/ares_service.hpp"

namespace achan {
namespace {
/// Lookup service → resolver: the answer to query `seq`.
struct dns_answer {
  std::uint64_t seq = 0;
  dns::lookup_result result;
};
/// Resolver → itself: the timer armed with generation `gen` fired.
struct dns_timer {
  std::uint64_t gen = 0;
};
}  // namespace
}  // namespace achan

CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::dns_answer)
CAF_ALLOW_UNSAFE_MESSAGE_TYPE(achan::dns_timer)

namespace achan {
namespace {

using dns_actor = resolver_actor::extend<caf::reacts_to<dns_answer>, caf::reacts_to<dns_timer>>;

struct dns_state {
  std::optional<dns_core> core;
  dns_resolver_config cfg;
  resolver_sink sink;
  std::optional<time_point> armed;  // when the live timer fires
  std::uint64_t timer_gen = 0;
  static inline const char* name = "achan.dns_resolver";
};

using self_ptr = dns_actor::stateful_pointer<dns_state>;

/// After every event: start a due query, then (re)arm the one timer for the next
/// scheduled query. A timer whose time no longer matches is left to fire as stale.
void pump(self_ptr self) {
  auto& st = self->state;
  auto now = self->clock().now();
  if (st.core->query_due(now)) {
    auto seq = st.core->begin_query(now);
    // Weak: a lookup in flight must not keep a stopped resolver alive.
    caf::weak_actor_ptr weak{self->ctrl()};
    st.cfg.lookup(st.cfg.request, [weak, seq](dns::lookup_result&& r) {
      if (auto strong = weak.lock())
        caf::anon_send(caf::actor_cast<dns_actor>(strong), dns_answer{seq, std::move(r)});
    });
  }
  auto wake = st.core->next_wakeup();
  if (wake == st.armed)
    return;
  st.armed = wake;
  ++st.timer_gen;
  if (wake)
    self->delayed_send(self, *wake > now ? *wake - now : clock_duration::zero(),
                       dns_timer{st.timer_gen});
}

/// This machine's host name for clientHostname matching; "" if it cannot be had.
std::string system_hostname() {
  char name[HOST_NAME_MAX + 1] = {};
  if (::gethostname(name, sizeof name - 1) != 0)
    return {};
  return name;
}

dns_actor::behavior_type dns_resolver(self_ptr self, dns_resolver_config cfg, resolver_sink sink) {
  auto& st = self->state;
  cfg.request.txt_name.clear();
  if (cfg.options.service_config && !dns::answer_locally(cfg.request.host, cfg.request.port)) {
    cfg.request.txt_name = "_grpc_config." + cfg.request.host;
    if (cfg.options.client_hostname.empty())
      cfg.options.client_hostname = system_hostname();
  }
  st.core.emplace(cfg.options, cfg.seed, cfg.request.txt_name);
  st.cfg = std::move(cfg);
  st.sink = std::move(sink);
  st.core->start(self->clock().now());
  pump(self);
  return {
      [=](resolve_now) {
        self->state.core->request(self->clock().now());
        pump(self);
      },
      [=](resolver_stop) { self->quit(); },
      [=](dns_answer& a) {
        auto& st = self->state;
        if (auto out = st.core->finish_query(a.seq, self->clock().now(), a.result)) {
          resolver_update u;
          u.error = std::move(out->error);
          u.addresses = std::move(out->addresses);
          u.service_config = std::move(out->service_config);
          u.service_config_error = std::move(out->service_config_error);
          self->send(st.sink, std::move(u));
        }
        pump(self);
      },
      [=](dns_timer t) {
        if (t.gen != self->state.timer_gen)
          return;  // re-armed or disarmed since
        self->state.armed.reset();
        pump(self);
      },
  };
}

std::optional<std::string> ip_literal(const std::string& host) {
  unsigned char buf[sizeof(in6_addr)];
  char text[INET6_ADDRSTRLEN];
  for (int af : {AF_INET, AF_INET6})
    if (inet_pton(af, host.c_str(), buf) == 1 && inet_ntop(af, buf, text, sizeof text))
      return std::string(text);
  return std::nullopt;
}

class dns_builder final : public resolver_builder {
 public:
  dns_builder(dns_options opts, dns::lookup_fn lookup)
      : opts_(std::move(opts)), lookup_(std::move(lookup)) {}
  std::string scheme() const override { return "dns"; }
  result<void> validate(const target& t) const override {
    auto r = parse_dns_target(t);
    return r ? result<void>{} : result<void>{r.error()};
  }
  resolver_actor build(caf::actor_system& sys, const target& t, resolver_sink sink,
                       std::uint64_t seed) override {
    dns_resolver_config cfg;
    cfg.request = *parse_dns_target(t);
    cfg.request.timeout = std::chrono::ceil<std::chrono::milliseconds>(opts_.query_timeout);
    cfg.options = opts_;
    cfg.seed = seed;
    cfg.lookup = lookup_ ? lookup_ : dns::ares_service::as_function(dns::ares_service::shared());
    return spawn_dns_resolver(sys, std::move(cfg), std::move(sink));
  }

 private:
  dns_options opts_;
  dns::lookup_fn lookup_;
};

}  // namespace

dns_target_result parse_dns_target(const target& t) {
  auto hp = split_host_port(t.endpoint, 443);
  if (!hp)
    return status{status_code::invalid_argument,
                  "invalid dns target '" + t.original + "': " + hp.error().message};
  dns::lookup_request req;
  req.host = hp->host;
  req.port = hp->port;
  if (!t.authority.empty()) {
    auto server = split_host_port(t.authority, 53);
    auto ip = server ? ip_literal(server->host) : std::nullopt;
    if (!ip)
      return status{status_code::invalid_argument,
                    "invalid DNS server '" + t.authority + "' in target '" + t.original +
                        "': expected an IP address with an optional port, as in "
                        "dns://127.0.0.1:53/host:port"};
    req.server = join_host_port(*ip, server->port);
  }
  return req;
}

resolver_actor spawn_dns_resolver(caf::actor_system& sys, dns_resolver_config cfg,
                                  resolver_sink sink) {
  return caf::actor_cast<resolver_actor>(sys.spawn(dns_resolver, std::move(cfg), std::move(sink)));
}

resolver_builder_ptr make_dns_builder(dns_options opts, dns::lookup_fn lookup) {
  return std::make_shared<dns_builder>(std::move(opts), std::move(lookup));
}

}  // namespace achan
