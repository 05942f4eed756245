// The parts both runners share: see run_common.hpp.
#include "testkit/scenario/run_common.hpp"

#include <achan/errors.hpp>

#include <cmath>

namespace achan::scenario::detail {

std::uint64_t rng::next() noexcept {
  std::uint64_t z = (state += 0x9e3779b97f4a7c15ULL);
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  return z ^ (z >> 31);
}

double rng::uniform() noexcept {
  return static_cast<double>(next() >> 11) * 0x1.0p-53;
}

std::uint64_t mix(std::uint64_t seed, std::uint64_t stream) noexcept {
  rng r{seed ^ (stream * 0xd6e8feb86659fd93ULL)};
  return r.next();
}

duration draw(const latency_dist& d, rng& r) {
  auto a = static_cast<double>(d.a.count());
  double ns = a;
  switch (d.kind) {
    case latency_dist::shape::fixed:
      return d.a;
    case latency_dist::shape::uniform:
      ns = a + r.uniform() * static_cast<double>((d.b - d.a).count());
      break;
    case latency_dist::shape::normal:
    case latency_dist::shape::lognormal: {
      double u1 = 1.0 - r.uniform();  // (0, 1]
      double u2 = r.uniform();
      double z = std::sqrt(-2.0 * std::log(u1)) * std::cos(6.283185307179586 * u2);
      ns = d.kind == latency_dist::shape::normal ? a + z * static_cast<double>(d.b.count())
                                                 : a * std::exp(d.sigma * z);
      break;
    }
    case latency_dist::shape::exponential:
      ns = -a * std::log(1.0 - r.uniform());
      break;
  }
  if (!(ns > 0))
    return duration::zero();
  return duration{static_cast<std::int64_t>(std::min(ns, 3600e9))};
}

recorder::recorder(const scenario& sc, transport::executor_ptr ex)
    : ex_(std::move(ex)), t0_(ex_->now()) {
  tr_.instances = sc.instances();
}

void recorder::map_address(const std::string& address, std::int32_t index) {
  std::lock_guard lk{mx_};
  by_address_[address] = index;
}

std::int32_t recorder::index_of(const std::string& address) const {
  std::lock_guard lk{mx_};
  auto i = by_address_.find(address);
  return i == by_address_.end() ? -1 : i->second;
}

duration recorder::now() const {
  return ex_->now() - t0_;
}

void recorder::add(trace_event e) {
  std::lock_guard lk{mx_};
  tr_.events.push_back(e);
}

void recorder::add_text(trace_event e, std::string_view text) {
  std::lock_guard lk{mx_};
  e.text = tr_.intern(text);
  tr_.events.push_back(e);
}

void recorder::call_end(std::uint64_t id, duration started, const call_result& r) {
  trace_event e;
  e.what = trace_event::kind::call_end;
  e.t = now();
  e.call = id;
  e.backend = r.peer.empty() ? -1 : index_of(r.peer);
  e.code = r.status.code;
  e.latency = e.t - started;
  if (r.status.ok())
    add(e);
  else
    add_text(e, r.status.message);
}

channel_observer recorder::observer() {
  return [self = shared_from_this()](const channel_event& ev) { self->observe(ev); };
}

void recorder::observe(const channel_event& ev) {
  {
    trace_event e;
    e.t = now();
    switch (ev.what) {
      case channel_event::kind::subchannel_state:
        e.what = trace_event::kind::subchannel_state;
        e.backend = index_of(ev.address);
        e.from = ev.from;
        e.to = ev.to;
        return add_text(e, ev.reason);
      case channel_event::kind::resolver_update: {
        e.what = trace_event::kind::resolver_update;
        std::string names;
        for (const auto& a : ev.addresses) {
          auto i = index_of(a);
          names += (names.empty() ? "" : ",") +
                   (i >= 0 ? tr_.instances[static_cast<std::size_t>(i)] : a);
        }
        return add_text(e, names.empty() ? "(none)" : names);
      }
      case channel_event::kind::resolver_error:
        e.what = trace_event::kind::resolver_update;
        return add_text(e, "error: " + ev.reason);
      case channel_event::kind::service_config:
        e.what = trace_event::kind::service_config;
        return add_text(e, ev.reason.empty() ? "{}" : ev.reason);
    }
  };
}

trace recorder::take() {
  std::lock_guard lk{mx_};
  return std::move(tr_);
}

dial_options options_for(const scenario& sc, std::uint64_t seed) {
  dial_options o;
  const auto& c = sc.channel;
  o.lb_policy = c.policy;
  if (!c.policy_config.empty())
    o.lb_policy_config = c.policy_config;
  if (!c.service_config.empty())
    o.service_config = c.service_config;
  if (c.wait_for_ready)
    o.wait_for_ready = *c.wait_for_ready;
  if (c.backoff_base)
    o.backoff.initial = *c.backoff_base;
  if (c.backoff_max)
    o.backoff.max = *c.backoff_max;
  if (c.connect_timeout)
    o.backoff.min_connect_timeout = *c.connect_timeout;
  o.seed = mix(seed, 0xC4A7);
  o.idle_timeout = duration::zero();  // a scenario's channel never idles out mid-run
  return o;
}

std::string echo_request(std::size_t n) {
  std::string out;
  if (n == 0)
    return out;
  out.push_back('\x0a');  // field 1 (payload), length-delimited
  std::size_t len = n;
  while (len >= 0x80) {
    out.push_back(static_cast<char>((len & 0x7f) | 0x80));
    len >>= 7;
  }
  out.push_back(static_cast<char>(len));
  out.append(n, 'x');
  return out;
}

std::string describe(const event& e) {
  static const char* names[] = {"kill",         "restart",  "pause",  "resume",
                                "partition",    "heal",     "goaway", "add_toxic",
                                "remove_toxic", "resolver", "health", "set"};
  std::string s = names[static_cast<int>(e.what)];
  s += " ";
  for (std::size_t i = 0; i < e.instances.size(); ++i)
    s += (i ? "," : "") + e.instances[i];
  if (e.what == event::kind::resolver && e.instances.empty())
    s += "(none)";
  if (e.what == event::kind::add_toxic)
    s += " " + e.toxic.type + " " + e.toxic.name;
  if (e.what == event::kind::remove_toxic)
    s += " " + e.toxic.name;
  if (e.what == event::kind::health)
    s += e.serving ? " SERVING" : " NOT_SERVING";
  if (e.what == event::kind::set) {
    if (e.error_rate)
      s += " error_rate=" + std::to_string(*e.error_rate);
    if (e.latency)
      s += " latency";
  }
  return s;
}

void schedule_timeline(const scenario& sc, const transport::executor_ptr& ex,
                       std::shared_ptr<recorder> rec, std::function<void(const event&)> apply) {
  auto fn = std::make_shared<std::function<void(const event&)>>(std::move(apply));
  for (const auto& e : sc.timeline) {
    auto left = e.at - rec->now();
    ex->post(left > duration::zero() ? left : duration::zero(), [rec, e, fn] {
      trace_event t;
      t.what = trace_event::kind::timeline;
      t.t = rec->now();
      rec->add_text(t, describe(e));
      (*fn)(e);
    });
  }
}

result<channel> dial_channel(caf::actor_system& sys, const scenario& sc, dial_options opts,
                             const std::vector<std::string>& initial, manual_resolver& resolver,
                             const std::shared_ptr<recorder>& rec) {
  bool manual = sc.channel.target == channel_spec::target_form::manual;
  std::string target = "manual:///backends";
  if (!manual) {
    target = "ipv4:";
    for (const auto& a : initial)
      target += (target.size() > 5 ? "," : "") + a;
  }
  auto ch = dial(sys, target, std::move(opts));
  if (!ch)
    return status{status_code::invalid_argument, "dial: " + to_string_with_message(ch.error())};
  ch->subscribe([rec](const state_change& c) {
    if (c.from == c.to)
      return;
    trace_event e;
    e.what = trace_event::kind::channel_state;
    e.t = rec->now();
    e.from = c.from;
    e.to = c.to;
    rec->add(e);
  });
  if (manual)
    resolver.update(initial);
  ch->connect();
  return std::move(*ch);
}

}  // namespace achan::scenario::detail
