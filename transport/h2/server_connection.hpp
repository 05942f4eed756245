#pragma once
/// One accepted HTTP/2 connection of an h2_server: an nghttp2 server session on an
/// asio strand. Requests are validated (POST, application/grpc, known method, exactly
/// one message within the size limit), handed to the method's handler, and answered
/// with response headers, the messages and trailers (or trailers-only for errors).
///
///   start ──[TLS handshake +] preface + SETTINGS within handshake_timeout──► serving ──GOAWAY
///   notice + PING──► notice ──PING ACK (or 10 s)──► draining: final GOAWAY, linger once the last
///   stream ends any ── protocol error or abuse ──► aborting: GOAWAY with code and reason, linger
///   once it is written (at most 1 s after the abort) lingering: FIN sent, input dropped ──
///   client's EOF / 1 s ──► closed any ── socket error / EOF / close_now ──► closed
///
/// Files: server_connection.cpp (lifecycle, reads, writes, timers), server_callbacks.cpp
/// (nghttp2 callbacks), server_calls.cpp (dispatching and answering streams).
#include <asio/ip/tcp.hpp>

#include <cstdint>
#include <memory>
#include <string>
#include <unordered_map>
#include <vector>

#include <achan/server.hpp>
#include "transport/h2/deadline_timer.hpp"
#include "transport/h2/event_timer.hpp"
#include "transport/h2/frame_cutter.hpp"
#include "transport/h2/header_budget.hpp"
#include "transport/h2/ping_policy.hpp"
#include "transport/h2/server_stream.hpp"
#include "transport/tls/stream.hpp"

struct nghttp2_session;

namespace achan::transport {

class h2_server_connection final : public std::enable_shared_from_this<h2_server_connection> {
 public:
  /// `tls`: the server's TLS context for this connection, null for h2c.
  h2_server_connection(h2_server& server, asio::ip::tcp::socket socket,
                       std::shared_ptr<const tls::context> tls);
  ~h2_server_connection();

  /// Runs the TLS handshake (if any), then sends SETTINGS and starts reading.
  void start();
  /// Graceful GOAWAY: finish the streams already received, then close. Thread-safe.
  void go_away();
  /// Closes now; unanswered calls are dropped (their clients see the connection go).
  /// Thread-safe.
  void close_now();
  /// The executor (a strand) everything of this connection runs on.
  asio::any_io_executor socket_executor() { return io_.socket().get_executor(); }
  /// Answers unary stream `id`: one message and OK, or `st` (strand).
  void respond(std::int32_t id, status st, std::string payload, metadata trailers);
  /// Sends one response message on stream `id`; `counted` bytes of it are in the
  /// writer's buffered() count (strand).
  void write_message(std::int32_t id, std::string payload, server_writer::sent_fn sent,
                     std::size_t counted);
  /// Ends stream `id` with `st` and trailers (strand).
  void finish_call(std::int32_t id, status st, metadata trailers);
  /// server_writer::pause_requests: applies its latest wish to stream `id`'s window.
  void apply_request_flow(std::int32_t id);
  /// server_writer::send_headers: submits the response HEADERS with `md` now.
  void send_headers(std::int32_t id, metadata md);
  /// event_timer's callback (strand).
  void on_timer(std::size_t kind);

 private:
  friend struct h2_server_callbacks;
  friend class h2util::deadline_timer;  // calls on_deadline and flush

  enum timer_kind : std::size_t {
    handshake_timer,   // TLS handshake, preface + SETTINGS not done yet
    idle_timer,        // max_connection_idle check
    age_timer,         // max_connection_age reached
    age_grace_timer,   // max_connection_age_grace over: close
    keepalive_timer,   // time to send a keepalive PING
    ping_ack_timer,    // the keepalive PING went unanswered
    goaway_ack_timer,  // the shutdown notice's PING went unanswered: final GOAWAY anyway
    linger_timer,      // the aborting GOAWAY could not be written in time: close
    timer_kinds
  };
  const server_options& opts() const noexcept { return server_.opts_; }
  /// Stream `id`, or null if it is not (or no longer) open.
  server_stream* stream(std::int32_t id) {
    auto it = streams_.find(id);
    return it == streams_.end() ? nullptr : it->second.get();
  }

  // server_connection.cpp: lifecycle.
  bool init_session();
  void read();
  void flush();
  void close();
  /// The last bytes (a GOAWAY) are written: FIN, drop input until the client closes,
  /// close at the latest 1 s later.
  void linger();
  /// GOAWAY with `code` and `reason`, then close once it is written (or after 1 s);
  /// nothing more is read. For protocol errors and abuse (reported to the server's log
  /// unless `log` is false).
  void abort_connection(std::uint32_t code, const std::string& reason, bool log = true);
  /// A keepalive PING was acknowledged: the next one after keepalive_time.
  void keepalive_acked();
  /// nghttp2_session_mem_recv failed with `rv`.
  void protocol_error(long rv);
  /// go_away() on the strand.
  void start_goaway();
  /// The PING sent with the shutdown notice was acknowledged: send the real GOAWAY.
  void final_goaway();
  void arm_idle_check();
  /// Runs the `sent` callbacks collected since the last call (outside nghttp2).
  void run_notes();

  // server_calls.cpp: streams.
  void dispatch(server_stream& s);
  void dispatch_streaming(server_stream& s);
  /// Answers `s` with `st` in the response headers (no message); resets the stream
  /// afterwards if the client is still sending.
  void send_trailers_only(server_stream& s, status st, const metadata& trailers = {});
  /// Ends `s` before its handler could: drops its request, answers `st`, tells the
  /// handler's writers (their writes now fail).
  void refuse(server_stream& s, status st);
  /// Ends `s` at once with RST_STREAM `code`, dropping unsent output (when trailers
  /// cannot be sent: the client's window holds the body back).
  void reset_stream(server_stream& s, std::uint32_t code);
  void start_response(server_stream& s, const metadata* extra = nullptr);
  std::shared_ptr<pending_response> begin_call(server_stream& s);
  /// What the handler of `s` learns (moves the request's metadata out of `s`).
  server_call_info take_call_info(server_stream& s);
  /// Keeps the connection's count of buffered request bytes right after `s` changed.
  void account_request(server_stream& s);
  /// Frees `s`'s request buffers and removes them from the count.
  void release_request(server_stream& s);
  /// Drops `s`'s unsent output; its writers' callbacks get false.
  void drop_output(server_stream& s);
  /// Stream `id` was closed by nghttp2: forget it.
  void end(std::int32_t id);
  /// Marks `s` answered for its handler's writers; if the handler had not finished it,
  /// tells a streaming handler (stream_reader::on_cancel, once).
  void stop_handler(server_stream& s);
  void forget_deadline(server_stream& s);
  /// Stream `id` passed its deadline (deadlines_): answer DEADLINE_EXCEEDED or reset.
  void on_deadline(std::int32_t id);
  /// Trailers (or trailers-only headers) that fit the client's header-list limit.
  status fit_trailers(const std::vector<std::pair<std::string, std::string>>& fields,
                      std::size_t extra) const;

  h2_server& server_;
  // The socket, accepted on its own strand (its executor serialises us), TLS or not.
  tls::stream<asio::ip::tcp::socket> io_;
  std::shared_ptr<const tls_peer> tls_peer_;  // after the TLS handshake; null for h2c
  bool tls_ready_ = false;                    // TLS handshake done (h2c: at once)
  std::string peer_;
  nghttp2_session* session_ = nullptr;
  h2util::frame_input<> input_{24};  // after the client's 24-byte connection preface
  std::string write_buf_;
  bool writing_ = false;
  bool receiving_ = false;       // inside nghttp2_session_mem_recv
  bool handshake_done_ = false;  // the client's SETTINGS arrived
  bool notice_sent_ = false;     // shutdown announced (GOAWAY 2^31-1 + PING)
  bool draining_ = false;        // final GOAWAY sent: close once the last stream ends
  bool aborting_ = false;        // GOAWAY for an error sent: close once written
  bool lingering_ = false;       // FIN sent after the last GOAWAY; waiting for the client's
  bool closed_ = false;
  bool ping_outstanding_ = false;
  bool running_notes_ = false;  // inside run_notes()
  h2util::header_budget budget_;
  h2util::ping_policy pings_;
  std::size_t received_ = 0;  // request bytes held by this connection's streams
  std::size_t unsent_ = 0;    // response bytes not yet in DATA frames
  time_point idle_since_;     // when streams_ last became empty
  std::unordered_map<std::int32_t, std::unique_ptr<server_stream>> streams_;
  /// `sent` callbacks to run after the current nghttp2 call: (callback, handed on?).
  std::vector<std::pair<server_writer::sent_fn, bool>> notes_;
  h2util::deadline_timer deadlines_{io_.socket().get_executor()};
  h2util::event_timer<timer_kinds> timers_{io_.socket().get_executor()};
};

}  // namespace achan::transport
