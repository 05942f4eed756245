#include "transport/h2/server_connection.hpp"

#include <nghttp2/nghttp2.h>

#include <asio/post.hpp>
#include <asio/write.hpp>

#include <cstring>
#include <vector>

#include "transport/grpc/framing.hpp"
#include "transport/grpc/timeout.hpp"
#include "transport/grpc/wire_text.hpp"
#include "transport/h2/frame_cutter.hpp"
#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/write_now.hpp"

namespace achan::transport {

using h2util::header;
using h2util::view;

namespace {
/// Payload of the PING sent with the shutdown notice (see go_away()).
constexpr std::uint8_t goaway_ping[8] = {'a', 'c', 'h', 'a', 'n', 'g', 'o', 'a'};
}  // namespace

/// One request stream.
struct server_stream {
  server_stream(std::int32_t i, std::size_t max_receive) : id(i), deframer(max_receive) {}
  std::int32_t id;
  std::string method;
  std::string authority;
  bool post = false;
  std::string content_type;
  metadata md;
  std::optional<time_point> deadline;
  grpc::deframer deframer;
  std::string request;
  int messages = 0;
  status error;                    // a request problem found while receiving
  bool dispatched = false;         // handed to a handler (counted in active_calls)
  bool answered = false;           // the final status is decided: nothing more is sent
  bool streaming_request = false;  // client/bidi method: requests go to `reader`
  bool request_ended = false;      // END_STREAM seen (reader.on_end called)
  stream_reader reader;
  bool headers_sent = false;        // response HEADERS submitted (with the deferred body)
  bool body_done = false;           // final status set: EOF + trailers once `out` drains
  bool reset_after_answer = false;  // answered before the request ended: RST once sent
  std::shared_ptr<pending_response> pending;
  bool in_deadlines = false;  // `deadline` is in the connection's deadlines_
  std::string out;            // framed response message
  std::size_t sent = 0;
  std::vector<std::pair<std::string, std::string>> trailers;  // kept alive for nghttp2
};

struct h2_server_callbacks {
  static h2_server_connection& self(void* p) { return *static_cast<h2_server_connection*>(p); }
  static server_stream* stream(h2_server_connection& c, std::int32_t id) {
    auto it = c.streams_.find(id);
    return it == c.streams_.end() ? nullptr : it->second.get();
  }

  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
      return 0;
    c.streams_.emplace(frame->hd.stream_id,
                       std::make_unique<server_stream>(frame->hd.stream_id,
                                                       c.server_.opts_.max_receive_message_size));
    return 0;
  }

  static int on_header(nghttp2_session*, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t, void* user) {
    auto* s = stream(self(user), frame->hd.stream_id);
    if (!s || frame->hd.type != NGHTTP2_HEADERS)
      return 0;
    auto k = view(name, namelen);
    auto v = view(value, valuelen);
    if (k == ":path") {
      s->method = v;
    } else if (k == ":authority") {
      s->authority = v;
    } else if (k == ":method") {
      s->post = v == "POST";
    } else if (k == "content-type") {
      s->content_type = v;
    } else if (k == "grpc-timeout") {
      if (auto t = grpc::parse_timeout(v))
        s->deadline = std::chrono::steady_clock::now() +
                      std::chrono::duration_cast<clock_duration>(
                          std::min(*t, std::chrono::nanoseconds(std::chrono::hours(24 * 365))));
      else
        s->error = {status_code::internal, "malformed grpc-timeout '" + std::string{v} + "'"};
    } else if (k == "grpc-encoding") {
      s->deframer.set_encoding(std::string{v});
    } else if (k.empty() || k[0] == ':' || k == "te" || k == "user-agent" ||
               k == "grpc-accept-encoding") {
      // transport headers, not metadata
    } else if (grpc::is_binary_header(k)) {
      if (auto bin = grpc::base64_decode(v))
        s->md.emplace_back(std::string{k}, std::move(*bin));
    } else {
      s->md.emplace_back(std::string{k}, std::string{v});
    }
    return 0;
  }

  static int on_data(nghttp2_session* session, std::uint8_t, std::int32_t id,
                     const std::uint8_t* data, std::size_t len, void* user) {
    auto* s = stream(self(user), id);
    if (!s || !s->error.ok() || s->answered)
      return 0;
    if (auto err = s->deframer.feed(data, len); !err.ok()) {
      // Answer now (e.g. RESOURCE_EXHAUSTED) instead of reading the rest, then reset.
      s->error = std::move(err);
      s->reset_after_answer = true;  // after the answer is out, or it could overtake it
      if (s->pending)
        s->pending->done.store(true);  // the handler's writer stops here
      self(user).finish_call(id, s->error, {});
      (void)session;
      return 0;
    }
    std::string msg;
    while (s->deframer.next(msg)) {
      ++s->messages;
      if (s->streaming_request) {
        if (s->reader.on_message && !s->answered)
          s->reader.on_message(std::move(msg));
      } else if (s->messages == 1) {
        s->request = std::move(msg);
      }
    }
    return 0;
  }

  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
    auto& c = self(user);
    if (frame->hd.type == NGHTTP2_PING && (frame->hd.flags & NGHTTP2_FLAG_ACK) &&
        std::memcmp(frame->ping.opaque_data, goaway_ping, sizeof goaway_ping) == 0)
      c.final_goaway();
    if (frame->hd.type != NGHTTP2_HEADERS && frame->hd.type != NGHTTP2_DATA)
      return 0;
    auto* s = stream(c, frame->hd.stream_id);
    if (!s)
      return 0;
    if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST)
      c.dispatch_streaming(*s);  // client/bidi methods start at their headers
    if (!(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      return 0;
    if (!s->streaming_request) {
      c.dispatch(*s);
    } else if (!s->request_ended) {
      s->request_ended = true;
      if (!s->answered) {
        if (auto err = s->deframer.finish(); !err.ok())
          c.finish_call(s->id, err, {});
        else if (s->reader.on_end)
          s->reader.on_end();
      }
    }
    return 0;
  }

  static int on_frame_sent(nghttp2_session* session, const nghttp2_frame* frame, void* user) {
    if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
      return 0;
    if (auto* s = stream(self(user), frame->hd.stream_id); s && s->reset_after_answer)
      nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
    return 0;
  }

  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
    self(user).end(id);
    return 0;
  }

  static ssize_t read_response(nghttp2_session* session, std::int32_t id, std::uint8_t* buf,
                               std::size_t length, std::uint32_t* flags,
                               nghttp2_data_source* source, void*) {
    auto& s = *static_cast<server_stream*>(source->ptr);
    if (s.sent == s.out.size() && !s.body_done) {
      s.out.clear();
      s.sent = 0;
      return NGHTTP2_ERR_DEFERRED;  // resumed by the next write or the finish
    }
    auto n = std::min(length, s.out.size() - s.sent);
    std::memcpy(buf, s.out.data() + s.sent, n);
    s.sent += n;
    if (s.sent == s.out.size()) {
      s.out.clear();
      s.sent = 0;
      if (s.body_done) {
        *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
        std::vector<nghttp2_nv> nva;
        for (auto& [k, v] : s.trailers)
          nva.push_back(header(k, v));
        nghttp2_submit_trailer(session, id, nva.data(), nva.size());
      }
    }
    return static_cast<ssize_t>(n);
  }
};

h2_server_connection::h2_server_connection(h2_server& server, asio::ip::tcp::socket socket)
    : server_(server), socket_(std::move(socket)) {
  std::error_code ec;
  auto ep = socket_.remote_endpoint(ec);
  peer_ = ec ? "unknown" : ep.address().to_string() + ":" + std::to_string(ep.port());
}

h2_server_connection::~h2_server_connection() {
  if (session_)
    nghttp2_session_del(session_);
}

void h2_server_connection::start() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_begin_headers_callback(cbs,
                                                            &h2_server_callbacks::on_begin_headers);
    nghttp2_session_callbacks_set_on_header_callback(cbs, &h2_server_callbacks::on_header);
    nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &h2_server_callbacks::on_data);
    nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &h2_server_callbacks::on_frame);
    nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &h2_server_callbacks::on_close);
    nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &h2_server_callbacks::on_frame_sent);
    int rv = nghttp2_session_server_new(&self->session_, cbs, self.get());
    nghttp2_session_callbacks_del(cbs);
    if (rv != 0) {
      self->close();
      return;
    }
    nghttp2_settings_entry settings[] = {
        {NGHTTP2_SETTINGS_MAX_CONCURRENT_STREAMS, self->server_.opts_.max_concurrent_streams},
        {NGHTTP2_SETTINGS_INITIAL_WINDOW_SIZE, 1u << 20},
    };
    nghttp2_submit_settings(self->session_, NGHTTP2_FLAG_NONE, settings, 2);
    nghttp2_session_set_local_window_size(self->session_, NGHTTP2_FLAG_NONE, 0, 16 << 20);
    std::error_code ignored;
    self->socket_.set_option(asio::ip::tcp::no_delay(true), ignored);
    self->socket_.non_blocking(true, ignored);  // for h2util::write_now
    self->flush();
    self->read();
  });
}

void h2_server_connection::read() {
  socket_.async_read_some(asio::buffer(read_buf_), [self = shared_from_this()](
                                                       const std::error_code& ec, std::size_t n) {
    if (self->closed_)
      return;
    if (ec) {
      self->close();
      return;
    }
    // In parts of h2util::calls_per_send requests, sending what each part produced
    // before the next: the client gets the first answers of a burst while the rest are
    // still being worked on (frame_cutter.hpp says why).
    for (std::size_t off = 0, part = 0; off < n; off += part) {
      part = self->cutter_.next(self->read_buf_.data() + off, n - off, h2util::calls_per_send);
      self->receiving_ = true;  // callbacks may queue frames; they are sent below
      auto rv = nghttp2_session_mem_recv(self->session_, self->read_buf_.data() + off, part);
      self->receiving_ = false;
      if (rv < 0) {
        self->close();
        return;
      }
      self->flush();
      if (self->closed_)
        return;
    }
    self->read();
  });
}

void h2_server_connection::flush() {
  if (writing_ || closed_ || !session_ || receiving_)
    return;  // (never mem_send from inside mem_recv's callbacks)
  auto sent = h2util::send_now(session_, socket_, write_buf_);
  if (sent.session_error < 0 || sent.io_error) {
    close();
    return;
  }
  if (!sent.pending) {
    if ((!nghttp2_session_want_read(session_) && !nghttp2_session_want_write(session_)) ||
        (draining_ && streams_.empty()))
      close();
    return;
  }
  // The socket is full: the rest goes out when it drains.
  writing_ = true;
  asio::async_write(socket_, asio::buffer(write_buf_),
                    [self = shared_from_this()](const std::error_code& ec, std::size_t) {
                      self->writing_ = false;
                      self->write_buf_.clear();
                      if (ec)
                        self->close();
                      else
                        self->flush();
                    });
}

void h2_server_connection::send_trailers_only(server_stream& s, const status& st,
                                              const metadata& trailers) {
  s.answered = true;
  auto code = std::to_string(static_cast<int>(st.code));
  auto msg = grpc::percent_encode_message(st.message);
  std::vector<std::string> encoded;  // keeps -bin values alive until submitted (copied then)
  encoded.reserve(trailers.size());
  std::vector<nghttp2_nv> nva{header(":status", "200"), header("content-type", "application/grpc"),
                              header("grpc-status", code)};
  if (!st.message.empty())
    nva.push_back(header("grpc-message", msg));
  for (auto& [k, v] : trailers) {
    encoded.push_back(grpc::is_binary_header(k) ? grpc::base64_encode(v) : v);
    nva.push_back(header(k, encoded.back()));
  }
  nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), nullptr);
}

/// Checks the request's HTTP/gRPC envelope; false (answered) if it is not a gRPC call.
static bool grpc_request(server_stream& s) {
  return s.post && s.content_type.rfind("application/grpc", 0) == 0;
}

std::shared_ptr<pending_response> h2_server_connection::begin_call(server_stream& s) {
  s.dispatched = true;
  ++server_.active_calls_;
  s.pending = std::make_shared<pending_response>();
  s.pending->conn = weak_from_this();
  s.pending->stream_id = s.id;
  if (s.deadline) {
    s.in_deadlines = true;
    deadlines_.add(*s.deadline, s.id, shared_from_this());
  }
  return s.pending;
}

void h2_server_connection::dispatch_streaming(server_stream& s) {
  if (s.dispatched || s.answered || !grpc_request(s))
    return;
  auto m = server_.methods_.find(s.method);
  if (m == server_.methods_.end()) {
    // Answered at its headers, as grpc++ and grpc-go do: a client that keeps its stream
    // open until it has an answer (a reflection client) is not left waiting.
    send_trailers_only(s, {status_code::unimplemented, "unknown method " + s.method});
    s.reset_after_answer = true;  // stop the client's remaining requests
    return;
  }
  if (!m->second.streaming)
    return;  // unary or server-streaming: dispatched once the request is complete
  s.streaming_request = true;
  auto pending = begin_call(s);
  server_call_info info{s.method, std::move(s.authority), std::move(s.md), s.deadline, peer_};
  s.reader = m->second.streaming(std::move(info), server_writer{pending});
}

void h2_server_connection::dispatch(server_stream& s) {
  if (s.dispatched || s.answered)
    return;
  if (!grpc_request(s)) {
    // Not a gRPC request: HTTP 415 as PROTOCOL-HTTP2 recommends.
    s.answered = true;
    nghttp2_nv nva[] = {header(":status", s.post ? "415" : "405")};
    nghttp2_submit_response(session_, s.id, nva, 1, nullptr);
    return;
  }
  auto m = server_.methods_.find(s.method);
  if (s.error.ok())
    s.error = s.deframer.finish();
  if (s.error.ok() && m == server_.methods_.end())
    s.error = {status_code::unimplemented, "unknown method " + s.method};
  if (s.error.ok() && s.messages != 1)
    s.error = {status_code::internal, "method " + s.method + " expects one request message, got " +
                                          std::to_string(s.messages)};
  if (!s.error.ok()) {
    send_trailers_only(s, s.error);
    return;
  }
  auto pending = begin_call(s);
  server_call_info info{s.method, std::move(s.authority), std::move(s.md), s.deadline, peer_};
  if (m->second.unary)
    m->second.unary(std::move(info), std::move(s.request), responder{pending});
  else
    m->second.server_stream(std::move(info), std::move(s.request), server_writer{pending});
}

void h2_server_connection::start_response(server_stream& s) {
  if (s.headers_sent) {
    nghttp2_session_resume_data(session_, s.id);
    return;
  }
  s.headers_sent = true;
  nghttp2_nv nva[] = {header(":status", "200"), header("content-type", "application/grpc")};
  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = &h2_server_callbacks::read_response;
  nghttp2_submit_response(session_, s.id, nva, 2, &provider);
}

void h2_server_connection::write_message(std::int32_t id, std::string payload) {
  auto it = streams_.find(id);
  if (closed_ || it == streams_.end() || it->second->answered)
    return;  // the client went away, or the call already ended
  auto& s = *it->second;
  grpc::append_frame(s.out, payload);
  start_response(s);
  flush();
}

void h2_server_connection::finish_call(std::int32_t id, status st, metadata trailers) {
  auto it = streams_.find(id);
  if (closed_ || it == streams_.end())
    return;
  auto& s = *it->second;
  if (s.answered)
    return;
  forget_deadline(s);
  if (s.dispatched) {
    s.dispatched = false;
    --server_.active_calls_;
  }
  if (!s.headers_sent) {
    send_trailers_only(s, st, trailers);  // no message was sent: status in the headers
    if (!s.request_ended && s.streaming_request)
      s.reset_after_answer = true;  // stop the client's remaining requests
  } else {
    s.answered = true;
    s.body_done = true;
    s.trailers.emplace_back("grpc-status", std::to_string(static_cast<int>(st.code)));
    if (!st.message.empty())
      s.trailers.emplace_back("grpc-message", grpc::percent_encode_message(st.message));
    for (auto& [k, v] : trailers)
      s.trailers.emplace_back(k, grpc::is_binary_header(k) ? grpc::base64_encode(v) : v);
    start_response(s);  // resumes the body: EOF and trailers once `out` drains
  }
  flush();
}

void h2_server_connection::respond(std::int32_t id, status st, std::string payload,
                                   metadata trailers) {
  if (st.ok()) {
    // The message and the trailers leave together (finish_call flushes once).
    auto it = streams_.find(id);
    if (closed_ || it == streams_.end() || it->second->answered)
      return;
    auto& s = *it->second;
    grpc::append_frame(s.out, payload);
    start_response(s);
  }
  finish_call(id, std::move(st), std::move(trailers));
}

void h2_server_connection::end(std::int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end())
    return;
  auto& s = *it->second;
  forget_deadline(s);
  if (s.pending)
    s.pending->done.store(true);  // cancelled or finished: responders do nothing now
  if (s.dispatched)
    --server_.active_calls_;
  streams_.erase(it);
}

// Graceful shutdown in two steps, as RFC 9113 section 6.8 advises and gRPC servers do:
// a GOAWAY announcing the shutdown (last stream id 2^31-1) and a PING; once the PING is
// acknowledged the client has seen the announcement and opens no more streams here, so
// the final GOAWAY's last stream id covers every stream it sent. Closing right after a
// single GOAWAY instead races with streams already on the wire: the client's write then
// fails (EPIPE) and those calls end UNAVAILABLE although the server never saw them.
void h2_server_connection::go_away() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] {
    if (self->closed_ || self->notice_sent_ || !self->session_)
      return;
    self->notice_sent_ = true;
    nghttp2_submit_shutdown_notice(self->session_);
    nghttp2_submit_ping(self->session_, NGHTTP2_FLAG_NONE, goaway_ping);
    self->flush();
  });
}

void h2_server_connection::final_goaway() {
  if (closed_ || draining_ || !notice_sent_ || !session_)
    return;
  draining_ = true;
  nghttp2_submit_goaway(session_, NGHTTP2_FLAG_NONE,
                        nghttp2_session_get_last_proc_stream_id(session_), NGHTTP2_NO_ERROR,
                        nullptr, 0);
}

void h2_server_connection::close_now() {
  asio::post(socket_.get_executor(), [self = shared_from_this()] { self->close(); });
}

void h2_server_connection::forget_deadline(server_stream& s) {
  if (s.in_deadlines) {
    s.in_deadlines = false;
    deadlines_.remove(*s.deadline, s.id);
  }
}

void h2_server_connection::on_deadline(std::int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end())
    return;
  auto& st = *it->second;
  st.in_deadlines = false;
  // The handler may be answering on another thread: whoever sets `done` first answers.
  if (st.pending && !st.pending->done.exchange(true))
    finish_call(id, {status_code::deadline_exceeded, "deadline exceeded"}, {});
}

void h2_server_connection::close() {
  if (closed_)
    return;
  closed_ = true;
  std::error_code ignored;
  socket_.shutdown(asio::socket_base::shutdown_both, ignored);
  socket_.close(ignored);
  deadlines_.clear();
  for (auto& [id, s] : streams_) {
    if (s->pending)
      s->pending->done.store(true);
    if (s->dispatched)
      --server_.active_calls_;
  }
  streams_.clear();
  server_.connection_closed(this);
}

}  // namespace achan::transport
