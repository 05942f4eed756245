// run_real: the scenario on loopback. Each instance is an achan server (the echo service,
// shaped per call by the instance's latency and errors, plus grpc.health.v1) with a
// fault proxy in front; the channel dials the proxies. Kill, pause, partition and toxics
// act on the proxy; goaway restarts the server gracefully; health and set act on the
// server. Wall-clock time.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/actor_executor.hpp>
#include <achan/fault_proxy.hpp>
#include <achan/h2_transport.hpp>
#include <achan/server.hpp>
#include <achan/system_config.hpp>

#include <thread>

#include "testkit/echo_service.hpp"
#include "testkit/health_service.hpp"
#include "testkit/scenario/run_common.hpp"

namespace achan::scenario {
namespace {
using namespace detail;
using testkit::serving_status;

struct real_instance {
  std::string name;
  std::mutex mx;  // the fields below: the server's I/O thread draws, the timeline sets
  latency_dist latency;
  double error_rate = 0;
  status_code error_status = status_code::unavailable;
  bool serving = true;
  rng draws{0};
  std::unique_ptr<transport::h2_server> server;
  std::shared_ptr<void> echo;
  std::shared_ptr<testkit::health_service> health;
  std::uint16_t port = 0;  // the server's
  std::string address;     // the proxy's: what the channel dials
};

/// Starts `inst`'s server on `port` (0: a free one).
status serve(const std::shared_ptr<real_instance>& inst, std::uint16_t port) {
  transport::server_options so;
  so.permit_keepalive_time = std::chrono::milliseconds(1);  // scenarios ping fast
  so.permit_keepalive_without_calls = true;
  auto srv = std::make_unique<transport::h2_server>(so);
  testkit::echo_options eo;
  std::weak_ptr<real_instance> w = inst;
  eo.unary_shape = [w]() -> std::pair<std::chrono::nanoseconds, status> {
    auto i = w.lock();
    if (!i)
      return {{}, {}};
    std::lock_guard lk{i->mx};
    auto d = draw(i->latency, i->draws);
    if (i->error_rate > 0 && i->draws.uniform() < i->error_rate)
      return {d, {i->error_status, "injected error (scenario)"}};
    return {d, {}};
  };
  auto echo = testkit::add_echo_service(*srv, inst->name, std::move(eo));
  auto health = testkit::health_service::add(*srv, {"achan.test.Echo"});
  auto p = srv->listen("127.0.0.1", port);
  if (!p)
    return p.error();
  std::lock_guard lk{inst->mx};
  if (!inst->serving)
    health->set_all(serving_status::not_serving);
  inst->port = *p;
  inst->server = std::move(srv);
  inst->echo = std::move(echo);
  inst->health = std::move(health);
  return {};
}

class real_world {
 public:
  real_world(const scenario& sc, std::uint64_t seed, std::shared_ptr<manual_resolver> resolver)
      : resolver_(std::move(resolver)) {
    auto names = sc.instances();
    std::size_t i = 0;
    for (const auto& b : sc.backends)
      for (std::size_t k = 0; k < b.count; ++k, ++i) {
        auto inst = std::make_shared<real_instance>();
        inst->name = names[i];
        inst->latency = b.latency;
        inst->error_rate = b.error_rate;
        inst->error_status = b.error_status;
        inst->serving = b.serving;
        inst->draws.state = mix(seed, 1000 + i);
        instances_.push_back(inst);
        by_name_[inst->name] = inst;
      }
  }

  ~real_world() { stop(); }

  /// Starts every server and its proxy.
  status start() {
    for (auto& inst : instances_) {
      if (auto st = serve(inst, 0); !st.ok())
        return {st.code, inst->name + ": " + st.message};
      auto info = proxies_.create(
          {inst->name, "127.0.0.1:0", "127.0.0.1:" + std::to_string(inst->port), true});
      if (!info)
        return {info.error().code, inst->name + ": " + info.error().message};
      inst->address = info->config.listen;
    }
    return {};
  }

  void stop() {
    for (auto& t : restarts_)
      if (t.joinable())
        t.join();
    restarts_.clear();
    for (auto& inst : instances_)
      (void)proxies_.remove(inst->name);
    for (auto& inst : instances_) {
      std::unique_ptr<transport::h2_server> srv;
      {
        std::lock_guard lk{inst->mx};
        srv = std::move(inst->server);
        if (inst->health)
          inst->health->shutdown();
      }
      if (srv)
        srv->shutdown(std::chrono::milliseconds(0));
    }
  }

  const std::vector<std::shared_ptr<real_instance>>& instances() const { return instances_; }

  std::vector<std::string> addresses(const std::vector<std::string>& names) const {
    std::vector<std::string> out;
    for (const auto& n : names)
      out.push_back(by_name_.at(n)->address);
    return out;
  }

  /// Applies `e`; returns what went wrong ("" if nothing did).
  std::string apply(const event& e) {
    if (e.what == event::kind::resolver) {
      resolver_->update(addresses(e.instances));
      return {};
    }
    std::string errors;
    for (const auto& n : e.instances) {
      auto st = apply(e, by_name_.at(n));
      if (!st.ok())
        errors += (errors.empty() ? "" : "; ") + n + ": " + st.message;
    }
    return errors;
  }

 private:
  status toxic(const std::string& proxy, fault::toxic t) {
    auto r = proxies_.add_toxic(proxy, std::move(t));
    return r ? status{} : r.error();
  }
  status untoxic(const std::string& proxy, const std::string& name) {
    auto r = proxies_.remove_toxic(proxy, name);
    return r ? status{} : r.error();
  }
  status enable(const std::string& proxy, bool on) {
    fault::proxy_update u;
    u.enabled = on;
    auto r = proxies_.update(proxy, u);
    return r ? status{} : r.error();
  }

  status apply(const event& e, const std::shared_ptr<real_instance>& inst) {
    const auto& p = inst->name;
    switch (e.what) {
      case event::kind::kill:
        return enable(p, false);
      case event::kind::restart:
        return enable(p, true);
      case event::kind::pause: {
        auto up = fault::timeout(0, fault::stream::upstream);
        up.name = "scenario_pause_up";
        auto down = fault::timeout(0, fault::stream::downstream);
        down.name = "scenario_pause_down";
        auto st = toxic(p, up);
        return st.ok() ? toxic(p, down) : st;
      }
      case event::kind::resume: {
        auto st = untoxic(p, "scenario_pause_up");
        auto st2 = untoxic(p, "scenario_pause_down");
        return st.ok() ? st2 : st;
      }
      case event::kind::partition: {
        auto t = fault::partition();
        t.name = "scenario_partition";
        return toxic(p, t);
      }
      case event::kind::heal:
        return untoxic(p, "scenario_partition");
      case event::kind::add_toxic: {
        fault::toxic t;
        t.name = e.toxic.name;
        t.type = e.toxic.type;
        t.stream =
            e.toxic.stream == "upstream" ? fault::stream::upstream : fault::stream::downstream;
        t.toxicity = e.toxic.toxicity;
        t.attributes = e.toxic.attributes;
        return toxic(p, t);
      }
      case event::kind::remove_toxic:
        return untoxic(p, e.toxic.name);
      case event::kind::health: {
        std::lock_guard lk{inst->mx};
        inst->serving = e.serving;
        if (inst->health)
          inst->health->set_all(e.serving ? serving_status::serving : serving_status::not_serving);
        return {};
      }
      case event::kind::set: {
        std::lock_guard lk{inst->mx};
        if (e.latency)
          inst->latency = *e.latency;
        if (e.error_rate)
          inst->error_rate = *e.error_rate;
        if (e.error_status)
          inst->error_status = *e.error_status;
        return {};
      }
      case event::kind::goaway:
        // Graceful restart off the executor (shutdown blocks until calls drain): GOAWAY,
        // in-flight calls finish (up to 5 s), then a new server on the same port.
        restarts_.emplace_back([inst] {
          std::unique_ptr<transport::h2_server> old;
          {
            std::lock_guard lk{inst->mx};
            old = std::move(inst->server);
            if (inst->health)
              inst->health->shutdown();
          }
          if (old)
            old->shutdown(std::chrono::seconds(5));
          old.reset();
          (void)serve(inst, inst->port);
        });
        return {};
      case event::kind::resolver:
        return {};
    }
    return {};
  }

  std::shared_ptr<manual_resolver> resolver_;
  fault::proxy_set proxies_;
  std::vector<std::shared_ptr<real_instance>> instances_;
  std::map<std::string, std::shared_ptr<real_instance>> by_name_;
  std::vector<std::thread> restarts_;
};

}  // namespace

run_result run_real(const scenario& sc, std::uint64_t seed) {
  run_result out;
  out.seed = seed;
  auto wall0 = std::chrono::steady_clock::now();
  caf::actor_system_config cfg;
  configure_actor_system(cfg, 2);
  caf::actor_system sys{cfg};
  {
    auto ex = make_actor_executor(sys);
    auto resolver = std::make_shared<manual_resolver>(sys);
    auto world = std::make_shared<real_world>(sc, seed, resolver);
    if (auto st = world->start(); !st.ok()) {
      out.error = st;
      return out;
    }
    auto rec = std::make_shared<recorder>(sc, ex);
    auto names = sc.instances();
    for (std::size_t i = 0; i < names.size(); ++i)
      rec->map_address(world->instances()[i]->address, static_cast<std::int32_t>(i));
    auto opts = options_for(sc, seed);
    transport::h2_options h2;
    h2.keepalive_time =
        std::chrono::duration_cast<std::chrono::milliseconds>(sc.channel.keepalive_time);
    h2.keepalive_timeout =
        std::chrono::duration_cast<std::chrono::milliseconds>(sc.channel.keepalive_timeout);
    opts.transport = transport::make_h2_transport(h2);
    opts.resolvers.push_back(resolver);
    opts.observer = rec->observer();
    auto initial = sc.channel.initial.empty() ? names : sc.channel.initial;
    auto ch = dial_channel(sys, sc, std::move(opts), world->addresses(initial), *resolver, rec);
    if (!ch) {
      out.error = ch.error();
      return out;
    }
    auto load = std::make_shared<load_driver>(sc, *ch, ex, rec);
    load->start();
    schedule_timeline(sc, ex, rec, [world, rec](const event& e) {
      auto err = world->apply(e);
      if (!err.empty()) {
        trace_event t;
        t.what = trace_event::kind::timeline;
        t.t = rec->now();
        rec->add_text(t, "error: " + err);
      }
    });
    auto t0 = std::chrono::steady_clock::now();
    auto end = std::max(sc.length, load->end());
    std::this_thread::sleep_until(t0 + end);
    auto cancel_at = t0 + load->end() + sc.load.drain;
    while (!load->finished() && std::chrono::steady_clock::now() < cancel_at)
      std::this_thread::sleep_for(std::chrono::milliseconds(5));
    if (!load->finished()) {
      load->cancel_all();
      auto limit = std::chrono::steady_clock::now() + std::chrono::seconds(5);
      while (load->in_flight() > 0 && std::chrono::steady_clock::now() < limit)
        std::this_thread::sleep_for(std::chrono::milliseconds(5));
    }
    auto simulated = rec->now();
    ch->close();
    auto st = ch->stats();
    world->stop();
    out.trace = rec->take();
    out.figures = figures_of(out.trace);
    out.figures.simulated = simulated;
    out.figures.retries = st.retries;
    out.figures.hedges = st.hedges;
    out.figures.transparent_retries = st.transparent_retries;
    out.error = load->cap_error();
  }
  if (!out.error)
    out.verdicts = evaluate(sc, out.trace, out.figures);
  out.figures.wall = std::chrono::steady_clock::now() - wall0;
  return out;
}

}  // namespace achan::scenario
