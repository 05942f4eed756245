#include "transport/h2/client_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <asio/connect.hpp>
#include <asio/ip/tcp.hpp>
#include <asio/local/stream_protocol.hpp>
#include <asio/post.hpp>
#include <asio/write.hpp>

#include <cstring>
#include <optional>
#include <vector>

#include "transport/grpc/framing.hpp"
#include "transport/grpc/status_mapping.hpp"
#include "transport/grpc/timeout.hpp"
#include "transport/grpc/wire_text.hpp"
#include "transport/h2/frame_cutter.hpp"
#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/write_now.hpp"
#include "transport/request_stream.hpp"

namespace achan::transport {

using h2util::header;
using h2util::view;

/// Per-stream state of one call.
struct h2_stream {
  explicit h2_stream(call_ptr call, std::size_t max_receive)
      : c(std::move(call)), deframer(max_receive) {}
  call_ptr c;
  std::int32_t id = -1;
  std::string out;  // streaming: the framed requests taken so far, unsent
  std::size_t sent = 0;
  // Unary and server-streaming: the gRPC frame header of the call's payload. The body is
  // served from it and from c->payload() directly, so the request is never copied
  // before nghttp2 copies it into its DATA frame.
  char prefix[grpc::frame_header_size] = {};
  bool requests_closed = false;  // streaming: everything written has been taken
  bool took_any = false;         // streaming: some request bytes left the queue
  int http_status = 0;
  bool grpc_content_type = false;
  std::string content_type;
  std::optional<std::string> grpc_status;
  std::optional<std::string> grpc_message;
  metadata headers;  // response headers, then trailers
  grpc::deframer deframer;
  std::string message;
  int messages = 0;
  // Streaming: the messages in `out`; those before taken_head are in DATA frames already.
  // (A vector, not a deque: an empty std::deque allocates ~600 bytes, per stream.)
  std::vector<request_stream::taken> taken;
  std::size_t taken_head = 0;
  status local_error;                       // set when we reset the stream ourselves
  time_point deadline = time_point::max();  // in deadlines_ unless max
};

namespace {

/// gRPC's mapping of RST_STREAM error codes (PROTOCOL-HTTP2.md, "Errors").
status from_rst_stream(std::uint32_t code) {
  switch (code) {
    case NGHTTP2_REFUSED_STREAM:
      return {status_code::unavailable, "stream refused by the server"};
    case NGHTTP2_CANCEL:
      return {status_code::cancelled, "stream cancelled by the server"};
    case NGHTTP2_ENHANCE_YOUR_CALM:
      return {status_code::resource_exhausted, "server says ENHANCE_YOUR_CALM"};
    case NGHTTP2_INADEQUATE_SECURITY:
      return {status_code::permission_denied, "server says INADEQUATE_SECURITY"};
    default:
      return {status_code::internal,
              "stream reset by the server: " + std::string{nghttp2_http2_strerror(code)}};
  }
}

}  // namespace

/// nghttp2 callbacks; `user_data` is the connection.
struct h2_callbacks {
  static h2_client_connection& self(void* p) { return *static_cast<h2_client_connection*>(p); }

  static h2_stream* stream(nghttp2_session* s, std::int32_t id) {
    return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(s, id));
  }

  static ssize_t read_request(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void* user) {
    auto& st = *static_cast<h2_stream*>(source->ptr);
    if (!st.c->requests) {
      // [5-byte header][payload], served in place.
      const std::string& payload = st.c->payload();
      std::size_t total = sizeof st.prefix + payload.size();
      std::size_t n = 0;
      while (n < length && st.sent < total) {
        std::size_t chunk;
        if (st.sent < sizeof st.prefix) {
          chunk = std::min(length - n, sizeof st.prefix - st.sent);
          std::memcpy(buf + n, st.prefix + st.sent, chunk);
        } else {
          chunk = std::min(length - n, total - st.sent);
          std::memcpy(buf + n, payload.data() + (st.sent - sizeof st.prefix), chunk);
        }
        n += chunk;
        st.sent += chunk;
      }
      if (st.sent == total)
        *flags |= NGHTTP2_DATA_FLAG_EOF;
      return static_cast<ssize_t>(n);
    }
    if (st.sent == st.out.size()) {
      // Streaming requests: refill from the owner's queue, or wait for a write.
      st.out.clear();
      st.sent = 0;
      st.taken.clear();  // all handed on: `out` was sent to its end
      st.taken_head = 0;
      st.requests_closed = st.c->requests->take_framed(st.out, st.taken);
      st.took_any = st.took_any || !st.out.empty();
      if (st.out.empty()) {
        if (!st.requests_closed)
          return NGHTTP2_ERR_DEFERRED;  // resumed by the request stream's on_ready
        *flags |= NGHTTP2_DATA_FLAG_EOF;
        return 0;
      }
    }
    auto n = std::min(length, st.out.size() - st.sent);
    std::memcpy(buf, st.out.data() + st.sent, n);
    st.sent += n;
    // Messages now wholly in DATA frames: their writers hear so after mem_send (flush).
    for (; st.taken_head < st.taken.size() && st.taken[st.taken_head].end <= st.sent;
         ++st.taken_head)
      self(user).handed_on_.emplace_back(st.c->requests, std::move(st.taken[st.taken_head]));
    if (st.sent == st.out.size() && (!st.c->requests || st.requests_closed)) {
      *flags |= NGHTTP2_DATA_FLAG_EOF;
      std::string{}.swap(st.out);  // the request is on its way; free it
    }
    return static_cast<ssize_t>(n);
  }

  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void*) {
    if (frame->hd.type != NGHTTP2_HEADERS)
      return 0;
    auto* st = stream(s, frame->hd.stream_id);
    if (!st)
      return 0;
    auto k = view(name, namelen);
    auto v = view(value, valuelen);
    if (k == ":status") {
      st->http_status = 0;
      for (char ch : v)
        st->http_status = st->http_status * 10 + (ch - '0');
    } else if (k == "content-type") {
      st->content_type = v;
      st->grpc_content_type = v.substr(0, 16) == "application/grpc";
    } else if (k == "grpc-status") {
      st->grpc_status = std::string{v};
    } else if (k == "grpc-message") {
      st->grpc_message = std::string{v};
    } else if (k == "grpc-encoding") {
      st->deframer.set_encoding(std::string{v});
    } else if (!k.empty() && k[0] != ':') {
      if (grpc::is_binary_header(k)) {
        if (auto bin = grpc::base64_decode(v))
          st->headers.emplace_back(std::string{k}, std::move(*bin));
      } else {
        st->headers.emplace_back(std::string{k}, std::string{v});
      }
    }
    return 0;
  }

  static int on_data(nghttp2_session* s, std::uint8_t, std::int32_t id, const std::uint8_t* data,
                     std::size_t len, void* user) {
    auto* st = stream(s, id);
    if (!st || !st->local_error.ok())
      return 0;
    if (auto err = st->deframer.feed(data, len); !err.ok()) {
      // Over the limit or malformed: end the call now and reset the stream.
      st->local_error = std::move(err);
      nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
      return 0;
    }
    std::string msg;
    while (st->deframer.next(msg)) {
      ++st->messages;
      if (st->c->streams_responses())
        st->c->deliver(std::move(msg));
      else if (st->messages == 1)
        st->message = std::move(msg);
    }
    (void)user;
    return 0;
  }

  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    switch (frame->hd.type) {
      case NGHTTP2_SETTINGS:
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) &&
            c.phase_ == h2_client_connection::phase::connecting) {
          c.phase_ = h2_client_connection::phase::ready;
          c.arm_keepalive();
          if (!c.closed_by_owner_.load(std::memory_order_acquire))
            c.events_->on_ready();
        }
        if (!(frame->hd.flags & NGHTTP2_FLAG_ACK))
          c.start_waiting();  // MAX_CONCURRENT_STREAMS may have grown
        break;
      case NGHTTP2_GOAWAY:
        if (c.phase_ == h2_client_connection::phase::ready) {
          c.phase_ = h2_client_connection::phase::draining;
          c.reroute_waiting({status_code::unavailable,
                             "server " + c.address_ + " sent GOAWAY before the call was sent"});
          if (!c.closed_by_owner_.load(std::memory_order_acquire))
            c.events_->on_closed({status_code::unavailable,
                                  "server " + c.address_ + " sent GOAWAY (" +
                                      nghttp2_http2_strerror(frame->goaway.error_code) + ")"});
        }
        break;
      case NGHTTP2_PING:
        if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
          c.ping_outstanding_ = false;
          c.ping_timeout_.cancel();
        }
        break;
      default:
        break;
    }
    return 0;
  }

  static int on_frame_sent(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
      self(user).sent_goaway_error_ = frame->goaway.error_code;
    return 0;
  }

  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* user) {
    auto& c = self(user);
    auto it = c.streams_.find(id);
    if (it == c.streams_.end())
      return 0;
    auto st = std::move(it->second);
    c.streams_.erase(it);
    if (st->deadline != time_point::max())
      c.deadlines_.remove(st->deadline, id);
    c.stream_of_call_.erase(st->c->id());
    c.drop_taken(*st);
    c.finish_stream(*st, error_code);
    c.start_waiting();  // a stream slot is free
    return 0;
  }
};

h2_client_connection::h2_client_connection(asio::io_context& io, std::string address,
                                           std::shared_ptr<connection_events> events,
                                           const h2_options& opts)
    : address_(std::move(address)),
      events_(std::move(events)),
      opts_(opts),
      strand_(asio::make_strand(io)),
      socket_(strand_),
      keepalive_timer_(strand_),
      ping_timeout_(strand_),
      deadlines_(strand_) {}

h2_client_connection::~h2_client_connection() {
  if (session_)
    nghttp2_session_del(session_);
}

void h2_client_connection::start() {
  asio::post(strand_, [self = shared_from_this()] {
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
      self->socket_.async_connect(asio::generic::stream_protocol::endpoint{ep}, on_connect);
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
          asio::async_connect(self->socket_, eps, on_connect);
        });
  });
}

bool h2_client_connection::init_session() {
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &h2_callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &h2_callbacks::on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &h2_callbacks::on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &h2_callbacks::on_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &h2_callbacks::on_frame_sent);
  int rv = nghttp2_session_client_new(&session_, cbs, this);
  nghttp2_session_callbacks_del(cbs);
  if (rv != 0)
    return false;
  nghttp2_settings_entry settings[] = {
      {NGHTTP2_SETTINGS_ENABLE_PUSH, 0},
      {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, opts_.stream_window},
  };
  nghttp2_submit_settings(session_, NGHTTP2_FLAG_NONE, settings, 2);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, 0,
                                        static_cast<std::int32_t>(opts_.connection_window));
  return true;
}

void h2_client_connection::on_connected() {
  if (phase_ == phase::closed)
    return;
  std::error_code ignored;
  socket_.set_option(asio::ip::tcp::no_delay(true), ignored);  // fails harmlessly on unix
  socket_.non_blocking(true, ignored);                         // for h2util::write_now
  if (!init_session()) {
    fail_connection({status_code::internal, "cannot create an HTTP/2 session"});
    return;
  }
  flush();
  read();
}

void h2_client_connection::read() {
  socket_.async_read_some(asio::buffer(read_buf_), [self = shared_from_this()](
                                                       const std::error_code& ec, std::size_t n) {
    if (self->phase_ == phase::closed)
      return;
    if (ec) {
      self->fail_connection(self->protocol_failure(
          {status_code::unavailable,
           ec == asio::error::eof ? "connection to " + self->address_ + " closed by the peer"
                                  : "connection to " + self->address_ + " lost: " + ec.message()}));
      return;
    }
    // In parts of h2util::calls_per_send answers: the calls those answers start (their
    // callbacks run on this thread and call again) are opened and sent before the next
    // part, so the server works on them while this side handles the rest of the read.
    for (std::size_t off = 0, part = 0; off < n; off += part) {
      part = self->cutter_.next(self->read_buf_.data() + off, n - off, h2util::calls_per_send);
      self->receiving_ = true;
      auto rv = nghttp2_session_mem_recv(self->session_, self->read_buf_.data() + off, part);
      self->receiving_ = false;
      if (rv < 0)
        self->fail_connection({status_code::unavailable,
                               (self->phase_ == phase::connecting
                                    ? "peer " + self->address_ + " does not speak HTTP/2: "
                                    : "HTTP/2 protocol error from " + self->address_ + ": ") +
                                   nghttp2_strerror(static_cast<int>(rv))});
      // Also after a failure: a closed connection hands them back for another pick.
      self->start_pending();
      if (self->phase_ == phase::closed)
        return;
      self->flush();
      if (self->phase_ == phase::closed)
        return;
    }
    self->read();
  });
}

void h2_client_connection::flush() {
  if (writing_ || receiving_ || !session_ || phase_ == phase::closed)
    return;  // (never mem_send from inside mem_recv's callbacks)
  auto sent = h2util::send_now(session_, socket_, write_buf_);
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
  asio::async_write(
      socket_, asio::buffer(write_buf_),
      [self = shared_from_this()](const std::error_code& ec, std::size_t) {
        self->writing_ = false;
        self->write_buf_.clear();
        if (self->phase_ == phase::closed)
          return;
        if (ec) {
          self->fail_connection({status_code::unavailable,
                                 "write to " + self->address_ + " failed: " + ec.message()});
          return;
        }
        self->flush();
      });
}

void h2_client_connection::settle_handed_on() {
  if (handed_on_.empty())
    return;
  auto done = std::move(handed_on_);
  handed_on_.clear();
  for (auto& [requests, t] : done)
    requests->settle(std::move(t), true);
}

void h2_client_connection::drop_taken(h2_stream& s) {
  for (; s.taken_head < s.taken.size(); ++s.taken_head)
    s.c->requests->settle(std::move(s.taken[s.taken_head]), false);
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

void h2_client_connection::start_call(const call_ptr& c) {
  if (strand_.running_in_this_thread() && receiving_) {
    // Started by a callback of a call this read finished: opened after this part.
    pending_starts_.push_back(c);
    return;
  }
  asio::post(strand_, [self = shared_from_this(), c] {
    self->do_start_call(c);
    // Calls posted together go out in one write.
    self->flush_soon();
  });
}

void h2_client_connection::start_pending() {
  while (!pending_starts_.empty()) {
    auto starts = std::move(pending_starts_);
    pending_starts_.clear();
    for (auto& c : starts)
      do_start_call(c);
  }
}

void h2_client_connection::do_start_call(const call_ptr& c) {
  if (c->finished())
    return;
  if (phase_ != phase::ready) {
    // Nothing was sent: give the call back for another pick.
    if (!c->reroute || !c->reroute(c))
      c->fail(status_code::unavailable, "connection to " + address_ + " is not ready", address_);
    return;
  }
  auto limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  if (!waiting_.empty() || streams_.size() >= limit) {
    // The server allows no more streams now: wait here, not in nghttp2 (whose queued
    // HEADERS would cost a copy of every header and a stream object per call).
    waiting_call w{c, nullptr};
    if (c->deadline() != time_point::max()) {
      w.deadline_timer = std::make_unique<asio::steady_timer>(strand_, c->deadline());
      w.deadline_timer->async_wait(
          [wc = std::weak_ptr<call>{c}, a = address_](const std::error_code& ec) {
            if (auto call = wc.lock(); call && !ec)
              call->fail(status_code::deadline_exceeded,
                         "deadline exceeded while waiting for a stream on " + a, a);
          });
    }
    waiting_.push_back(std::move(w));
    return;
  }
  open_stream(c);
}

void h2_client_connection::start_waiting() {
  if (phase_ != phase::ready || !session_)
    return;
  auto limit =
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS);
  // Runs inside nghttp2_session_mem_recv (a stream closed, SETTINGS arrived): the read
  // handler flushes afterwards, never here.
  while (!waiting_.empty() && streams_.size() < limit && phase_ == phase::ready) {
    auto w = std::move(waiting_.front());
    waiting_.pop_front();
    if (w.deadline_timer)
      w.deadline_timer->cancel();
    if (w.c->finished())
      continue;  // cancelled or expired while waiting
    open_stream(w.c);
  }
}

void h2_client_connection::reroute_waiting(const status& why) {
  auto waiting = std::move(waiting_);
  waiting_.clear();
  for (auto& w : waiting) {
    if (w.deadline_timer)
      w.deadline_timer->cancel();
    if (w.c->finished())
      continue;
    // Never sent: another connection may take it.
    if (!w.c->reroute || !w.c->reroute(w.c))
      w.c->fail(why.code, why.message, address_);
  }
}

void h2_client_connection::open_stream(const call_ptr& c) {
  auto st = std::make_unique<h2_stream>(c, opts_.max_receive_message_size);
  if (!c->requests)
    grpc::write_frame_header(st->prefix, static_cast<std::uint32_t>(c->payload().size()), false);

  std::string timeout;
  std::vector<nghttp2_nv> nva;
  nva.reserve(8 + c->request_metadata().size());
  nva.push_back(header(":method", "POST"));
  nva.push_back(header(":scheme", "http"));
  nva.push_back(header(":path", c->method()));
  nva.push_back(
      header(":authority", c->authority && !c->authority->empty() ? *c->authority : address_));
  nva.push_back(header("te", "trailers"));
  nva.push_back(header("content-type", "application/grpc"));
  nva.push_back(header("user-agent", opts_.user_agent));
  if (c->deadline() != time_point::max()) {
    auto left = c->deadline() - std::chrono::steady_clock::now();
    if (left <= clock_duration::zero()) {
      c->fail(status_code::deadline_exceeded, "deadline exceeded before the call was sent",
              address_);
      return;
    }
    timeout = grpc::encode_timeout(std::chrono::duration_cast<std::chrono::nanoseconds>(left));
    nva.push_back(header("grpc-timeout", timeout));
  }
  std::vector<std::string> encoded;  // keeps base64 values alive until submit
  encoded.reserve(c->request_metadata().size());
  for (auto& [k, v] : c->request_metadata()) {
    if (grpc::is_binary_header(k)) {
      encoded.push_back(grpc::base64_encode(v));
      nva.push_back(header(k, encoded.back()));
    } else {
      nva.push_back(header(k, v));
    }
  }
  nghttp2_data_provider provider;
  provider.source.ptr = st.get();
  provider.read_callback = &h2_callbacks::read_request;
  auto id = nghttp2_submit_request(session_, nullptr, nva.data(), nva.size(), &provider, st.get());
  if (id < 0) {
    if (id == NGHTTP2_ERR_STREAM_ID_NOT_AVAILABLE) {
      // Out of stream ids: this connection is done; move the call elsewhere.
      phase_ = phase::draining;
      if (!closed_by_owner_.load(std::memory_order_acquire))
        events_->on_closed({status_code::unavailable, "connection ran out of stream ids"});
      reroute_waiting({status_code::unavailable, "connection ran out of stream ids"});
      if (!c->reroute || !c->reroute(c))
        c->fail(status_code::unavailable, "connection ran out of stream ids", address_);
      return;
    }
    c->fail(status_code::internal,
            std::string{"cannot start HTTP/2 stream: "} + nghttp2_strerror(id), address_);
    return;
  }
  st->id = id;
  if (c->requests) {
    // Each write (or the half-close) resumes the deferred request body on our strand.
    c->requests->on_ready([w = weak_from_this(), id] {
      if (auto self = w.lock())
        asio::post(self->strand_, [self, id] {
          if (self->session_ && self->streams_.count(id)) {
            nghttp2_session_resume_data(self->session_, id);
            self->flush();
          }
        });
    });
  }
  if (c->deadline() != time_point::max()) {
    st->deadline = c->deadline();
    deadlines_.add(st->deadline, id, shared_from_this());
  }
  stream_of_call_[c->id()] = id;
  streams_.emplace(id, std::move(st));
}

void h2_client_connection::cancel_call(const call_ptr& c) {
  asio::post(strand_, [self = shared_from_this(), id = c->id()] {
    auto it = self->stream_of_call_.find(id);
    if (it == self->stream_of_call_.end() || !self->session_)
      return;
    nghttp2_submit_rst_stream(self->session_, NGHTTP2_FLAG_NONE, it->second, NGHTTP2_CANCEL);
    self->flush();
  });
}

void h2_client_connection::close() {
  closed_by_owner_.store(true, std::memory_order_release);
  asio::post(strand_, [self = shared_from_this()] {
    self->fail_connection({status_code::unavailable, "connection closed"});
  });
}

void h2_client_connection::finish_stream(h2_stream& s, std::uint32_t error_code) {
  auto& c = s.c;
  if (!s.local_error.ok()) {
    c->fail(s.local_error.code, std::move(s.local_error.message), address_);
    return;
  }
  if (error_code == NGHTTP2_REFUSED_STREAM && s.http_status == 0 && !s.took_any) {
    // Never processed by the server (e.g. beyond a GOAWAY's last stream id).
    if (c->reroute && c->reroute(c))
      return;
  }
  status st;
  if (error_code != NGHTTP2_NO_ERROR && !s.grpc_status) {
    st = from_rst_stream(error_code);
  } else if (s.http_status == 200 && !s.grpc_content_type && !s.grpc_status) {
    st = {status_code::unknown,
          "server answered with content-type '" + s.content_type + "', not application/grpc"};
  } else {
    st = grpc::status_from_trailers(
        s.grpc_status ? std::optional<std::string_view>{*s.grpc_status} : std::nullopt,
        s.grpc_message ? std::optional<std::string_view>{*s.grpc_message} : std::nullopt,
        s.http_status);
    if (st.ok()) {
      if (auto fin = s.deframer.finish(); !fin.ok())
        st = std::move(fin);
      else if (s.messages != 1 && !c->streams_responses())
        st = {status_code::internal, s.messages == 0
                                         ? "server sent no response message for a unary call"
                                         : "server sent " + std::to_string(s.messages) +
                                               " response messages for a unary call"};
    }
  }
  call_result r;
  if (st.ok())
    r.payload = std::move(s.message);
  r.status = std::move(st);
  r.trailers = std::move(s.headers);
  r.peer = address_;
  c->finish(std::move(r));
}

void h2_client_connection::fail_connection(status why) {
  if (phase_ == phase::closed)
    return;
  auto was = phase_;
  phase_ = phase::closed;
  keepalive_timer_.cancel();
  ping_timeout_.cancel();
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  reroute_waiting(why);
  auto streams = std::move(streams_);
  streams_.clear();
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

void h2_client_connection::on_deadline(std::int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end())
    return;
  it->second->deadline = time_point::max();  // no longer in deadlines_
  it->second->local_error = {status_code::deadline_exceeded, "deadline exceeded"};
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
}

void h2_client_connection::arm_keepalive() {
  if (opts_.keepalive_time.count() <= 0)
    return;
  keepalive_timer_.expires_after(opts_.keepalive_time);
  keepalive_timer_.async_wait([self = shared_from_this()](const std::error_code& ec) {
    if (ec || self->phase_ == phase::closed || !self->session_)
      return;
    if (!self->ping_outstanding_) {
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
