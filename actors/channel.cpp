#include <achan/channel.hpp>

#include <random>

#include <caf/actor_cast.hpp>
#include <caf/actor_system.hpp>
#include <caf/send.hpp>

#include <achan/h2_transport.hpp>
#include <achan/request_stream.hpp>
#include "actors/channel_actor.hpp"
#include "actors/state/state_manager.hpp"
#include "actors/support/scheduler_thread.hpp"

namespace achan {

struct channel::impl {
  caf::actor_system& sys;
  achan::target tgt;
  bool wait_for_ready = false;
  channel_control actor;
  state_manager_actor states;
  std::shared_ptr<std::atomic<connectivity_state>> mirror;
  std::shared_ptr<channel_shared> shared;

  ~impl() { caf::anon_send(actor, channel_close{}); }
};

void call_handle::cancel() {
  if (c_ && c_->fail(status_code::cancelled, "call cancelled by the client"))
    caf::anon_send(caf::actor_cast<channel_control>(ch_), cancel_call{c_});
}

connectivity_state channel::state() const noexcept {
  return impl_->mirror->load(std::memory_order_acquire);
}

void channel::connect() {
  caf::anon_send(impl_->actor, channel_connect{});
}

void channel::wait_for_state_change(connectivity_state from, time_point deadline,
                                    std::function<void(bool)> done) {
  caf::anon_send(impl_->states, wait_for_change{from, deadline, std::move(done)});
}

std::future<bool> channel::wait_for_state_change(connectivity_state from, clock_duration timeout) {
  auto p = std::make_shared<std::promise<bool>>();
  auto f = p->get_future();
  wait_for_state_change(from, now() + timeout, [p](bool changed) { p->set_value(changed); });
  return f;
}

void channel::subscribe(std::function<void(const state_change&)> fn) {
  caf::anon_send(impl_->states, achan::subscribe{std::move(fn)});
}

call_handle channel::call(std::string method, std::string payload, call_options opts,
                          std::function<void(call_result&&)> done) {
  auto& shared = impl_->shared;
  if (shared->closed.load(std::memory_order_acquire)) {
    done(call_result{{status_code::cancelled, "channel closed"}, {}, {}, {}});
    return {};
  }
  auto c = make_call(shared, now(), std::move(method), std::move(payload), std::move(opts),
                     impl_->wait_for_ready, std::move(done));
  submit_call(*shared, impl_->actor, c, now());
  return call_handle{std::move(c), caf::actor_cast<caf::actor>(impl_->actor)};
}

call_handle channel::server_stream(std::string method, std::string request, call_options opts,
                                   std::function<void(std::string&&)> on_message,
                                   std::function<void(call_result&&)> done) {
  auto& shared = impl_->shared;
  if (shared->closed.load(std::memory_order_acquire)) {
    done(call_result{{status_code::cancelled, "channel closed"}, {}, {}, {}});
    return {};
  }
  auto c = make_call(shared, now(), std::move(method), std::move(request), std::move(opts),
                     impl_->wait_for_ready, std::move(done));
  c->on_message = std::move(on_message);
  submit_call(*shared, impl_->actor, c, now());
  return call_handle{std::move(c), caf::actor_cast<caf::actor>(impl_->actor)};
}

stream_call channel::client_stream(std::string method, call_options opts,
                                   std::function<void(call_result&&)> done) {
  return bidi_stream(std::move(method), std::move(opts), nullptr, std::move(done));
}

stream_call channel::bidi_stream(std::string method, call_options opts,
                                 std::function<void(std::string&&)> on_message,
                                 std::function<void(call_result&&)> done) {
  auto& shared = impl_->shared;
  auto c = make_call(shared, now(), std::move(method), {}, std::move(opts), impl_->wait_for_ready,
                     std::move(done));
  c->requests = std::make_shared<transport::request_stream>();
  c->on_message = std::move(on_message);
  if (shared->closed.load(std::memory_order_acquire))
    c->fail(status_code::cancelled, "channel closed");
  else
    submit_call(*shared, impl_->actor, c, now());
  return stream_call{std::move(c), caf::actor_cast<caf::actor>(impl_->actor)};
}

bool stream_call::write(std::string message, std::function<void(bool)> sent) {
  return c_ && !c_->finished() && c_->requests->write(std::move(message), std::move(sent));
}

std::size_t stream_call::buffered() const {
  return c_ ? c_->requests->buffered() : 0;
}

void stream_call::writes_done() {
  if (c_)
    c_->requests->close();
}

void stream_call::pause_responses(bool paused) {
  if (!c_)
    return;
  if (auto conn = c_->set_responses_paused(paused))
    conn->flow_changed(c_->id());
}

void stream_call::cancel() {
  handle_.cancel();
  if (c_)
    c_->requests->close();
}

std::future<call_result> channel::call(std::string method, std::string payload, call_options opts) {
  auto p = std::make_shared<std::promise<call_result>>();
  auto f = p->get_future();
  call(std::move(method), std::move(payload), std::move(opts),
       [p](call_result&& r) { p->set_value(std::move(r)); });
  return f;
}

void channel::close() {
  impl_->shared->closed.store(true, std::memory_order_release);
  caf::anon_send(impl_->actor, channel_close{});
}

channel_actor channel::actor() const {
  return caf::actor_cast<channel_actor>(impl_->actor);  // the user interface only
}

const achan::target& channel::target() const noexcept {
  return impl_->tgt;
}

channel_stats channel::stats() const noexcept {
  auto& a = impl_->shared->attempts;
  channel_stats s;
  for (std::size_t i = 0; i < s.attempts_by_code.size(); ++i)
    s.attempts_by_code[i] = a.by_code[i].load(std::memory_order_relaxed);
  s.retries = a.retries.load(std::memory_order_relaxed);
  s.hedges = a.hedges.load(std::memory_order_relaxed);
  s.transparent_retries = a.transparent.load(std::memory_order_relaxed);
  return s;
}

time_point channel::now() const noexcept {
  return impl_->sys.clock().now();
}

namespace {

/// See dial_options::authority.
std::string default_authority(const target& t, const dial_options& opts) {
  if (opts.authority)
    return *opts.authority;
  if (t.scheme == "dns" || t.scheme == "passthrough")
    return t.endpoint;
  if (t.scheme == "unix" || t.scheme == "unix-abstract")
    return "localhost";
  return {};
}

/// The host of an authority ("svc.local:50051" -> "svc.local", "[::1]:443" -> "::1").
std::string authority_host(const std::string& authority) {
  if (!authority.empty() && authority.front() == '[') {
    auto end = authority.find(']');
    return end == std::string::npos ? authority : authority.substr(1, end - 1);
  }
  auto colon = authority.rfind(':');
  if (colon != std::string::npos && authority.find(':') == colon)
    return authority.substr(0, colon);
  return authority;  // no port, or a bare IPv6 address
}

/// The channel's own transport with dial_options::tls: the server name defaults to the
/// channel's authority (without port) when it has one.
caf::expected<transport::transport_ptr> tls_transport(const dial_options& opts,
                                                      const std::string& authority) {
  if (opts.transport)
    return make_error(errc::invalid_option,
                      "dial_options::tls applies to the channel's own transport: with a "
                      "transport of your own, set h2_options::tls on it instead");
  transport::h2_options h;
  h.tls = *opts.tls;
  if (h.tls->server_name.empty())
    h.tls->server_name = authority_host(authority);
  if (auto ok = transport::validate(h); !ok.ok())
    return make_error(errc::invalid_option, ok.message);
  return transport::make_h2_transport(std::move(h));
}

caf::expected<channel> wait_until_ready(channel ch, clock_duration limit) {
  auto deadline = ch.now() + limit;
  ch.connect();
  for (;;) {
    auto s = ch.state();
    if (s == connectivity_state::ready)
      return ch;
    if (s == connectivity_state::shutdown)
      return make_error(errc::channel_closed, "channel closed while dialing");
    auto left = deadline - ch.now();
    if (left <= clock_duration::zero() || !ch.wait_for_state_change(s, left).get()) {
      auto last = ch.state();  // before close(), which makes it SHUTDOWN
      ch.close();
      return make_error(errc::dial_timeout, "channel to '" + ch.target().original +
                                                "' not READY within the dial deadline (last "
                                                "state " +
                                                std::string{to_string(last)} + ")");
    }
  }
}

}  // namespace

caf::expected<channel> dial(caf::actor_system& sys, std::string_view text, dial_options opts) {
  if (opts.block_until_ready && runs_actors_of(sys))
    return make_error(errc::would_deadlock,
                      "dial of '" + std::string{text} +
                          "' with block_until_ready on a thread that runs actors (called from "
                          "an actor, or under CAF's test coordinator): waiting here would stall "
                          "the actors that connect the channel; dial without "
                          "block_until_ready and watch channel::subscribe or "
                          "wait_for_state_change instead");
  auto resolvers = resolver_registry::with_builtins(opts.dns);
  for (auto& r : opts.resolvers)
    resolvers.add(r);
  auto parsed =
      parse_target(text, [&](std::string_view s) { return resolvers.find(s) != nullptr; });
  if (!parsed)
    return make_error(errc::invalid_target, parsed.error().message);
  auto builder = resolvers.find(parsed->scheme);
  if (!builder)
    return make_error(errc::invalid_target, "no resolver registered for scheme '" + parsed->scheme +
                                                "' (target '" + std::string{text} + "')");
  if (auto ok = builder->validate(*parsed); !ok)
    return make_error(errc::invalid_target, ok.error().message);
  auto policies = policy_registry::with_builtins();
  for (auto& [name, factory] : opts.policies)
    policies.add(name, factory);
  if (!policies.find(opts.lb_policy))
    return make_error(errc::unknown_policy,
                      "unknown load-balancing policy '" + opts.lb_policy + "'");
  if (auto err = policies.config_error(opts.lb_policy, opts.lb_policy_config,
                                       "dial_options::lb_policy_config");
      !err.empty())
    return make_error(errc::invalid_option, std::move(err));
  if (auto ok = validate(opts.backoff); !ok)
    return make_error(errc::invalid_option, ok.error().message);
  if (opts.idle_timeout < clock_duration::zero())
    return make_error(errc::invalid_option, "idle_timeout must not be negative");
  if (auto ok = validate(opts.dns); !ok)
    return make_error(errc::invalid_option, ok.error().message);
  if (opts.connections_per_address < 1 || opts.connections_per_address > 1000)
    return make_error(errc::invalid_option, "connections_per_address must be 1..1000, not " +
                                                std::to_string(opts.connections_per_address));
  if (opts.max_retry_attempts < 2 || opts.max_retry_attempts > 100)
    return make_error(errc::invalid_option, "max_retry_attempts must be 2..100, not " +
                                                std::to_string(opts.max_retry_attempts));
  service_config_ptr default_config;
  if (opts.service_config) {
    service_config_parse_options po;
    po.max_attempts_cap = opts.max_retry_attempts;
    po.policy_known = [&policies](std::string_view n) { return policies.find(n) != nullptr; };
    po.policy_config_error = [&policies](std::string_view n, std::string_view j,
                                         const std::string& path) {
      return policies.config_error(n, j, path);
    };
    auto sc = parse_service_config(*opts.service_config, po);
    if (!sc)
      return make_error(errc::invalid_option,
                        "dial_options::service_config: " + sc.error().message);
    default_config = std::move(*sc);
  }
  auto authority = default_authority(*parsed, opts);
  if (opts.tls) {
    auto t = tls_transport(opts, authority);
    if (!t)
      return std::move(t.error());
    opts.transport = std::move(*t);
  }
  if (!opts.transport)
    opts.transport = transport::make_h2_transport();
  bool credentials_allowed = opts.transport->secure() || opts.allow_insecure_call_credentials;
  if (opts.call_credentials && !credentials_allowed)
    return make_error(errc::invalid_option,
                      "call credentials need a TLS channel (dial_options::tls), or "
                      "allow_insecure_call_credentials to send them in plaintext");

  auto i = std::make_shared<channel::impl>(
      channel::impl{sys, *parsed, opts.wait_for_ready, {}, {}, nullptr, nullptr});
  i->mirror = std::make_shared<std::atomic<connectivity_state>>(connectivity_state::idle);
  i->shared = std::make_shared<channel_shared>();
  i->shared->authority = std::make_shared<const std::string>(std::move(authority));
  i->shared->credentials = std::move(opts.call_credentials);
  i->shared->credentials_allowed = credentials_allowed;
  i->shared->per_call_retry_buffer = opts.per_call_retry_buffer;
  i->shared->channel_retry_buffer = opts.channel_retry_buffer;
  i->shared->max_retry_attempts = opts.max_retry_attempts;
  i->shared->self = i->shared;
  i->states = spawn_state_manager(sys, i->mirror);
  channel_config cfg{*parsed,
                     std::move(builder),
                     lb_config{opts.lb_policy, opts.shuffle_address_list, opts.lb_policy_config},
                     std::move(policies),
                     std::move(opts.transport),
                     opts.backoff,
                     opts.seed.value_or(std::random_device{}()),
                     opts.idle_timeout,
                     opts.wait_for_ready,
                     i->states,
                     i->shared,
                     opts.connections_per_address,
                     std::move(opts.observer),
                     std::move(default_config),
                     !opts.disable_resolver_service_config,
                     opts.max_retry_attempts};
  i->actor = spawn_channel_actor(sys, std::move(cfg));
  channel ch{std::move(i)};
  if (opts.block_until_ready)
    return wait_until_ready(std::move(ch), *opts.block_until_ready);
  return ch;
}

}  // namespace achan
