// The nghttp2 callbacks of h2_client_connection, and how a stream's end becomes the
// call's status.
#include "transport/h2/client_callbacks.hpp"

#include <algorithm>
#include <cstring>

#include "transport/grpc/status_mapping.hpp"
#include "transport/grpc/wire_text.hpp"
#include "transport/h2/client_connection.hpp"
#include "transport/h2/client_stream.hpp"
#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/session_options.hpp"

namespace achan::transport {

using h2util::view;

namespace {

h2_client_connection& self(void* p) {
  return *static_cast<h2_client_connection*>(p);
}

h2_stream* stream(nghttp2_session* s, std::int32_t id) {
  return static_cast<h2_stream*>(nghttp2_session_get_stream_user_data(s, id));
}

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

bool h2_callbacks::new_session(h2_client_connection& c) {
  return h2util::new_session<h2_callbacks>(&c.session_, &c, false);
}

ssize_t h2_callbacks::read_request(nghttp2_session*, std::int32_t, std::uint8_t* buf,
                                   std::size_t length, std::uint32_t* flags,
                                   nghttp2_data_source* source, void* user) {
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
  for (; st.taken_head < st.taken.size() && st.taken[st.taken_head].end <= st.sent; ++st.taken_head)
    self(user).handed_on_.emplace_back(st.c->requests, std::move(st.taken[st.taken_head]));
  if (st.sent == st.out.size() && (!st.c->requests || st.requests_closed)) {
    *flags |= NGHTTP2_DATA_FLAG_EOF;
    std::string{}.swap(st.out);  // the request is on its way; free it
  }
  return static_cast<ssize_t>(n);
}

int h2_callbacks::on_begin_headers(nghttp2_session*, const nghttp2_frame*, void* user) {
  self(user).budget_.begin();
  return 0;
}

int h2_callbacks::on_header(nghttp2_session* s, const nghttp2_frame* frame,
                            const std::uint8_t* name, std::size_t namelen,
                            const std::uint8_t* value, std::size_t valuelen, std::uint8_t,
                            void* user) {
  if (frame->hd.type != NGHTTP2_HEADERS)
    return 0;
  auto* st = stream(s, frame->hd.stream_id);
  if (!st)
    return 0;
  auto& c = self(user);
  if (c.budget_.add(namelen, valuelen) != h2util::header_budget::verdict::ok) {
    // Counted before anything is copied: the call ends, nghttp2 resets the stream
    // (RST_STREAM) and skips the rest of the block.
    st->local_error = {status_code::resource_exhausted,
                       "response header list from " + c.address_ +
                           " exceeds the client's limit of " + std::to_string(c.budget_.limit()) +
                           " bytes (h2_options::max_header_list_size)"};
    return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
  }
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
      auto bin = grpc::base64_decode(v);
      if (!bin) {  // as grpc-go: the call fails, nothing is silently dropped
        st->local_error = {status_code::internal, "malformed binary metadata '" + std::string{k} +
                                                      "' from " + c.address_ + " (not base64)"};
        return NGHTTP2_ERR_TEMPORAL_CALLBACK_FAILURE;
      }
      st->headers.emplace_back(std::string{k}, std::move(*bin));
    } else {
      st->headers.emplace_back(std::string{k}, std::string{v});
    }
  }
  return 0;
}

void h2_callbacks::refuse(nghttp2_session* s, h2_client_connection& c, h2_stream& st, status err) {
  st.local_error = std::move(err);
  c.received_ -= st.held;
  st.held = 0;
  st.deframer = grpc::deframer{st.deframer.max_message_size()};
  std::string{}.swap(st.message);
  nghttp2_submit_rst_stream(s, NGHTTP2_FLAG_NONE, st.id, NGHTTP2_CANCEL);
}

int h2_callbacks::on_data(nghttp2_session* s, std::uint8_t, std::int32_t id,
                          const std::uint8_t* data, std::size_t len, void* user) {
  auto* st = stream(s, id);
  if (!st || !st->local_error.ok())
    return 0;
  auto& c = self(user);
  if (c.received_ + len > c.opts_.max_connection_receive_buffer) {
    refuse(s, c, *st,
           {status_code::resource_exhausted,
            "response data held on the connection to " + c.address_ + " would exceed " +
                std::to_string(c.opts_.max_connection_receive_buffer) +
                " bytes (h2_options::max_connection_receive_buffer)"});
    return 0;
  }
  if (auto err = st->deframer.feed(data, len); !err.ok()) {
    // Over the limit or malformed: end the call now and reset the stream.
    refuse(s, c, *st, std::move(err));
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
  auto held = st->deframer.buffered_bytes() + st->message.size();
  c.received_ = c.received_ - st->held + held;
  st->held = held;
  return 0;
}

int h2_callbacks::on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user) {
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
    case NGHTTP2_HEADERS:
      // Response headers that do not end the stream: not a Trailers-Only answer.
      if (frame->headers.cat == NGHTTP2_HCAT_RESPONSE &&
          !(frame->hd.flags & NGHTTP2_FLAG_END_STREAM))
        if (auto* st = stream(c.session_, frame->hd.stream_id)) {
          st->headers_received = true;
          st->header_count = st->headers.size();
          st->c->deliver_headers(st->headers);
          if (st->c->responses_paused())
            c.apply_flow(*st);  // paused before nghttp2 had opened the stream
        }
      break;
    case NGHTTP2_GOAWAY:
      c.on_goaway(frame->goaway.error_code,
                  {reinterpret_cast<const char*>(frame->goaway.opaque_data),
                   frame->goaway.opaque_data_len});
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

int h2_callbacks::on_frame_sent(nghttp2_session*, const nghttp2_frame* frame, void* user) {
  if (frame->hd.type == NGHTTP2_GOAWAY && frame->goaway.error_code != NGHTTP2_NO_ERROR)
    self(user).sent_goaway_error_ = frame->goaway.error_code;
  return 0;
}

int h2_callbacks::on_frame_not_sent(nghttp2_session* s, const nghttp2_frame* frame, int lib_error,
                                    void* user) {
  // A request HEADERS nghttp2 could not send (open_stream checks the size first, so this
  // is a last resort): the call ends with what really happened, not as if the server had
  // refused it.
  // (Streams refused because the connection is going away are not errors: nghttp2
  // closes them as REFUSED_STREAM and the call is rerouted.)
  if (frame->hd.type != NGHTTP2_HEADERS ||
      (lib_error != NGHTTP2_ERR_FRAME_SIZE_ERROR && lib_error != NGHTTP2_ERR_HEADER_COMP))
    return 0;
  if (auto* st = stream(s, frame->hd.stream_id); st && st->local_error.ok())
    st->local_error = {status_code::internal, "cannot send the request headers to " +
                                                  self(user).address_ + ": " +
                                                  nghttp2_strerror(lib_error)};
  return 0;
}

int h2_callbacks::on_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code,
                           void* user) {
  auto& c = self(user);
  auto it = c.streams_.find(id);
  if (it == c.streams_.end())
    return 0;
  auto st = std::move(it->second);
  c.streams_.erase(it);
  c.received_ -= st->held;
  if (st->deadline != time_point::max())
    c.deadlines_.remove(st->deadline, id);
  c.stream_of_call_.erase(st->c->id());
  c.drop_taken(*st);
  c.finish_stream(*st, error_code);
  c.start_waiting();  // a stream slot is free
  return 0;
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
  r.headers_received = s.headers_received;
  r.header_count = s.header_count;
  c->finish(std::move(r));
}

}  // namespace achan::transport
