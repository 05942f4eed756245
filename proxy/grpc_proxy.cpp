// grpc_proxy: the server (a generic service for every method), one channel per route,
// a timer thread for fault delays, and the routes' counters.
#include <achan/grpc_proxy.hpp>

#include <algorithm>
#include <set>
#include <thread>

#include <asio/executor_work_guard.hpp>

#include <achan/target.hpp>

#include "proxy/faults.hpp"
#include "proxy/forward.hpp"
#include "proxy/route_state.hpp"

namespace achan::proxy {

struct grpc_proxy::impl {
  proxy_options opts;
  std::vector<std::shared_ptr<route_state>> routes;  // longest prefix first
  std::vector<std::shared_ptr<route_state>> in_order;
  asio::io_context timers;
  asio::executor_work_guard<asio::io_context::executor_type> work{timers.get_executor()};
  std::thread timer_thread;
  std::unique_ptr<transport::h2_server> server;
  std::uint16_t port = 0;
  bool stopped = false;

  std::shared_ptr<route_state> find(const std::string& name) const {
    for (auto& r : in_order)
      if (r->cfg.name == name)
        return r;
    return nullptr;
  }
  std::shared_ptr<route_state> match(const std::string& method) const {
    for (auto& r : routes)
      if (method.compare(0, r->cfg.prefix.size(), r->cfg.prefix) == 0)
        return r;
    return nullptr;
  }

  void stop(std::chrono::milliseconds grace) {
    if (stopped)
      return;
    stopped = true;
    if (server)
      server->shutdown(grace);  // clients' calls finish (or end UNAVAILABLE after grace)
    for (auto& r : in_order)
      if (r->ch)
        r->ch->close();
    work.reset();
    timers.stop();  // pending fault delays are dropped with their calls' connections
    if (timer_thread.joinable())
      timer_thread.join();
  }
};

namespace {

status check(const proxy_options& o) {
  if (o.routes.empty())
    return {status_code::invalid_argument, "the proxy needs at least one route"};
  std::set<std::string> names, prefixes;
  for (auto& r : o.routes) {
    std::string where = "route '" + r.name + "'";
    if (r.name.empty())
      return {status_code::invalid_argument, "a route needs a name"};
    if (!names.insert(r.name).second)
      return {status_code::invalid_argument, where + ": the name is used twice"};
    if (!prefixes.insert(r.prefix).second)
      return {status_code::invalid_argument,
              where + ": prefix '" + r.prefix + "' is used by another route"};
    if (!r.prefix.empty() && r.prefix[0] != '/')
      return {status_code::invalid_argument,
              where + ": prefix '" + r.prefix + "' must start with '/' (or be empty)"};
    if (r.target.empty())
      return {status_code::invalid_argument, where + ": no target"};
    for (auto& f : r.faults)
      if (auto st = validate(f); !st.ok())
        return {status_code::invalid_argument, where + ": " + st.message};
  }
  if (o.stream_buffer == 0)
    return {status_code::invalid_argument, "stream_buffer must be at least 1 byte"};
  return {};
}

}  // namespace

grpc_proxy::grpc_proxy(std::unique_ptr<impl> i) : impl_(std::move(i)) {}

grpc_proxy::~grpc_proxy() {
  impl_->stop(std::chrono::seconds(2));
}

result<std::unique_ptr<grpc_proxy>> grpc_proxy::start(caf::actor_system& sys, proxy_options opts,
                                                      const std::string& host, std::uint16_t port) {
  if (auto st = check(opts); !st.ok())
    return st;
  auto i = std::make_unique<impl>();
  for (auto& rc : opts.routes) {
    auto r = std::make_shared<route_state>(rc);
    auto ch = dial(sys, rc.target, rc.dial);
    if (!ch)
      return status{status_code::invalid_argument,
                    "route '" + rc.name + "': " + caf::to_string(ch.error())};
    r->ch.emplace(std::move(*ch));
    if (opts.log)
      r->ch->subscribe([log = opts.log, name = rc.name](const state_change& c) {
        if (c.from != c.to)
          log("route " + name + " " + std::string{to_string(c.from)} + " -> " +
              std::string{to_string(c.to)});
      });
    i->in_order.push_back(r);
  }
  i->routes = i->in_order;
  std::stable_sort(i->routes.begin(), i->routes.end(), [](const auto& a, const auto& b) {
    return a->cfg.prefix.size() > b->cfg.prefix.size();
  });
  i->opts = std::move(opts);
  auto& o = i->opts;
  i->server = std::make_unique<transport::h2_server>(o.server);
  forward_context ctx{&i->timers, o.stream_buffer, o.add_via ? o.via_name : std::string{}, o.seed};
  i->server->set_fallback(
      [p = i.get(), ctx](transport::server_call_info info, transport::server_writer out) {
        auto route = p->match(info.method);
        if (!route) {
          out.finish({status_code::unimplemented, "achan proxy: no route for " + info.method});
          return transport::stream_reader{};
        }
        return forward(ctx, std::move(route), std::move(info), std::move(out));
      });
  i->timer_thread = std::thread{[t = &i->timers] { t->run(); }};
  auto bound = i->server->listen(host, port);
  if (!bound.ok()) {
    i->stop(std::chrono::milliseconds{0});
    return bound.error();
  }
  i->port = *bound;
  return std::make_unique<grpc_proxy>(std::move(i));
}

std::uint16_t grpc_proxy::port() const noexcept {
  return impl_->port;
}

std::vector<route_stats> grpc_proxy::stats() const {
  std::vector<route_stats> out;
  for (auto& r : impl_->in_order)
    out.push_back(r->snapshot());
  return out;
}

result<std::vector<fault_rule>> grpc_proxy::faults(const std::string& name) const {
  auto r = impl_->find(name);
  if (!r)
    return status{status_code::not_found, "no route named '" + name + "'"};
  bool headers = false;
  return *r->current_faults(headers);
}

status grpc_proxy::set_faults(const std::string& name, std::vector<fault_rule> rules,
                              std::optional<bool> fault_headers) {
  auto r = impl_->find(name);
  if (!r)
    return {status_code::not_found, "no route named '" + name + "'"};
  for (auto& f : rules)
    if (auto st = validate(f); !st.ok())
      return st;
  r->replace_faults(std::move(rules), fault_headers);
  return {};
}

std::vector<route_config> grpc_proxy::routes() const {
  std::vector<route_config> out;
  for (auto& r : impl_->in_order) {
    out.push_back(r->cfg);
    bool headers = false;
    out.back().faults = *r->current_faults(headers);
    out.back().fault_headers = headers;
  }
  return out;
}

void grpc_proxy::shutdown(std::chrono::milliseconds grace) {
  impl_->stop(grace);
}

}  // namespace achan::proxy
