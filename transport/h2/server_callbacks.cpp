// The nghttp2 callbacks of h2_server_connection: requests in, response bodies out.
#include "transport/h2/server_callbacks.hpp"

#include <algorithm>
#include <cstring>

#include "transport/grpc/timeout.hpp"
#include "transport/grpc/wire_text.hpp"
#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/server_connection.hpp"
#include "transport/h2/session_options.hpp"

namespace achan::transport {

using h2util::view;
using phase = server_stream::phase;

namespace {
h2_server_connection& self(void* p) {
  return *static_cast<h2_server_connection*>(p);
}
/// Compacting a partly sent response buffer once this much of it went out.
constexpr std::size_t compact_after = 64 * 1024;
}  // namespace

bool h2_server_callbacks::new_session(h2_server_connection& c) {
  return h2util::new_session<h2_server_callbacks>(&c.session_, &c, true);
}

int h2_server_callbacks::on_begin_headers(nghttp2_session*, const nghttp2_frame* frame,
                                          void* user) {
  auto& c = self(user);
  c.budget_.begin();
  if (frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;
  c.streams_.emplace(
      frame->hd.stream_id,
      std::make_unique<server_stream>(frame->hd.stream_id, c.opts().max_receive_message_size));
  return 0;
}

int h2_server_callbacks::on_header(nghttp2_session*, const nghttp2_frame* frame,
                                   const std::uint8_t* name, std::size_t namelen,
                                   const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                                   void* user) {
  auto& c = self(user);
  auto verdict = c.budget_.add(namelen, valuelen);
  if (verdict == h2util::header_budget::verdict::abuse) {
    // An HPACK "bomb" (one dynamic-table entry referenced thousands of times): no
    // legitimate client sends 4x what we advertised. No more callbacks for this block.
    c.abort_connection(NGHTTP2_ENHANCE_YOUR_CALM,
                       "header list of over " + std::to_string(c.budget_.used()) +
                           " bytes (limit " + std::to_string(c.budget_.limit()) + ")");
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
  auto* s = c.stream(frame->hd.stream_id);
  if (!s || frame->hd.type != NGHTTP2_HEADERS || frame->headers.cat != NGHTTP2_HCAT_REQUEST)
    return 0;  // request trailers carry nothing gRPC uses
  if (verdict == h2util::header_budget::verdict::over) {
    if (!s->header_overflow) {
      s->header_overflow = true;
      metadata{}.swap(s->md);  // refused at the end of the block: keep nothing
    }
    s->header_bytes = c.budget_.used();
    return 0;
  }
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
    // The deadline counts from now, when the request's headers arrive.
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
    else if (s->error.ok())  // answered INTERNAL, as grpc-go does, never dropped silently
      s->error = {status_code::internal,
                  "malformed binary metadata '" + std::string{k} + "' (not base64)"};
  } else {
    s->md.emplace_back(std::string{k}, std::string{v});
  }
  return 0;
}

int h2_server_callbacks::on_data(nghttp2_session*, std::uint8_t, std::int32_t id,
                                 const std::uint8_t* data, std::size_t len, void* user) {
  auto& c = self(user);
  auto* s = c.stream(id);
  if (!s || s->answered() || !s->error.ok())
    return 0;
  if (c.received_ + len > c.opts().max_connection_receive_buffer) {
    c.refuse(*s, {status_code::resource_exhausted,
                  "request data held on this connection would exceed " +
                      std::to_string(c.opts().max_connection_receive_buffer) +
                      " bytes (the server's max_connection_receive_buffer)"});
    return 0;
  }
  if (auto err = s->deframer.feed(data, len); !err.ok()) {
    // Answer now (e.g. RESOURCE_EXHAUSTED) instead of reading the rest, then reset.
    c.refuse(*s, std::move(err));
    return 0;
  }
  std::string msg;
  while (s->deframer.next(msg)) {
    ++s->messages;
    if (s->streaming_request) {
      if (s->reader.on_message && s->state == phase::serving)
        s->reader.on_message(std::move(msg));
    } else if (s->messages == 1) {
      s->request = std::move(msg);
    }  // (more than one message for a unary method: refused at END_STREAM)
  }
  c.account_request(*s);
  return 0;
}

int h2_server_callbacks::on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  auto& c = self(user);
  switch (frame->hd.type) {
    case NGHTTP2_SETTINGS:
      if (!(frame->hd.flags & NGHTTP2_FLAG_ACK) && !c.handshake_done_) {
        c.handshake_done_ = true;
        c.timers_.clear(h2_server_connection::handshake_timer);
      }
      return 0;
    case NGHTTP2_PING:
      if (frame->hd.flags & NGHTTP2_FLAG_ACK) {
        if (std::memcmp(frame->ping.opaque_data, goaway_ping, sizeof goaway_ping) == 0)
          c.final_goaway();
        else
          c.keepalive_acked();
      } else if (c.pings_.on_ping(std::chrono::steady_clock::now(), !c.streams_.empty())) {
        c.abort_connection(NGHTTP2_ENHANCE_YOUR_CALM, "too_many_pings");
      }
      return 0;
    case NGHTTP2_HEADERS:
    case NGHTTP2_DATA:
      break;
    default:
      return 0;
  }
  auto* s = c.stream(frame->hd.stream_id);
  if (!s)
    return 0;
  bool end_stream = frame->hd.flags & NGHTTP2_FLAG_END_STREAM;
  if (frame->hd.type == NGHTTP2_HEADERS && frame->headers.cat == NGHTTP2_HCAT_REQUEST) {
    s->request_ended = end_stream;
    if (s->header_overflow) {
      c.refuse(*s, {status_code::resource_exhausted,
                    "request header list of " + std::to_string(s->header_bytes) +
                        " bytes exceeds the server's limit of " +
                        std::to_string(c.budget_.limit()) + " bytes"});
      return 0;
    }
    if (s->deadline) {
      s->in_deadlines = true;
      c.deadlines_.add(*s->deadline, s->id, c.shared_from_this());
    }
    c.dispatch_streaming(*s);  // client/bidi methods start at their headers
  }
  if (!end_stream)
    return 0;
  s->request_ended = true;
  if (!s->streaming_request) {
    c.dispatch(*s);
  } else if (s->state == phase::serving) {
    if (auto err = s->deframer.finish(); !err.ok())
      c.finish_call(s->id, std::move(err), {});
    else if (s->reader.on_end)
      s->reader.on_end();
  }
  return 0;
}

int h2_server_callbacks::on_frame_sent(nghttp2_session* session, const nghttp2_frame* frame,
                                       void* user) {
  auto& c = self(user);
  if (frame->hd.type == NGHTTP2_DATA || frame->hd.type == NGHTTP2_HEADERS)
    c.pings_.on_data_sent();
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR &&
      !c.aborting_) {
    // nghttp2's own GOAWAY for a protocol error it found (it closes once this is out).
    c.server_.log("GOAWAY " + std::string{nghttp2_http2_strerror(frame->goaway.error_code)} +
                  " to " + c.peer_ + ": " +
                  std::string{reinterpret_cast<const char*>(frame->goaway.opaque_data),
                              frame->goaway.opaque_data_len});
    return 0;
  }
  if (frame->hd.type != NGHTTP2_HEADERS || !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
    return 0;
  if (auto* s = c.stream(frame->hd.stream_id); s && s->reset_after_answer)
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_NO_ERROR);
  return 0;
}

int h2_server_callbacks::on_frame_not_sent(nghttp2_session* session, const nghttp2_frame* frame,
                                           int lib_error, void* user) {
  // A response HEADERS nghttp2 could not send (fit_trailers keeps them within the
  // client's limit, so this is a last resort): the client must not wait for it.
  if (frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  auto& c = self(user);
  if (auto* s = c.stream(frame->hd.stream_id)) {
    c.server_.log("cannot send response headers to " + c.peer_ + ": " +
                  nghttp2_strerror(lib_error));
    s->state = phase::done;
    nghttp2_submit_rst_stream(session, NGHTTP2_FLAG_NONE, s->id, NGHTTP2_INTERNAL_ERROR);
  }
  return 0;
}

int h2_server_callbacks::on_close(nghttp2_session*, std::int32_t id, std::uint32_t, void* user) {
  self(user).end(id);
  return 0;
}

ssize_t h2_server_callbacks::read_response(nghttp2_session* session, std::int32_t id,
                                           std::uint8_t* buf, std::size_t length,
                                           std::uint32_t* flags, nghttp2_data_source* source,
                                           void* user) {
  auto& c = self(user);
  auto& s = *static_cast<server_stream*>(source->ptr);
  if (s.unsent() == 0 && s.state != phase::finishing) {
    s.out.clear();
    s.sent = 0;
    return NGHTTP2_ERR_DEFERRED;  // resumed by the next write or the finish
  }
  auto n = std::min(length, s.unsent());
  std::memcpy(buf, s.out.data() + s.sent, n);
  s.sent += n;
  c.unsent_ -= n;
  // Messages now wholly in DATA frames: their writers hear so after mem_send.
  for (; s.notes_head < s.notes.size() && s.notes[s.notes_head].end <= s.sent; ++s.notes_head) {
    auto& note = s.notes[s.notes_head];
    if (s.pending)
      s.pending->buffered.fetch_sub(note.size, std::memory_order_relaxed);
    if (note.fn)
      c.notes_.emplace_back(std::move(note.fn), true);
  }
  if (s.unsent() == 0) {
    s.out.clear();
    s.sent = 0;
    s.notes.clear();
    s.notes_head = 0;
    if (s.state == phase::finishing) {
      s.state = phase::done;
      *flags |= NGHTTP2_DATA_FLAG_EOF | NGHTTP2_DATA_FLAG_NO_END_STREAM;
      std::vector<nghttp2_nv> nva;
      for (auto& [k, v] : s.trailers)
        nva.push_back(h2util::header(k, v));
      nghttp2_submit_trailer(session, id, nva.data(), nva.size());
    }
  } else if (s.sent >= compact_after && 2 * s.sent >= s.out.size()) {
    // A slow reader: drop what went out so `out` holds only the unsent bytes.
    s.out.erase(0, s.sent);
    s.notes.erase(s.notes.begin(), s.notes.begin() + static_cast<std::ptrdiff_t>(s.notes_head));
    s.notes_head = 0;
    for (auto& note : s.notes)
      note.end -= s.sent;
    s.sent = 0;
  }
  return static_cast<ssize_t>(n);
}

}  // namespace achan::transport
