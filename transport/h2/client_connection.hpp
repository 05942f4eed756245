#pragma once
/// One HTTP/2 client connection carrying gRPC calls (h2c with prior knowledge, or TLS
/// with ALPN h2).
///
///   start() ──connect──► socket up ──[TLS handshake]──preface+SETTINGS──► server SETTINGS
///      ──► READY (on_ready)
///      │ connect error / TLS failure / non-HTTP/2 bytes / EOF before SETTINGS
///      └──► on_connect_failed
///   READY ── GOAWAY ──► draining: no new streams; streams the server accepted finish;
///                       refused ones go back to the channel (reroute); on_closed
///   READY ── EOF / read error / keepalive timeout ──► every call UNAVAILABLE; on_closed
///   READY ── protocol error from the server ──► GOAWAY (code, reason) to it; every call
///   UNAVAILABLE; on_closed
///   close() by the owner ──► every call UNAVAILABLE; no event
///   drain() by the owner ──► draining (as after GOAWAY, but no event); closed when the
///   last stream ends
///
/// Everything runs on one asio strand; public members only post to it. nghttp2 does
/// the framing, HPACK and flow control (its mem_send/mem_recv API over our socket).
/// Files: client_connection.cpp (lifecycle, reads, writes, keepalive), client_calls.cpp
/// (opening, queueing and cancelling calls), client_callbacks.cpp (nghttp2 callbacks,
/// how a stream's end becomes the call's status).
#include <asio/generic/stream_protocol.hpp>
#include <asio/io_context.hpp>
#include <asio/steady_timer.hpp>
#include <asio/strand.hpp>

#include <atomic>
#include <deque>
#include <memory>
#include <string>
#include <string_view>
#include <unordered_map>
#include <vector>

#include <achan/h2_options.hpp>
#include <achan/request_stream.hpp>
#include <achan/transport.hpp>
#include "transport/h2/deadline_timer.hpp"
#include "transport/h2/frame_cutter.hpp"
#include "transport/h2/header_budget.hpp"
#include "transport/tls/context.hpp"
#include "transport/tls/stream.hpp"

struct nghttp2_session;

namespace achan::transport {

struct h2_stream;
class io_pool;

/// What the connections of one h2 transport share: their I/O threads (every connection
/// holds them, so no connection outlives its io_context), the options, and the keepalive
/// time, which a server's GOAWAY ENHANCE_YOUR_CALM "too_many_pings" doubles for every
/// later connection (gRFC A8, as grpc-go does channel-wide).
struct h2_client_context {
  h2_client_context(std::shared_ptr<io_pool> p, h2_options o);
  std::shared_ptr<io_pool> pool;
  const h2_options opts;
  std::atomic<std::int64_t> keepalive_ms;  // 0: off
  /// TLS (opts.tls): the context, or why it could not be built (every connection
  /// attempt then fails with it). Null and OK for h2c.
  tls::context_ptr tls;
  status tls_error;
};

/// A gRPC client connection over HTTP/2. Create with make_shared, then start().
class h2_client_connection final : public connection,
                                   public std::enable_shared_from_this<h2_client_connection> {
 public:
  h2_client_connection(std::shared_ptr<h2_client_context> ctx, std::string address,
                       std::shared_ptr<connection_events> events);
  ~h2_client_connection() override;

  /// Starts connecting (resolving the host if it is not an IP literal).
  void start();

  const std::string& address() const noexcept override { return address_; }
  void start_call(const call_ptr& c) override;
  void cancel_call(const call_ptr& c) override;
  void close() override;
  void drain() override;
  void flow_changed(std::uint64_t call_id) override;

 private:
  enum class phase : std::uint8_t { connecting, ready, draining, closed };

  // All of the below run on strand_ only.
  void on_connected();
  /// The socket (and TLS, if any) is up: start HTTP/2.
  void start_session();
  /// The host part of address_ ("" for unix sockets), for TLS's SNI and name check.
  std::string address_host() const;
  void read();
  /// Sends what nghttp2 has queued, now (h2util::write_now) as far as the socket takes it.
  void flush();
  /// Tells the writers of handed_on_'s messages that they went out.
  void settle_handed_on();
  /// Tells the writers of `s`'s messages not yet in DATA frames that they never will be.
  void drop_taken(h2_stream& s);
  /// flush() once the handlers already queued on the strand have run.
  void flush_soon();
  /// Opens (or queues) a call; the caller flushes.
  void do_start_call(const call_ptr& c);
  /// do_start_call for the calls started during the last mem_recv part.
  void start_pending();
  /// Submits `c` as a new HTTP/2 stream (the connection is READY, below the limit).
  void open_stream(const call_ptr& c);
  /// Opens waiting calls while the server's MAX_CONCURRENT_STREAMS allows.
  void start_waiting();
  /// Hands every waiting call back for another pick (or fails it with `why`).
  void reroute_waiting(const status& why);
  void fail_connection(status why);
  void finish_stream(h2_stream& s, std::uint32_t error_code);
  void arm_keepalive();
  /// The server sent GOAWAY `code` with `debug`: drain, and slow keepalive down if it
  /// says too_many_pings.
  void on_goaway(std::uint32_t code, std::string_view debug);
  /// nghttp2_session_mem_recv failed with `rv`: GOAWAY to the server, then fail.
  void protocol_error(long rv);
  /// Applies its call's responses_paused() to stream `s`'s local window.
  void apply_flow(h2_stream& s);
  /// Stream `id` passed its deadline (deadlines_): reset it.
  void on_deadline(std::int32_t id);
  bool init_session();
  /// The status message of a failed read.
  std::string read_failure(const std::error_code& ec) const;
  /// Why the connection ends when nghttp2 itself gave up on the peer (it sent GOAWAY
  /// with an error), or `fallback`.
  status protocol_failure(status fallback) const;

  // nghttp2 callbacks (static trampolines in the .cpp) need access.
  friend struct h2_callbacks;
  friend class h2util::deadline_timer;  // calls on_deadline and flush

  std::shared_ptr<h2_client_context> ctx_;
  const h2_options& opts_;  // ctx_->opts
  std::string address_;
  std::shared_ptr<connection_events> events_;
  asio::strand<asio::io_context::executor_type> strand_;
  tls::stream<asio::generic::stream_protocol::socket> io_;  // the socket, TLS or not
  asio::steady_timer keepalive_timer_;
  asio::steady_timer ping_timeout_;
  h2util::deadline_timer deadlines_;
  std::atomic<bool> closed_by_owner_{false};

  phase phase_ = phase::connecting;
  nghttp2_session* session_ = nullptr;
  h2util::frame_input<> input_;
  std::string write_buf_;
  h2util::header_budget budget_;
  std::size_t received_ = 0;  // response bytes the streams hold (max_connection_receive_buffer)
  bool writing_ = false;
  bool got_bytes_ = false;                // anything received yet
  bool receiving_ = false;                // inside nghttp2_session_mem_recv
  bool flush_posted_ = false;             // a flush_soon() is queued
  std::vector<call_ptr> pending_starts_;  // started during a mem_recv part
  /// Streaming request messages that went into DATA frames during mem_send; their
  /// writers are told right after it (never inside nghttp2's callbacks).
  std::vector<std::pair<std::shared_ptr<request_stream>, request_stream::taken>> handed_on_;
  bool ping_outstanding_ = false;
  std::int64_t keepalive_used_ms_ = 0;   // the keepalive time this connection pings at
  std::uint32_t sent_goaway_error_ = 0;  // error code of a GOAWAY nghttp2 sent, 0 if none
  std::unordered_map<std::int32_t, std::unique_ptr<h2_stream>> streams_;
  std::unordered_map<std::uint64_t, std::int32_t> stream_of_call_;
  /// Calls waiting for a stream slot (the server's MAX_CONCURRENT_STREAMS is reached),
  /// in arrival order. They cost the connection nothing but this entry (and a deadline
  /// timer if they have a deadline); nghttp2 never sees them until they are opened.
  struct waiting_call {
    call_ptr c;
    std::unique_ptr<asio::steady_timer> deadline_timer;
  };
  std::deque<waiting_call> waiting_;
};

}  // namespace achan::transport
