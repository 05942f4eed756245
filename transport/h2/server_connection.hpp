#pragma once
/// One accepted HTTP/2 connection of an h2_server: an nghttp2 server session on an
/// asio strand. Requests are validated (POST, application/grpc, known method, exactly
/// one message within the size limit), handed to the method's handler, and answered
/// with response headers, the message and trailers (or trailers-only for errors).
#include <asio/ip/tcp.hpp>

#include <array>
#include <memory>
#include <string>
#include <unordered_map>

#include "transport/h2/server.hpp"

struct nghttp2_session;

namespace achan::transport {

struct server_stream;

/// Shared between a responder and the connection; `done` makes answering exactly-once.
struct pending_response {
  std::weak_ptr<h2_server_connection> conn;
  std::int32_t stream_id = 0;
  std::atomic<bool> done{false};
};

class h2_server_connection final : public std::enable_shared_from_this<h2_server_connection> {
 public:
  h2_server_connection(h2_server& server, asio::ip::tcp::socket socket);
  ~h2_server_connection();

  /// Sends SETTINGS and starts reading.
  void start();
  /// GOAWAY: finish the streams already received, then close. Thread-safe.
  void go_away();
  /// Closes now; unanswered calls are dropped (their clients see the connection go).
  void close_now();
  /// The executor (a strand) everything of this connection runs on.
  asio::any_io_executor socket_executor() { return socket_.get_executor(); }
  /// Answers stream `id` (posted by responders; runs on the strand).
  void respond(std::int32_t id, status st, std::string payload, metadata trailers);

 private:
  friend struct h2_server_callbacks;
  void read();
  void flush();
  void dispatch(server_stream& s);
  void send_trailers_only(server_stream& s, const status& st);
  void end(std::int32_t id);
  void close();

  h2_server& server_;
  asio::ip::tcp::socket socket_;  // accepted on its own strand: its executor serialises us
  std::string peer_;
  nghttp2_session* session_ = nullptr;
  std::array<std::uint8_t, 64 * 1024> read_buf_{};
  std::string write_buf_;
  bool writing_ = false;
  bool draining_ = false;
  bool closed_ = false;
  std::unordered_map<std::int32_t, std::unique_ptr<server_stream>> streams_;
};

}  // namespace achan::transport
