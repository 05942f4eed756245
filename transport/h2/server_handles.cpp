// The responder and server_writer that server handlers answer through: each hops to
// its connection's strand (h2_server_connection, server_calls.cpp) to answer.
#include <asio/dispatch.hpp>

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

bool server_writer::write(std::string message, sent_fn sent) const {
  if (!p_ || p_->done.load())
    return false;
  auto c = p_->conn.lock();
  if (!c)
    return false;
  auto size = message.size();
  p_->buffered.fetch_add(size, std::memory_order_relaxed);
  // dispatch, like finish(): calls from one thread stay in order, inline on the strand.
  asio::dispatch(c->socket_executor(), [c, id = p_->stream_id, message = std::move(message),
                                        sent = std::move(sent), size]() mutable {
    c->write_message(id, std::move(message), std::move(sent), size);
  });
  return true;
}

void server_writer::pause_requests(bool paused) const {
  if (!p_ || p_->done.load())
    return;
  p_->requests_paused.store(paused, std::memory_order_release);
  if (auto c = p_->conn.lock())
    asio::dispatch(c->socket_executor(),
                   [c, id = p_->stream_id] { c->apply_request_flow(id); });  // (reads the latest)
}

bool server_writer::send_headers(metadata md) const {
  if (!p_ || p_->done.load())
    return false;
  auto c = p_->conn.lock();
  if (!c)
    return false;
  asio::dispatch(c->socket_executor(), [c, id = p_->stream_id, md = std::move(md)]() mutable {
    c->send_headers(id, std::move(md));
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

std::size_t server_writer::buffered() const noexcept {
  return done() ? 0 : p_->buffered.load(std::memory_order_relaxed);
}

}  // namespace achan::transport
