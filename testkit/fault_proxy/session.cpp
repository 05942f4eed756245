// One proxied connection: connect to the upstream (bounded by connect_timeout), run the
// two links, and close both sockets once (FIN, or RST for reset_peer and peer resets).
#include "testkit/fault_proxy/session.hpp"

#include <asio/connect.hpp>

#include "testkit/fault_proxy/address.hpp"

namespace achan::fault::detail {
namespace {

std::uint64_t fnv1a(const std::string& s) {
  std::uint64_t h = 0xcbf29ce484222325ULL;
  for (unsigned char c : s)
    h = (h ^ c) * 0x100000001b3ULL;
  return h;
}

}  // namespace

bool toxic_hits(const toxic_entry& t, const std::string& proxy, std::uint64_t serial,
                std::uint64_t seed) {
  if (t.spec.scope == scope::fresh && serial < t.first_fresh)
    return false;
  if (t.spec.scope == scope::established && serial >= t.first_fresh)
    return false;
  if (t.spec.toxicity >= 1.0)
    return true;
  if (t.spec.toxicity <= 0.0)
    return false;
  rng r{seed ^ fnv1a(proxy) ^ (fnv1a(t.spec.name) * 31) ^ (serial * 0x9e3779b97f4a7c15ULL)};
  r.next();
  double u = static_cast<double>(r.next() >> 11) * 0x1.0p-53;
  return u < t.spec.toxicity;
}

session::session(context ctx, tcp::socket client, std::uint64_t serial)
    : ctx_(std::move(ctx)),
      client_(std::move(client)),
      server_(ctx_.io),
      serial_(serial),
      rng_{ctx_.opts.seed ^ (serial * 0xd1b54a32d192ed03ULL)},
      up_(*this, client_, server_, stream::upstream),
      down_(*this, server_, client_, stream::downstream),
      connect_timer_(ctx_.io) {
  asio::error_code ec;
  auto ep = client_.remote_endpoint(ec);
  client_address_ = ec ? "?" : format_endpoint(ep);
}

void session::start(const toxic_list& toxics) {
  pending_ = toxics;
  auto hp = split_host_port(ctx_.upstream);
  if (!hp) {
    ++ctx_.stats->s.upstream_failures;
    close("bad upstream address '" + ctx_.upstream + "'");
    return;
  }
  connect_timer_.expires_after(ctx_.opts.connect_timeout);
  connect_timer_.async_wait([self = shared_from_this(), this](auto ec) {
    if (!ec && !started_ && !closed_) {
      ++ctx_.stats->s.upstream_failures;
      ctx_.log("upstream_failed", {{"client", client_address_},
                                   {"upstream", ctx_.upstream},
                                   {"reason", "connect timeout"}});
      close("upstream connect timeout");
    }
  });
  resolver_ = std::make_shared<tcp::resolver>(ctx_.io);
  resolver_->async_resolve(
      hp->host, hp->port, [self = shared_from_this(), this](auto ec, auto results) {
        if (closed_)
          return;
        if (ec) {
          ++ctx_.stats->s.upstream_failures;
          ctx_.log(
              "upstream_failed",
              {{"client", client_address_}, {"upstream", ctx_.upstream}, {"reason", ec.message()}});
          close("upstream resolve: " + ec.message());
          return;
        }
        asio::async_connect(server_, results, [self, this](auto ec, auto) {
          if (closed_)
            return;
          if (ec) {
            ++ctx_.stats->s.upstream_failures;
            ctx_.log("upstream_failed", {{"client", client_address_},
                                         {"upstream", ctx_.upstream},
                                         {"reason", ec.message()}});
            close("upstream connect: " + ec.message());
            return;
          }
          connected();
        });
      });
}

void session::connected() {
  started_ = true;
  connect_timer_.cancel();
  asio::error_code ignored;
  client_.set_option(tcp::no_delay(true), ignored);
  server_.set_option(tcp::no_delay(true), ignored);
  ctx_.log("opened", {{"client", client_address_},
                      {"upstream", ctx_.upstream},
                      {"serial", std::to_string(serial_)}});
  toxics_changed(pending_);
  pending_.clear();
  up_.start();
  down_.start();
}

void session::toxics_changed(const toxic_list& toxics) {
  if (closed_)
    return;
  if (!started_) {
    pending_ = toxics;
    return;
  }
  toxic_list up, down;
  for (auto& t : toxics) {
    if (!toxic_hits(*t, ctx_.proxy, serial_, ctx_.opts.seed))
      continue;
    if (t->spec.type == "partition" || t->spec.stream == stream::upstream)
      up.push_back(t);
    if (t->spec.type == "partition" || t->spec.stream == stream::downstream)
      down.push_back(t);
  }
  up_.set_toxics(up);
  down_.set_toxics(down);
}

void session::delivered(stream dir, std::size_t n) {
  if (dir == stream::upstream) {
    bytes_up_ += n;
    ctx_.stats->s.bytes_upstream += n;
  } else {
    bytes_down_ += n;
    ctx_.stats->s.bytes_downstream += n;
  }
}

void session::link_done() {
  if (up_.done() && down_.done())
    close("closed by both sides");
}

void session::close(const std::string& reason, bool reset) {
  if (closed_)
    return;
  closed_ = true;
  auto self = shared_from_this();  // the proxy may drop its reference in on_closed
  up_.stop();
  down_.stop();
  connect_timer_.cancel();
  if (resolver_)
    resolver_->cancel();
  asio::error_code ignored;
  for (auto* s : {&client_, &server_}) {
    if (!s->is_open())
      continue;
    if (reset)
      s->set_option(asio::socket_base::linger(true, 0), ignored);
    s->close(ignored);
  }
  --ctx_.stats->s.open;
  ctx_.log("closed", {{"client", client_address_},
                      {"serial", std::to_string(serial_)},
                      {"reason", reason},
                      {"reset", reset ? "true" : "false"},
                      {"bytes_upstream", std::to_string(bytes_up_)},
                      {"bytes_downstream", std::to_string(bytes_down_)}});
  ctx_.on_closed(serial_);
}

}  // namespace achan::fault::detail
