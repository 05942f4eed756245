#include "transport/h2/server.hpp"

#include <asio/dispatch.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/post.hpp>
#include <asio/strand.hpp>

#include "transport/h2/io_pool.hpp"
#include "transport/h2/server_connection.hpp"

namespace achan::transport {

void responder::reply(std::string payload, metadata trailers) const {
  if (!p_ || p_->done.exchange(true))
    return;
  // dispatch: a handler answering inline (on the connection's strand, inside its
  // nghttp2 callbacks) responds at once instead of queueing a hop; respond() only
  // submits, and the connection flushes after nghttp2 returns.
  if (auto c = p_->conn.lock())
    asio::dispatch(c->socket_executor(), [c, id = p_->stream_id, payload = std::move(payload),
                                          trailers = std::move(trailers)]() mutable {
      c->respond(id, {}, std::move(payload), std::move(trailers));
    });
}

void responder::fail(status st, metadata trailers) const {
  if (!p_ || p_->done.exchange(true))
    return;
  if (st.ok())
    st = {status_code::unknown, "handler failed with an OK status"};
  if (auto c = p_->conn.lock())
    asio::dispatch(c->socket_executor(), [c, id = p_->stream_id, st = std::move(st),
                                          trailers = std::move(trailers)]() mutable {
      c->respond(id, std::move(st), {}, std::move(trailers));
    });
}

bool responder::done() const noexcept {
  return !p_ || p_->done.load();
}

struct h2_server::acceptor_state {
  explicit acceptor_state(asio::io_context& io) : acceptor(asio::make_strand(io)) {}
  asio::ip::tcp::acceptor acceptor;
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

bool server_writer::write(std::string message) const {
  if (!p_ || p_->done.load())
    return false;
  auto c = p_->conn.lock();
  if (!c)
    return false;
  // dispatch, like finish(): calls from one thread stay in order, inline on the strand.
  asio::dispatch(c->socket_executor(),
                 [c, id = p_->stream_id, message = std::move(message)]() mutable {
                   c->write_message(id, std::move(message));
                 });
  return true;
}

void server_writer::finish(status st, metadata trailers) const {
  if (!p_ || p_->done.exchange(true))
    return;
  if (auto c = p_->conn.lock())
    asio::dispatch(c->socket_executor(), [c, id = p_->stream_id, st = std::move(st),
                                          trailers = std::move(trailers)]() mutable {
      c->finish_call(id, std::move(st), std::move(trailers));
    });
}

bool server_writer::done() const noexcept {
  return !p_ || p_->done.load();
}

listen_result h2_server::listen(const std::string& host, std::uint16_t port) {
  std::error_code ec;
  auto addr = asio::ip::make_address(host, ec);
  if (ec)
    return {0, "invalid listen address '" + host + "': " + ec.message()};
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
    return {0, "cannot listen on " + host + ":" + std::to_string(port) + ": " + ec.message()};
  auto bound = a->acceptor.local_endpoint().port();
  {
    std::lock_guard lk{mx_};
    acceptors_.push_back(a);
  }
  accept(a);
  return {bound, {}};
}

void h2_server::accept(const std::shared_ptr<acceptor_state>& a) {
  a->acceptor.async_accept(asio::make_strand(pool_->context()),
                           [this, a](const std::error_code& ec, asio::ip::tcp::socket sock) {
                             if (ec || stopping_)
                               return;  // closed by shutdown()
                             auto c =
                                 std::make_shared<h2_server_connection>(*this, std::move(sock));
                             {
                               std::lock_guard lk{mx_};
                               connections_.emplace(c.get(), c);
                             }
                             c->start();
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
