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

#include "transport/h2/deadline_timer.hpp"
#include "transport/h2/frame_cutter.hpp"
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
  /// Answers unary stream `id`: one message and OK, or `st` (posted by responders).
  void respond(std::int32_t id, status st, std::string payload, metadata trailers);
  /// Sends one response message on stream `id` (strand).
  void write_message(std::int32_t id, std::string payload);
  /// Ends stream `id` with `st` and trailers (strand).
  void finish_call(std::int32_t id, status st, metadata trailers);

 private:
  friend struct h2_server_callbacks;
  friend class h2util::deadline_timer;  // calls on_deadline and flush
  void read();
  void flush();
  void dispatch(server_stream& s);
  void send_trailers_only(server_stream& s, const status& st, const metadata& trailers = {});
  void dispatch_streaming(server_stream& s);
  void start_response(server_stream& s);
  std::shared_ptr<pending_response> begin_call(server_stream& s);
  void end(std::int32_t id);
  void close();
  /// Removes `s` from deadlines_ if it is there.
  void forget_deadline(server_stream& s);
  /// Stream `id` passed its deadline (deadlines_): answer DEADLINE_EXCEEDED.
  void on_deadline(std::int32_t id);
  /// The PING sent with the shutdown notice was acknowledged: send the real GOAWAY.
  void final_goaway();

  h2_server& server_;
  asio::ip::tcp::socket socket_;  // accepted on its own strand: its executor serialises us
  std::string peer_;
  nghttp2_session* session_ = nullptr;
  std::array<std::uint8_t, 64 * 1024> read_buf_{};
  std::string write_buf_;
  h2util::frame_cutter cutter_{24};  // after the client's 24-byte connection preface
  bool writing_ = false;
  bool receiving_ = false;    // inside nghttp2_session_mem_recv
  bool notice_sent_ = false;  // shutdown announced (GOAWAY 2^31-1 + PING)
  bool draining_ = false;     // final GOAWAY sent: close once the last stream ends
  bool closed_ = false;
  std::unordered_map<std::int32_t, std::unique_ptr<server_stream>> streams_;
  h2util::deadline_timer deadlines_{socket_.get_executor()};
};

}  // namespace achan::transport
