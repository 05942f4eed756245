// run_sim: the scenario on the simulated transport under CAF's test coordinator. One
// thread, virtual time: the runner fires the next timer, runs every actor until quiet,
// and repeats, so a seed fixes the whole schedule.
#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>
#include <caf/detail/test_actor_clock.hpp>
#include <caf/scheduler/test_coordinator.hpp>

#include <achan/actor_executor.hpp>
#include <achan/errors.hpp>
#include <achan/simulated_transport.hpp>

#include "testkit/scenario/run_common.hpp"

namespace achan::scenario {
namespace {
using namespace detail;

const std::string health_watch = "/grpc.health.v1.Health/Watch";

struct sim_config : caf::actor_system_config {
  sim_config() {
    set("scheduler.policy", caf::atom("testing"));
    achan::add_error_category(*this);
  }
};

/// One backend instance as the simulation models it. Touched only on the executor.
struct sim_instance {
  std::string address;
  latency_dist latency;
  double error_rate = 0;
  status_code error_status = status_code::unavailable;
  bool serving = true;
  bool killed = false, paused = false, partitioned = false;
  std::map<std::string, toxic_spec> toxics;
  std::uint64_t cut = 0;  // generation of the last partition, for keepalive timers
  rng draws{0};
};

/// The toxic types the simulation models; others fail the run before it starts.
status sim_supports(const scenario& sc) {
  for (const auto& e : sc.timeline)
    if (e.what == event::kind::add_toxic) {
      const auto& t = e.toxic.type;
      if (t != "latency" && t != "timeout" && t != "reset_peer" && t != "partition")
        return {status_code::invalid_argument,
                sc.origin + ":" + std::to_string(e.line) + ": toxic type " + t +
                    " is not modelled by --sim (latency, timeout, reset_peer, partition are); "
                    "run it with --real"};
      if (e.toxic.toxicity < 1)
        return {status_code::invalid_argument,
                sc.origin + ":" + std::to_string(e.line) +
                    ": --sim models toxics with toxicity 1 only; run it with --real"};
    }
  return {};
}

std::int64_t attr(const toxic_spec& t, const char* name) {
  auto i = t.attributes.find(name);
  return i == t.attributes.end() ? 0 : i->second;
}

class sim_world {
 public:
  sim_world(const scenario& sc, std::uint64_t seed,
            std::shared_ptr<transport::simulated_transport> sim, transport::executor_ptr ex,
            std::shared_ptr<manual_resolver> resolver)
      : sc_(sc), sim_(std::move(sim)), ex_(std::move(ex)), resolver_(std::move(resolver)) {
    auto names = sc.instances();
    std::size_t i = 0;
    for (const auto& b : sc.backends)
      for (std::size_t k = 0; k < b.count; ++k, ++i) {
        auto inst = std::make_shared<sim_instance>();
        inst->address =
            "10.77." + std::to_string(i / 250) + "." + std::to_string(i % 250 + 1) + ":50051";
        inst->latency = b.latency;
        inst->error_rate = b.error_rate;
        inst->error_status = b.error_status;
        inst->serving = b.serving;
        inst->draws.state = mix(seed, 1000 + i);
        by_name_[names[i]] = inst;
        instances_.push_back(std::move(inst));
      }
    for (auto& inst : instances_)
      behave(inst);
  }

  const std::vector<std::shared_ptr<sim_instance>>& instances() const { return instances_; }

  std::vector<std::string> addresses(const std::vector<std::string>& names) const {
    std::vector<std::string> out;
    for (const auto& n : names)
      out.push_back(by_name_.at(n)->address);
    return out;
  }

  void apply(const event& e) {
    if (e.what == event::kind::resolver) {
      resolver_->update(addresses(e.instances));
      return;
    }
    for (const auto& n : e.instances)
      apply(e, by_name_.at(n));
  }

 private:
  static bool cut_off(const sim_instance& s) {
    return s.paused || s.partitioned ||
           std::any_of(s.toxics.begin(), s.toxics.end(), [](const auto& t) {
             return t.second.type == "partition" || t.second.type == "timeout";
           });
  }

  void apply(const event& e, const std::shared_ptr<sim_instance>& sp) {
    auto& s = *sp;
    bool was_cut = cut_off(s);
    switch (e.what) {
      case event::kind::kill:
        s.killed = true;
        behave(sp);
        sim_->drop(s.address, {status_code::unavailable, "connection reset: backend killed"});
        break;
      case event::kind::restart:
        s.killed = false;
        behave(sp);
        break;
      case event::kind::pause:
        s.paused = true;
        break;
      case event::kind::resume:
        s.paused = false;
        break;
      case event::kind::partition:
        s.partitioned = true;
        break;
      case event::kind::heal:
        s.partitioned = false;
        break;
      case event::kind::goaway:
        sim_->goaway(s.address);
        break;
      case event::kind::add_toxic:
        s.toxics[e.toxic.name] = e.toxic;
        if (e.toxic.type == "reset_peer") {
          behave(sp);
          reset_later(s, attr(e.toxic, "timeout"));
        }
        if (e.toxic.type == "timeout" && attr(e.toxic, "timeout") > 0)
          reset_later(s, attr(e.toxic, "timeout"));
        break;
      case event::kind::remove_toxic:
        s.toxics.erase(e.toxic.name);
        behave(sp);
        break;
      case event::kind::health:
        s.serving = e.serving;
        behave(sp);
        sim_->push(s.address, health_watch, health_status(s.serving));
        break;
      case event::kind::set:
        if (e.latency)
          s.latency = *e.latency;
        if (e.error_rate)
          s.error_rate = *e.error_rate;
        if (e.error_status)
          s.error_status = *e.error_status;
        break;
      case event::kind::resolver:
        break;
    }
    bool cut = cut_off(s);
    if (cut == was_cut)
      return;
    sim_->set_partitioned(s.address, cut);
    if (cut && sc_.channel.keepalive_time > duration::zero()) {
      // The h2 transport's keepalive: a PING after keepalive_time, unanswered for
      // keepalive_timeout, closes the connection. Modelled as one timer per cut.
      auto gen = ++s.cut;
      ex_->post(sc_.channel.keepalive_time + sc_.channel.keepalive_timeout, [sim = sim_, sp, gen] {
        if (sp->cut == gen && cut_off(*sp))
          sim->drop(sp->address, {status_code::unavailable, "keepalive ping not acknowledged"});
      });
    }
  }

  void reset_later(sim_instance& s, std::int64_t ms) {
    ex_->post(std::chrono::milliseconds(ms), [sim = sim_, address = s.address] {
      sim->drop(address, {status_code::unavailable, "connection reset by peer (toxic)"});
    });
  }

  static std::string health_status(bool serving) { return serving ? "\x08\x01" : "\x08\x02"; }

  /// The simulated transport's behaviour for `s`, from its current state.
  void behave(const std::shared_ptr<sim_instance>& sp) {
    auto& s = *sp;
    transport::sim_behavior b;
    b.connect = s.killed ? transport::sim_behavior::connect_mode::refuse
                         : transport::sim_behavior::connect_mode::accept;
    b.held_methods = {health_watch};
    auto p = sp;
    b.held_greeting = [p](const call&) { return health_status(p->serving); };
    b.latency_of = [p](const call&) {
      auto d = draw(p->latency, p->draws);
      for (const auto& [name, t] : p->toxics)
        if (t.type == "latency") {
          auto jitter = attr(t, "jitter");
          auto extra = attr(t, "latency") * 1000000 +
                       (jitter > 0 ? static_cast<std::int64_t>((p->draws.uniform() * 2 - 1) *
                                                               static_cast<double>(jitter) * 1e6)
                                   : 0);
          d += duration{std::max<std::int64_t>(extra, 0)};
        }
      return d;
    };
    b.responder = [p](const call& c) {
      call_result r;
      if (p->error_rate > 0 && p->draws.uniform() < p->error_rate) {
        r.status = {p->error_status, "injected error (scenario)"};
        return r;
      }
      r.payload = c.payload();
      r.headers_received = true;
      return r;
    };
    for (const auto& [name, t] : s.toxics)
      if (t.type == "reset_peer")
        b.drop_after = std::chrono::milliseconds(attr(t, "timeout"));
    sim_->set_behavior(s.address, std::move(b));
  }

  const scenario& sc_;
  std::shared_ptr<transport::simulated_transport> sim_;
  transport::executor_ptr ex_;
  std::shared_ptr<manual_resolver> resolver_;
  std::vector<std::shared_ptr<sim_instance>> instances_;
  std::map<std::string, std::shared_ptr<sim_instance>> by_name_;
};

}  // namespace

run_result run_sim(const scenario& sc, std::uint64_t seed) {
  run_result out;
  out.seed = seed;
  auto wall0 = std::chrono::steady_clock::now();
  if (auto st = sim_supports(sc); !st.ok()) {
    out.error = st;
    return out;
  }
  sim_config cfg;
  caf::actor_system sys{cfg};
  sys.await_actors_before_shutdown(false);
  auto& sched = dynamic_cast<caf::scheduler::test_coordinator&>(sys.scheduler());
  auto& clock = sched.clock();
  auto run = [&] { sched.run(); };
  {
    auto ex = make_actor_executor(sys);
    auto sim = std::make_shared<transport::simulated_transport>(ex);
    auto resolver = std::make_shared<manual_resolver>(sys);
    auto rec = std::make_shared<recorder>(sc, ex);
    sim_world world{sc, seed, sim, ex, resolver};
    auto names = sc.instances();
    for (std::size_t i = 0; i < names.size(); ++i)
      rec->map_address(world.instances()[i]->address, static_cast<std::int32_t>(i));
    auto opts = options_for(sc, seed);
    opts.transport = sim;
    opts.resolvers.push_back(resolver);
    opts.observer = rec->observer();
    auto initial = sc.channel.initial.empty() ? names : sc.channel.initial;
    auto ch = dial_channel(sys, sc, std::move(opts), world.addresses(initial), *resolver, rec);
    if (!ch) {
      out.error = ch.error();
      return out;
    }
    auto load = std::make_shared<load_driver>(sc, *ch, ex, rec);
    load->start();
    schedule_timeline(sc, ex, rec, [&world](const event& e) { world.apply(e); });
    // Virtual time: fire timers in order until the scenario and its load are over.
    auto t0 = clock.now();
    auto end = std::max(sc.length, load->end());
    auto cancel_at = load->end() + sc.load.drain;
    bool cancelled = false;
    run();
    for (;;) {
      auto& sch = clock.schedule();
      auto now = clock.now() - t0;
      if (now >= end && load->finished())
        break;
      if (!cancelled && now >= cancel_at) {
        load->cancel_all();
        cancelled = true;
        run();
        continue;
      }
      if (sch.empty()) {
        if (now < end) {
          clock.current_time = t0 + end;  // nothing left to happen before the end
          continue;
        }
        load->cancel_all();
        run();
        break;
      }
      auto next = sch.begin()->first - t0;
      if (next > end && load->finished())
        break;
      if (next > cancel_at && !cancelled) {
        clock.current_time = t0 + cancel_at;
        continue;
      }
      clock.trigger_timeout();
      run();
    }
    out.figures.simulated = clock.now() - t0;
    ch->close();
    run();
    auto st = ch->stats();
    out.trace = rec->take();
    out.error = load->cap_error();
    out.figures = [&] {
      auto f = figures_of(out.trace);
      f.simulated = clock.now() - t0;
      f.retries = st.retries;
      f.hedges = st.hedges;
      f.transparent_retries = st.transparent_retries;
      return f;
    }();
    resolver.reset();
    sim.reset();
    run();
  }
  if (!out.error)
    out.verdicts = evaluate(sc, out.trace, out.figures);
  out.figures.wall = std::chrono::steady_clock::now() - wall0;
  return out;
}

}  // namespace achan::scenario
