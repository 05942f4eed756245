// h2_server_connection: lifecycle, reads, writes and connection-level timers.
#include "transport/h2/server_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <asio/post.hpp>
#include <asio/write.hpp>

#include <random>

#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/server_callbacks.hpp"
#include "transport/h2/write_now.hpp"

namespace achan::transport {

namespace {
/// How long an aborting connection may take to write its GOAWAY before it is closed.
constexpr auto abort_linger = std::chrono::seconds(1);
/// How long the client has to acknowledge the shutdown notice's PING.
constexpr auto notice_ack_timeout = std::chrono::seconds(10);

/// A factor in [0.9, 1.1] for max_connection_age (gRFC A9's ±10 % jitter).
double age_jitter(std::uint64_t seed, const void* conn) {
  if (seed == 0)
    seed = static_cast<std::uint64_t>(std::chrono::steady_clock::now().time_since_epoch().count());
  std::uint64_t z = seed ^ reinterpret_cast<std::uintptr_t>(conn);  // SplitMix64 step
  z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9ULL;
  z = (z ^ (z >> 27)) * 0x94d049bb133111ebULL;
  z ^= z >> 31;
  return 0.9 + 0.2 * static_cast<double>(z >> 11) / static_cast<double>(1ULL << 53);
}
}  // namespace

h2_server_connection::h2_server_connection(h2_server& server, asio::ip::tcp::socket socket,
                                           std::shared_ptr<const tls::context> tls)
    : server_(server),
      io_(std::move(socket)),
      budget_(server.opts_.max_header_list_size),
      pings_(server.opts_.permit_keepalive_time, server.opts_.permit_keepalive_without_calls,
             server.opts_.max_ping_strikes),
      idle_since_(std::chrono::steady_clock::now()) {
  std::error_code ec;
  auto ep = io_.socket().remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
  if (tls)
    io_.use_tls(std::move(tls), {});
  else
    tls_ready_ = true;
}

h2_server_connection::~h2_server_connection() {
  if (session_)
    nghttp2_session_del(session_);
}

bool h2_server_connection::init_session() {
  if (!h2_server_callbacks::new_session(*this))
    return false;
  auto& o = opts();
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, o.max_concurrent_streams},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, o.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, o.max_header_list_size},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 3);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(o.connection_window));
  return true;
}

void h2_server_connection::start() {
  asio::post(io_.socket().get_executor(), [self = shared_from_this()] {
    if (!self->init_session()) {
      self->close();
      return;
    }
    auto& o = self->opts();
    auto now = std::chrono::steady_clock::now();
    if (o.handshake_timeout.count() > 0)
      self->timers_.set(handshake_timer, now + o.handshake_timeout, self);
    if (o.max_connection_age.count() > 0)
      self->timers_.set(age_timer,
                        now + std::chrono::duration_cast<clock_duration>(
                                  o.max_connection_age * age_jitter(o.seed, self.get())),
                        self);
    if (o.keepalive_time.count() > 0)
      self->timers_.set(keepalive_timer, now + o.keepalive_time, self);
    self->arm_idle_check();
    std::error_code ignored;
    self->io_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);
    self->io_.socket().non_blocking(true, ignored);  // for h2util::write_now
    self->io_.async_handshake([self](status st) {
      if (self->closed_)
        return;
      if (!st.ok()) {
        self->close();  // (not logged: scanners and bad clients would flood the log)
        return;
      }
      if (const auto* t = self->io_.tls())
        self->tls_peer_ = std::make_shared<const tls_peer>(t->peer());
      self->tls_ready_ = true;
      self->flush();
      self->read();
    });
  });
}

void h2_server_connection::read() {
  io_.async_read_some(
      input_.space(), input_.space_size(),
      [self = shared_from_this()](const std::error_code& ec, std::size_t n) {
        if (self->closed_)
          return;
        if (ec) {
          self->close();
          return;
        }
        if (!self->aborting_) {
          // In parts of h2util::calls_per_send requests, sending what each part produced
          // before the next: the client gets the first answers of a burst while the rest
          // are still being worked on (frame_cutter.hpp says why).
          self->input_.consume(
              n, h2util::calls_per_send, [&](const std::uint8_t* data, std::size_t len) {
                self->receiving_ = true;  // callbacks may queue frames; they are sent below
                auto rv = nghttp2_session_mem_recv(self->session_, data, len);
                self->receiving_ = false;
                if (rv < 0)
                  self->protocol_error(rv);
                self->flush();
                return !self->closed_ && !self->aborting_;
              });
        }  // (aborting: what arrives is read and dropped until the client closes; linger())
        if (!self->closed_)
          self->read();
      });
}

void h2_server_connection::linger() {
  // Closing a socket that has unread input makes the kernel send RST and drop what is
  // still in the send buffer, our GOAWAY included: send FIN instead, read and drop until
  // the client closes too, and close at the latest at the linger timer.
  if (lingering_)
    return;
  lingering_ = true;
  aborting_ = true;  // nothing more is fed to nghttp2
  std::error_code ignored;
  io_.socket().shutdown(asio::socket_base::shutdown_send, ignored);
  if (!timers_.is_set(linger_timer))
    timers_.set(linger_timer, std::chrono::steady_clock::now() + abort_linger, shared_from_this());
}

void h2_server_connection::flush() {
  if (writing_ || closed_ || !session_ || receiving_ || lingering_ || !tls_ready_)
    return;  // (never mem_send from inside mem_recv's callbacks; nothing after the FIN)
  auto sent = h2util::send_now(session_, io_, write_buf_);
  run_notes();
  if (closed_)
    return;  // a writer's callback closed the server
  if (sent.session_error < 0 || sent.io_error) {
    close();
    return;
  }
  if (!sent.pending) {
    // Everything is written; the GOAWAY, if any, is on its way.
    if (aborting_ ||
        (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) ||
        (draining_ && streams_.empty()))
      linger();
    return;
  }
  // The socket is full: the rest goes out when it drains.
  writing_ = true;
  io_.async_drain([self = shared_from_this()](const std::error_code& ec) {
    self->writing_ = false;
    if (ec)
      self->close();
    else
      self->flush();
  });
}

void h2_server_connection::run_notes() {
  // A callback that writes again flushes again, which comes back here: the outer loop
  // runs the new notes, so a writer pacing itself on `sent` never grows the stack.
  if (running_notes_)
    return;
  running_notes_ = true;
  while (!notes_.empty()) {
    auto notes = std::move(notes_);
    notes_.clear();
    for (auto& [fn, ok] : notes)
      fn(ok);
  }
  running_notes_ = false;
}

void h2_server_connection::abort_connection(std::uint32_t code, const std::string& reason,
                                            bool log) {
  if (aborting_ || closed_)
    return;
  aborting_ = true;
  if (log)
    server_.log("GOAWAY " + std::string{nghttp2_http2_strerror(code)} + " to " + peer_ + ": " +
                reason);
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), code,
                        reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size());
  timers_.set(linger_timer, std::chrono::steady_clock::now() + abort_linger, shared_from_this());
  flush();  // (a no-op inside mem_recv: the read loop flushes right after)
}

void h2_server_connection::protocol_error(long rv) {
  auto code = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                  ? NGHTTP2_ENHANCE_YOUR_CALM
                  : NGHTTP2_PROTOCOL_ERROR;
  abort_connection(code, nghttp2_strerror(static_cast<int>(rv)));
}

// Graceful shutdown in two steps, as RFC 9113 section 6.8 advises and gRPC servers do:
// a GOAWAY announcing the shutdown (last stream id 2^31-1) and a PING; once the PING is
// acknowledged the client has seen the announcement and opens no more streams here, so
// the final GOAWAY's last stream id covers every stream it sent. Closing right after a
// single GOAWAY instead races with streams already on the wire: the client's write then
// fails (EPIPE) and those calls end UNAVAILABLE although the server never saw them.
void h2_server_connection::go_away() {
  asio::post(io_.socket().get_executor(), [self = shared_from_this()] { self->start_goaway(); });
}

void h2_server_connection::start_goaway() {
  if (closed_ || aborting_ || notice_sent_ || !session_)
    return;
  notice_sent_ = true;
  nghttp2_submit_shutdown_notice(session_);
  nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, h2_server_callbacks::goaway_ping);
  timers_.set(goaway_ack_timer, std::chrono::steady_clock::now() + notice_ack_timeout,
              shared_from_this());
  flush();
}

void h2_server_connection::final_goaway() {
  if (closed_ || draining_ || aborting_ || !notice_sent_ || !session_)
    return;
  draining_ = true;
  timers_.clear(goaway_ack_timer);
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void h2_server_connection::arm_idle_check() {
  if (opts().max_connection_idle.count() > 0)
    timers_.set(idle_timer, idle_since_ + opts().max_connection_idle, shared_from_this());
}

void h2_server_connection::on_timer(std::size_t kind) {
  if (closed_)
    return;
  auto now = std::chrono::steady_clock::now();
  auto& o = opts();
  switch (kind) {
    case handshake_timer:
      if (!tls_ready_)
        close();  // stalled in the TLS handshake: no HTTP/2 to say goodbye with
      else if (!handshake_done_)
        abort_connection(NGHTTP2_SETTINGS_TIMEOUT,
                         "no HTTP/2 connection preface and SETTINGS within " +
                             std::to_string(o.handshake_timeout.count()) + " ms",
                         false);  // (not logged: a connection flood would flood the log)
      break;
    case idle_timer:
      if (!streams_.empty())
        timers_.set(idle_timer, now + o.max_connection_idle, shared_from_this());
      else if (now - idle_since_ >= o.max_connection_idle)
        start_goaway();  // idle: it closes as soon as the notice is acknowledged
      else
        arm_idle_check();
      break;
    case age_timer:
      start_goaway();
      if (o.max_connection_age_grace.count() > 0)
        timers_.set(age_grace_timer, now + o.max_connection_age_grace, shared_from_this());
      break;
    case age_grace_timer:
    case linger_timer:
      close();
      break;
    case keepalive_timer:
      if (!ping_outstanding_ && !aborting_) {
        ping_outstanding_ = true;
        nghttp2_submit_ping(session_, NGHTTP2_FLAG_NONE, nullptr);
        timers_.set(ping_ack_timer, now + o.keepalive_timeout, shared_from_this());
        flush();
      }
      break;
    case ping_ack_timer:
      if (ping_outstanding_)
        close();  // the client is gone (or will not answer): nothing to say to it
      break;
    case goaway_ack_timer:
      final_goaway();
      flush();
      break;
    default:
      break;
  }
}

void h2_server_connection::keepalive_acked() {
  if (!ping_outstanding_)
    return;
  ping_outstanding_ = false;
  timers_.clear(ping_ack_timer);
  timers_.set(keepalive_timer, std::chrono::steady_clock::now() + opts().keepalive_time,
              shared_from_this());
}

void h2_server_connection::close_now() {
  asio::post(io_.socket().get_executor(), [self = shared_from_this()] { self->close(); });
}

void h2_server_connection::close() {
  if (closed_)
    return;
  closed_ = true;
  deadlines_.clear();
  timers_.stop();
  // Calls first, then the socket: whoever sees the connection end sees its calls ended.
  for (auto& [id, s] : streams_) {
    drop_output(*s);
    stop_handler(*s);
    if (s->state == server_stream::phase::serving)
      --server_.active_calls_;
  }
  streams_.clear();
  std::error_code ignored;
  io_.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  io_.socket().close(ignored);
  run_notes();
  server_.connection_closed(this);
}

}  // namespace achan::transport
