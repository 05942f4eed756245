#include "testkit/fault_proxy/proxy.hpp"

#include <algorithm>

#include "testkit/fault_proxy/address.hpp"

namespace achan::fault::detail {

proxy::proxy(asio::io_context& io, const options& opts, proxy_config config, logger log)
    : io_(io), opts_(opts), config_(std::move(config)), log_(std::move(log)) {}

proxy::~proxy() {
  stop();
}

void proxy::log(const char* kind, const char* event, std::map<std::string, std::string> fields) {
  log_(kind, event, config_.name, std::move(fields));
}

result<void> proxy::start() {
  if (acceptor_)
    return {};
  auto hp = split_host_port(config_.listen);
  if (!hp)
    return status{status_code::invalid_argument,
                  "listen address '" + config_.listen + "' is not host:port"};
  asio::error_code ec;
  tcp::resolver resolver(io_);
  auto found = resolver.resolve(hp->host.empty() ? "0.0.0.0" : hp->host, hp->port,
                                tcp::resolver::passive | tcp::resolver::numeric_service, ec);
  if (ec || found.empty())
    return status{status_code::unavailable, "listen on " + config_.listen + ": " + ec.message()};
  auto ep = found.begin()->endpoint();
  auto a = std::make_unique<tcp::acceptor>(io_);
  a->open(ep.protocol(), ec);
  if (!ec)
    a->set_option(tcp::acceptor::reuse_address(true), ec);
  if (!ec)
    a->bind(ep, ec);
  if (!ec)
    a->listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return status{status_code::unavailable, "listen on " + config_.listen + ": " + ec.message()};
  config_.listen = format_endpoint(a->local_endpoint());
  acceptor_ = std::move(a);
  log("proxy", "listening", {{"listen", config_.listen}, {"upstream", config_.upstream}});
  accept();
  return {};
}

void proxy::stop() {
  ++accept_gen_;
  if (acceptor_) {
    asio::error_code ignored;
    acceptor_->close(ignored);
    acceptor_.reset();
    log("proxy", "stopped", {{"listen", config_.listen}});
  }
  auto open = std::move(sessions_);
  sessions_.clear();
  for (auto& [serial, s] : open)
    s->close("proxy stopped");
}

void proxy::accept() {
  acceptor_->async_accept(
      [self = shared_from_this(), this, gen = accept_gen_](auto ec, tcp::socket sock) {
        if (gen != accept_gen_ || !acceptor_)
          return;
        if (ec) {  // out of descriptors and the like: try again shortly instead of spinning
          log("connection", "accept_failed", {{"reason", ec.message()}});
          auto t = std::make_shared<asio::steady_timer>(io_, std::chrono::milliseconds{100});
          t->async_wait([self, this, t, gen](auto) {
            if (gen == accept_gen_ && acceptor_)
              accept();
          });
          return;
        }
        ++stats_->s.accepted;
        if (sessions_.size() >= opts_.max_connections) {
          ++stats_->s.rejected;
          asio::error_code ignored;
          sock.close(ignored);
          log("connection", "rejected", {{"reason", "max_connections"}});
          accept();
          return;
        }
        auto serial = next_serial_++;
        ++stats_->s.open;
        std::weak_ptr<proxy> weak = shared_from_this();
        session::context ctx{io_,
                             opts_,
                             config_.name,
                             config_.upstream,
                             stats_,
                             [weak](std::uint64_t serial) {
                               if (auto p = weak.lock())
                                 p->sessions_.erase(serial);
                             },
                             [log = log_, name = config_.name](const char* event, auto fields) {
                               log("connection", event, name, std::move(fields));
                             }};
        auto s = std::make_shared<session>(std::move(ctx), std::move(sock), serial);
        sessions_.emplace(serial, s);
        s->start(toxics_);
        accept();
      });
}

result<void> proxy::update(const proxy_update& change) {
  for (auto* a : {&change.listen, &change.upstream})
    if (*a && !split_host_port(**a))
      return status{status_code::invalid_argument, "address '" + **a + "' is not host:port"};
  auto old = config_;
  bool restart = (change.listen && *change.listen != config_.listen) ||
                 (change.upstream && *change.upstream != config_.upstream);
  if (restart)
    stop();
  if (change.listen)
    config_.listen = *change.listen;
  if (change.upstream)
    config_.upstream = *change.upstream;
  if (change.enabled)
    config_.enabled = *change.enabled;
  if (!config_.enabled) {
    stop();
    return {};
  }
  if (auto started = start(); !started) {
    config_ = old;  // back to what worked, running again if it was
    if (config_.enabled)
      (void)start();
    return started;
  }
  return {};
}

void proxy::toxics_changed() {
  std::vector<std::shared_ptr<session>> open;  // a session may close (and leave the map) here
  open.reserve(sessions_.size());
  for (auto& [serial, s] : sessions_)
    open.push_back(s);
  for (auto& s : open)
    s->toxics_changed(toxics_);
}

result<toxic> proxy::add_toxic(toxic t) {
  auto checked = validate(std::move(t));
  if (!checked)
    return checked.error();
  if (std::any_of(toxics_.begin(), toxics_.end(),
                  [&](auto& e) { return e->spec.name == checked->name; }))
    return status{status_code::already_exists, "toxic already exists"};
  if (toxics_.size() >= opts_.max_toxics)
    return status{status_code::resource_exhausted,
                  "proxy has " + std::to_string(toxics_.size()) + " toxics (max_toxics)"};
  auto e = std::make_shared<toxic_entry>();
  e->spec = std::move(*checked);
  e->first_fresh = next_serial_;
  toxics_.push_back(e);
  log("toxic", "added", {{"toxic", e->spec.name}, {"type", e->spec.type}});
  toxics_changed();
  return e->spec;
}

result<toxic> proxy::update_toxic(const std::string& name, const toxic_update& change) {
  auto it =
      std::find_if(toxics_.begin(), toxics_.end(), [&](auto& e) { return e->spec.name == name; });
  if (it == toxics_.end())
    return status{status_code::not_found, "toxic not found"};
  auto spec = (*it)->spec;
  if (change.toxicity)
    spec.toxicity = *change.toxicity;
  for (auto& [k, v] : change.attributes)
    spec.attributes[k] = v;
  auto checked = validate(std::move(spec));
  if (!checked)
    return checked.error();
  (*it)->spec = std::move(*checked);
  ++(*it)->version;
  log("toxic", "updated", {{"toxic", name}});
  toxics_changed();
  return (*it)->spec;
}

result<void> proxy::remove_toxic(const std::string& name) {
  auto it =
      std::find_if(toxics_.begin(), toxics_.end(), [&](auto& e) { return e->spec.name == name; });
  if (it == toxics_.end())
    return status{status_code::not_found, "toxic not found"};
  toxics_.erase(it);
  log("toxic", "removed", {{"toxic", name}});
  toxics_changed();
  return {};
}

void proxy::clear_toxics() {
  if (toxics_.empty())
    return;
  toxics_.clear();
  log("toxic", "cleared", {});
  toxics_changed();
}

proxy_info proxy::info() const {
  proxy_info i{config_, {}, stats_->s};
  for (auto& t : toxics_)
    i.toxics.push_back(t->spec);
  return i;
}

}  // namespace achan::fault::detail
