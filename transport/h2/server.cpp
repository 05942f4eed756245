#include <achan/server.hpp>

#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <algorithm>
#include <cerrno>

#include "transport/h2/io_pool.hpp"
#include "transport/h2/server_connection.hpp"
#include "transport/tls/context.hpp"

namespace achan::transport {

struct h2_server::acceptor_state {
  explicit acceptor_state(asio::io_context& io)
      : acceptor(asio::make_strand(io)), retry(acceptor.get_executor()) {}
  asio::ip::tcp::acceptor acceptor;
  asio::steady_timer retry;  // waits out a resource shortage (EMFILE, ENFILE, ...)
  std::chrono::milliseconds backoff{0};
  std::error_code reported;  // the accept error last logged, until accepting works again
};

h2_server::h2_server(server_options opts)
    : opts_(opts), pool_(std::make_unique<io_pool>(opts.io_threads)) {}

h2_server::~h2_server() {
  shutdown(std::chrono::milliseconds(0));
}

void h2_server::add_unary(std::string method, unary_handler h) {
  methods_[std::move(method)] = method_entry{std::move(h), {}, {}};
}

void h2_server::add_server_stream(std::string method, server_stream_handler h) {
  methods_[std::move(method)] = method_entry{{}, std::move(h), {}};
}

void h2_server::add_streaming(std::string method, streaming_handler h) {
  methods_[std::move(method)] = method_entry{{}, {}, std::move(h)};
}

void h2_server::set_fallback(streaming_handler h) {
  fallback_ = std::move(h);
}

status h2_server::reload_tls(const server_tls& tls) {
  if (!opts_.tls)
    return {status_code::failed_precondition,
            "this server was created without TLS: its ports stay plaintext"};
  auto built = tls::context::server(tls);
  if (!built)
    return built.error();
  std::lock_guard lk{mx_};
  tls_ = *built;
  return {};
}

listen_result h2_server::listen(const std::string& host, std::uint16_t port) {
  if (opts_.tls && !tls_context())
    if (auto ok = reload_tls(*opts_.tls); !ok.ok())
      return ok;
  std::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    return status{status_code::invalid_argument,
                  "invalid listen address '" + host + "': " + ec.message()};
  auto a = std::make_shared<acceptor_state>(pool_->context());
  asio::ip::tcp::endpoint ep{addr, port};
  a->acceptor.open(ep.protocol(), ec);
  if (!ec)
    a->acceptor.set_option(asio::socket_base::reuse_address(true), ec);
  if (!ec)
    a->acceptor.bind(ep, ec);
  if (!ec)
    a->acceptor.listen(asio::socket_base::max_listen_connections, ec);
  if (ec)
    return status{status_code::unavailable,
                  "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  auto bound = a->acceptor.local_endpoint().port();
  {
    std::lock_guard lk{mx_};
    acceptors_.push_back(a);
  }
  accept(a);
  return bound;
}

void h2_server::accept(const std::shared_ptr<acceptor_state>& a) {
  a->acceptor.async_accept(asio::make_strand(pool_->context()),
                           [this, a](const std::error_code& ec, asio::ip::tcp::socket sock) {
                             if (stopping_ || ec == asio::error::operation_aborted)
                               return;  // closed by shutdown()
                             if (ec) {
                               accept_failed(a, ec);
                               return;
                             }
                             if (a->reported) {
                               log("accepting connections again after: " + a->reported.message());
                               a->reported.clear();
                             }
                             a->backoff = std::chrono::milliseconds{0};
                             auto c = std::make_shared<h2_server_connection>(*this, std::move(sock),
                                                                             tls_context());
                             {
                               std::lock_guard lk{mx_};
                               connections_.emplace(c.get(), c);
                             }
                             c->start();
                             accept(a);
                           });
}

// The accept loop survives every error. Running out of descriptors or memory (EMFILE,
// ENFILE, ENOBUFS, ENOMEM) leaves the pending connection in the backlog, so retrying at
// once would spin: wait 10 ms, doubling to 1 s, until accepting works again. Other errors
// (a client that reset before accept, ECONNABORTED, ...) concern one connection only.
void h2_server::accept_failed(const std::shared_ptr<acceptor_state>& a, const std::error_code& ec) {
  if (ec != a->reported) {
    log("accept failed: " + ec.message() + " (retrying)");
    a->reported = ec;
  }
  // (errno values, not std::errc conditions: comparing with a condition makes a virtual
  // call on generic_category, which UBSan cannot check while no descriptor is free.)
  auto v = ec.value();
  bool shortage = ec.category() == asio::system_category() &&
                  (v == EMFILE || v == ENFILE || v == ENOBUFS || v == ENOMEM);
  if (!shortage) {
    accept(a);
    return;
  }
  a->backoff =
      std::clamp(a->backoff * 2, std::chrono::milliseconds{10}, std::chrono::milliseconds{1000});
  a->retry.expires_after(a->backoff);
  a->retry.async_wait([this, a](const std::error_code& e) {
    if (!e && !stopping_)
      accept(a);
  });
}

void h2_server::connection_closed(h2_server_connection* c) {
  std::lock_guard lk{mx_};
  connections_.erase(c);
  cv_.notify_all();
}

void h2_server::shutdown(std::chrono::milliseconds grace) {
  std::vector<std::shared_ptr<h2_server_connection>> open;
  {
    std::lock_guard lk{mx_};
    if (shut_down_)
      return;
    shut_down_ = true;
    stopping_ = true;
    for (auto& a : acceptors_)
      asio::post(a->acceptor.get_executor(), [a] {
        std::error_code ignored;
        a->acceptor.close(ignored);
        a->retry.cancel();
      });
    for (auto& [p, w] : connections_)
      if (auto c = w.lock())
        open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->go_away();
  open.clear();
  {
    std::unique_lock lk{mx_};
    cv_.wait_for(lk, grace, [&] { return connections_.empty(); });
    for (auto& [p, w] : connections_)
      if (auto c = w.lock())
        open.push_back(std::move(c));
  }
  for (auto& c : open)
    c->close_now();
  open.clear();
  {
    std::unique_lock lk{mx_};
    cv_.wait_for(lk, std::chrono::seconds(5), [&] { return connections_.empty(); });
  }
  {
    // I/O objects must go before the io_context that owns their services.
    std::lock_guard lk{mx_};
    acceptors_.clear();
  }
  pool_.reset();  // joins the I/O threads; nothing of ours runs after this
}

}  // namespace achan::transport
