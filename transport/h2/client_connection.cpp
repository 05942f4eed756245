// h2_client_connection: connecting, reading, writing, keepalive, and how the
// connection ends.
#include "transport/h2/client_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <vector>

#include "transport/h2/client_callbacks.hpp"
#include "transport/h2/client_stream.hpp"
#include "transport/h2/io_pool.hpp"
#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/write_now.hpp"

namespace achan::transport {

h2_client_context::h2_client_context(std::shared_ptr<io_pool> p, h2_options o)
    : pool(std::move(p)), opts(std::move(o)), keepalive_ms(opts.keepalive_time.count()) {
  if (!opts.tls)
    return;
  auto built = tls::context::client(*opts.tls);
  if (built)
    tls = *built;
  else
    tls_error = built.error();
}

h2_client_connection::h2_client_connection(std::shared_ptr<h2_client_context> ctx,
                                           std::string address,
                                           std::shared_ptr<connection_events> events)
    : ctx_(std::move(ctx)),
      opts_(ctx_->opts),
      address_(std::move(address)),
      events_(std::move(events)),
      strand_(asio::make_strand(ctx_->pool->context())),
      io_(strand_),
      keepalive_timer_(strand_),
      ping_timeout_(strand_),
      deadlines_(strand_),
      budget_(opts_.max_header_list_size) {}

h2_client_connection::~h2_client_connection() {
  if (session_)
    nghttp2_session_del(session_);
}

void h2_client_connection::start() {
  asio::post(strand_, [self = shared_from_this()] {
    if (!self->ctx_->tls_error.ok())
      return self->fail_connection(
          {status_code::unavailable, "TLS settings: " + self->ctx_->tls_error.message});
    auto& a = self->address_;
    auto on_connect = [self](const std::error_code& ec, auto&&...) {
      if (ec)
        self->fail_connection({status_code::unavailable,
                               "connect to " + self->address_ + " failed: " + ec.message()});
      else
        self->on_connected();
    };
    if (a.rfind("unix:", 0) == 0 || a.rfind("unix-abstract:", 0) == 0) {
      bool abstract = a[4] == '-';
      std::string path = a.substr(abstract ? 14 : 5);
      if (abstract)
        path.insert(path.begin(), '\0');
      asio::local::stream_protocol::endpoint ep{path};
      self->io_.socket().async_connect(asio::generic::stream_protocol::endpoint{ep}, on_connect);
      return;
    }
    // "host:port" or "[v6]:port"
    auto colon = a.rfind(':');
    if (colon == std::string::npos) {
      self->fail_connection({status_code::unavailable, "address '" + a + "' has no port"});
      return;
    }
    auto host = a.substr(0, colon);
    auto port = a.substr(colon + 1);
    if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
      host = host.substr(1, host.size() - 2);
    auto resolver = std::make_shared<asio::ip::tcp::resolver>(self->strand_);
    resolver->async_resolve(
        host, port, [self, resolver, on_connect](const std::error_code& ec, auto results) {
          if (ec) {
            self->fail_connection({status_code::unavailable,
                                   "resolving " + self->address_ + " failed: " + ec.message()});
            return;
          }
          std::vector<asio::generic::stream_protocol::endpoint> eps;
          for (auto& r : results)
            eps.emplace_back(r.endpoint());
          asio::async_connect(self->io_.socket(), eps, on_connect);
        });
  });
}

bool h2_client_connection::init_session() {
  if (!h2_callbacks::new_session(*this))
    return false;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts_.stream_window},
      {NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE, opts_.max_header_list_size},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 3);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(opts_.connection_window));
  return true;
}

void h2_client_connection::on_connected() {
  if (phase_ == phase::closed)
    return;
  std::error_code ignored;
  io_.socket().set_option(asio::ip::tcp::no_delay(true), ignored);  // fails harmlessly on unix
  io_.socket().non_blocking(true, ignored);                         // for h2util::write_now
  if (!ctx_->tls) {
    start_session();
    return;
  }
  auto host = ctx_->tls->server_name().empty() ? address_host() : ctx_->tls->server_name();
  io_.use_tls(ctx_->tls, host);
  io_.async_handshake([self = shared_from_this()](status st) {
    if (self->phase_ == phase::closed)
      return;
    if (!st.ok())
      return self->fail_connection(
          {status_code::unavailable,
           "TLS handshake with " + self->address_ + " failed: " + st.message});
    self->start_session();
  });
}

std::string h2_client_connection::address_host() const {
  if (address_.rfind("unix", 0) == 0)
    return {};
  auto host = address_.substr(0, address_.rfind(':'));
  if (host.size() >= 2 && host.front() == '[' && host.back() == ']')
    host = host.substr(1, host.size() - 2);
  return host;
}

void h2_client_connection::start_session() {
  if (!init_session()) {
    fail_connection({status_code::internal, "cannot create an HTTP/2 session"});
    return;
  }
  flush();
  read();
}

std::string h2_client_connection::read_failure(const std::error_code& ec) const {
  if (ec == std::errc::protocol_error && io_.tls())
    return "TLS error on the connection to " + address_ + ": " + io_.failure();
  if (ec == asio::error::eof && phase_ == phase::connecting && !got_bytes_ && !io_.tls())
    return "connection to " + address_ +
           " closed by the peer before the HTTP/2 handshake (a TLS server does this to a "
           "plaintext client: does the channel need TLS?)";
  if (ec == asio::error::eof && phase_ == phase::connecting && !got_bytes_ && io_.tls() &&
      !ctx_->tls->has_certificate())
    return "connection to " + address_ +
           " closed by the peer right after the TLS handshake (a server that requires a "
           "client certificate does this: does the channel need one?)";
  if (ec == asio::error::eof)
    return "connection to " + address_ + " closed by the peer";
  return "connection to " + address_ + " lost: " + ec.message();
}

void h2_client_connection::read() {
  auto* at = input_.space();
  io_.async_read_some(
      at, input_.space_size(),
      [self = shared_from_this(), at](const std::error_code& ec, std::size_t n) {
        if (self->phase_ == phase::closed)
          return;
        if (ec) {
          self->fail_connection(
              self->protocol_failure({status_code::unavailable, self->read_failure(ec)}));
          return;
        }
        // A TLS record (handshake 0x16 or alert 0x15) where the server's SETTINGS
        // should be: a TLS server answering this plaintext channel.
        if (self->phase_ == phase::connecting && !self->io_.tls() && !self->got_bytes_ &&
            (at[0] == 0x15 || at[0] == 0x16)) {
          self->fail_connection({status_code::unavailable,
                                 "peer " + self->address_ +
                                     " answered with TLS: it is a TLS server and this channel "
                                     "is plaintext (give the channel TLS credentials)"});
          return;
        }
        self->got_bytes_ = true;
        // In parts of h2util::calls_per_send answers: the calls those answers start
        // (their callbacks run on this thread and call again) are opened and sent before
        // the next part, so the server works on them while this side handles the rest.
        bool more = self->input_.consume(
            n, h2util::calls_per_send, [&](const std::uint8_t* data, std::size_t len) {
              self->receiving_ = true;
              auto rv = nghttp2_session_mem_recv(self->session_, data, len);
              self->receiving_ = false;
              if (rv < 0)
                self->protocol_error(rv);
              // Also after a failure: a closed connection hands them back for another pick.
              self->start_pending();
              if (self->phase_ == phase::closed)
                return false;
              self->flush();
              return self->phase_ != phase::closed;
            });
        if (more)
          self->read();
      });
}

void h2_client_connection::protocol_error(long rv) {
  // Tell the server why (GOAWAY with a code and nghttp2's reason) before giving up.
  std::string reason = nghttp2_strerror(static_cast<int>(rv));
  auto code = rv == NGHTTP2_ERR_FLOODED || rv == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS
                  ? NGHTTP2_ENHANCE_YOUR_CALM
                  : NGHTTP2_PROTOCOL_ERROR;
  if (!writing_ && phase_ != phase::connecting &&
      nghttp2_submit_goaway(
          session_, NGHTTP2_FLAG_NONE, nghttp2_session_get_last_proc_stream_id(session_), code,
          reinterpret_cast<const std::uint8_t*>(reason.data()), reason.size()) == 0)
    (void)h2util::send_now(session_, io_, write_buf_);  // best effort, never blocks
  fail_connection({status_code::unavailable,
                   (phase_ == phase::connecting ? "peer " + address_ + " does not speak HTTP/2: "
                                                : "HTTP/2 protocol error from " + address_ + ": ") +
                       reason});
}

void h2_client_connection::flush() {
  if (writing_ || receiving_ || !session_ || phase_ == phase::closed)
    return;  // (never mem_send from inside mem_recv's callbacks)
  auto sent = h2util::send_now(session_, io_, write_buf_);
  settle_handed_on();
  if (phase_ == phase::closed)
    return;  // a writer's callback closed the channel
  if (sent.session_error < 0) {
    fail_connection(
        {status_code::internal, std::string{"HTTP/2 send error: "} +
                                    nghttp2_strerror(static_cast<int>(sent.session_error))});
    return;
  }
  if (sent.io_error) {
    fail_connection(
        {status_code::unavailable, "write to " + address_ + " failed: " + sent.io_error.message()});
    return;
  }
  if (!sent.pending) {
    if (!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_))
      // nghttp2 is done with this peer (it sent GOAWAY after a protocol error, or
      // everything is finished after the peer's GOAWAY).
      fail_connection(protocol_failure(
          {status_code::unavailable, "connection to " + address_ + " finished after GOAWAY"}));
    else if (phase_ == phase::draining && streams_.empty())
      fail_connection({status_code::unavailable, "connection drained after GOAWAY"});
    return;
  }
  // The socket is full: the rest goes out when it drains.
  writing_ = true;
  io_.async_drain([self = shared_from_this()](const std::error_code& ec) {
    self->writing_ = false;
    if (self->phase_ == phase::closed)
      return;
    if (ec) {
      self->fail_connection(
          {status_code::unavailable, "write to " + self->address_ + " failed: " + ec.message()});
      return;
    }
    self->flush();
  });
}

void h2_client_connection::flush_soon() {
  if (flush_posted_)
    return;
  flush_posted_ = true;
  asio::post(strand_, [self = shared_from_this()] {
    self->flush_posted_ = false;
    self->flush();
  });
}

void h2_client_connection::close() {
  closed_by_owner_.store(true, std::memory_order_release);
  asio::post(strand_, [self = shared_from_this()] {
    self->fail_connection({status_code::unavailable, "connection closed"});
  });
}

void h2_client_connection::drain() {
  closed_by_owner_.store(true, std::memory_order_release);
  asio::post(strand_, [self = shared_from_this()] {
    if (self->phase_ == phase::ready) {
      self->phase_ = phase::draining;
      self->reroute_waiting(
          {status_code::unavailable, "connection to " + self->address_ + " is draining"});
    }
    if (self->phase_ != phase::draining || self->streams_.empty())
      self->fail_connection({status_code::unavailable, "connection closed"});
  });
}

void h2_client_connection::fail_connection(status why) {
  if (phase_ == phase::closed)
    return;
  auto was = phase_;
  phase_ = phase::closed;
  keepalive_timer_.cancel();
  ping_timeout_.cancel();
  std::error_code ignored;
  io_.socket().shutdown(asio::socket_base::shutdown_both, ignored);
  io_.socket().close(ignored);
  reroute_waiting(why);
  auto streams = std::move(streams_);
  streams_.clear();
  received_ = 0;
  stream_of_call_.clear();
  deadlines_.clear();
  settle_handed_on();  // those did go into DATA frames
  for (auto& [id, s] : streams) {
    drop_taken(*s);
    s->c->fail(why.code, why.message, address_);
  }
  if (closed_by_owner_.load(std::memory_order_acquire))
    return;
  if (was == phase::connecting)
    events_->on_connect_failed(std::move(why));
  else if (was == phase::ready)
    events_->on_closed(std::move(why));
  // draining: on_closed was already sent at GOAWAY
}

status h2_client_connection::protocol_failure(status fallback) const {
  if (sent_goaway_error_ == NGHTTP2_NO_ERROR)
    return fallback;
  std::string code = nghttp2_http2_strerror(sent_goaway_error_);
  if (phase_ == phase::connecting)
    return {status_code::unavailable,
            "peer " + address_ + " does not speak HTTP/2 (gRPC): " + code};
  return {status_code::unavailable, "HTTP/2 protocol error from " + address_ + ": " + code};
}

void h2_client_connection::on_goaway(std::uint32_t code, std::string_view debug) {
  if (code == NGHTTP2_ENHANCE_YOUR_CALM && debug == "too_many_pings" && keepalive_used_ms_ > 0) {
    // gRFC A8: the server wants fewer pings; every later connection waits twice as long
    // (unless another connection already doubled it).
    auto used = keepalive_used_ms_;
    ctx_->keepalive_ms.compare_exchange_strong(
        used, std::min<std::int64_t>(used * 2, std::int64_t{24} * 3600 * 1000));
  }
  if (phase_ != phase::ready)
    return;
  phase_ = phase::draining;
  reroute_waiting(
      {status_code::unavailable, "server " + address_ + " sent GOAWAY before the call was sent"});
  if (closed_by_owner_.load(std::memory_order_acquire))
    return;
  std::string why = "server " + address_ + " sent GOAWAY (" + nghttp2_http2_strerror(code);
  if (!debug.empty())
    why += ": " + std::string{debug.substr(0, 256)};
  events_->on_closed({status_code::unavailable, why + ")"});
}

void h2_client_connection::arm_keepalive() {
  keepalive_used_ms_ = ctx_->keepalive_ms.load();
  if (keepalive_used_ms_ <= 0)
    return;
  keepalive_timer_.expires_after(std::chrono::milliseconds{keepalive_used_ms_});
  keepalive_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || self->phase_ == phase::closed || !self->session_)
      return;
    // Without calls only if allowed: servers enforcing gRFC A8 permit one ping per 2 h
    // on a connection without streams and end it with GOAWAY after a few more.
    bool wanted = !self->streams_.empty() || self->opts_.keepalive_without_calls;
    if (wanted && !self->ping_outstanding_) {
      self->ping_outstanding_ = true;
      nghttp2_submit_ping(self->session_, NGHTTP2_FLAG_NONE, nullptr);
      self->flush();
      self->ping_timeout_.expires_after(self->opts_.keepalive_timeout);
      self->ping_timeout_.async_wait([self](const std::error_code& e) {
        if (e || !self->ping_outstanding_)
          return;
        self->fail_connection(
            {status_code::unavailable, "keepalive ping to " + self->address_ + " not answered"});
      });
    }
    self->arm_keepalive();
  });
}

}  // namespace achan::transport
