// h2_server_connection: dispatching streams to handlers and answering them (the
// responder and server_writer that handlers hold: server_handles.cpp).
#include <nghttp2/nghttp2.h>

#include <utility>

#include "transport/grpc/framing.hpp"
#include "transport/grpc/wire_text.hpp"
#include "transport/h2/header_budget.hpp"
#include "transport/h2/nghttp2_util.hpp"
#include "transport/h2/server_callbacks.hpp"
#include "transport/h2/server_connection.hpp"
#include "transport/h2/server_metrics_state.hpp"

namespace achan::transport {

using h2util::header;
using phase = server_stream::phase;

// --- dispatching ----------------------------------------------------------------

/// Checks the request's HTTP/gRPC envelope: POST with a gRPC content-type.
static bool grpc_request(const server_stream& s) {
  return s.post && s.content_type.rfind("application/grpc", 0) == 0;
}

std::shared_ptr<pending_response> h2_server_connection::begin_call(server_stream& s) {
  s.state = phase::serving;
  ++server_.active_calls_;
  s.pending = std::make_shared<pending_response>();
  s.pending->conn = weak_from_this();
  s.pending->stream_id = s.id;
  if (opts().orca)
    s.metrics = std::make_shared<call_metrics_state>();
  return s.pending;
}

server_call_info h2_server_connection::take_call_info(server_stream& s) {
  server_call_info info{
      s.method, std::move(s.authority), std::move(s.md), s.deadline, peer_, tls_peer_, {}};
  info.metrics = call_metric_recorder{s.metrics};
  return info;
}

void h2_server_connection::dispatch_streaming(server_stream& s) {
  if (s.state != phase::receiving || !grpc_request(s))
    return;
  if (!s.error.ok()) {  // a malformed header (grpc-timeout, -bin): no handler sees the call
    send_trailers_only(s, s.error);
    return;
  }
  auto m = server_.methods_.find(s.method);
  const auto* handler = m != server_.methods_.end() ? &m->second.streaming : &server_.fallback_;
  if (m == server_.methods_.end() && !*handler) {
    // Answered at its headers, as grpc++ and grpc-go do: a client that keeps its stream
    // open until it has an answer (a reflection client) is not left waiting.
    send_trailers_only(s, {status_code::unimplemented, "unknown method " + s.method});
    return;
  }
  if (!*handler)
    return;  // unary or server-streaming: dispatched once the request is complete
  s.streaming_request = true;
  auto pending = begin_call(s);
  auto info = take_call_info(s);
  s.reader = (*handler)(std::move(info), server_writer{pending});
}

void h2_server_connection::dispatch(server_stream& s) {
  if (s.state != phase::receiving)
    return;
  if (!grpc_request(s)) {
    // Not a gRPC request: HTTP 415 as PROTOCOL-HTTP2 recommends.
    s.state = phase::done;
    release_request(s);
    forget_deadline(s);
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
  auto info = take_call_info(s);
  auto request = std::move(s.request);
  release_request(s);  // the handler owns the request now
  if (m->second.unary)
    m->second.unary(std::move(info), std::move(request), responder{pending});
  else
    m->second.server_stream(std::move(info), std::move(request), server_writer{pending});
}

// --- answering --------------------------------------------------------------------

status h2_server_connection::fit_trailers(
    const std::vector<std::pair<std::string, std::string>>& fields, std::size_t extra) const {
  std::uint64_t size = extra;
  for (auto& [k, v] : fields)
    size += k.size() + v.size() + 32;
  // The client's advertised limit, and nghttp2's own (64 KiB of encoded block).
  std::uint64_t limit = std::min<std::uint64_t>(
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE),
      64 * 1024);
  if (size <= limit)
    return {};
  return {status_code::internal, "the server's response metadata of " + std::to_string(size) +
                                     " bytes exceeds the client's limit of " +
                                     std::to_string(limit) + " bytes"};
}

void h2_server_connection::send_trailers_only(server_stream& s, status st,
                                              const metadata& trailers) {
  if (s.state == phase::serving)
    --server_.active_calls_;
  s.state = phase::done;
  forget_deadline(s);
  release_request(s);
  std::vector<std::pair<std::string, std::string>> fields;
  fields.reserve(trailers.size() + 1);
  if (!st.message.empty())
    fields.emplace_back("grpc-message", grpc::percent_encode_message(st.message));
  for (auto& [k, v] : trailers)
    fields.emplace_back(k, grpc::is_binary_header(k) ? grpc::base64_encode(v) : v);
  add_load_report(opts().orca.get(), s.metrics.get(), fields);
  if (auto too_big = fit_trailers(fields, 3 * 32 + 40); !too_big.ok()) {
    st = std::move(too_big);
    fields = {{"grpc-message", grpc::percent_encode_message(st.message)}};
  }
  auto code = std::to_string(static_cast<int>(st.code));
  std::vector<nghttp2_nv> nva{header(":status", "200"), header("content-type", "application/grpc"),
                              header("grpc-status", code)};
  for (auto& [k, v] : fields)
    nva.push_back(header(k, v));
  nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), nullptr);
  if (!s.request_ended)
    s.reset_after_answer = true;  // stop the client's remaining requests, once this is out
}

void h2_server_connection::refuse(server_stream& s, status st) {
  s.error = st;
  release_request(s);
  finish_call(s.id, std::move(st), {});
}

void h2_server_connection::reset_stream(server_stream& s, std::uint32_t code) {
  stop_handler(s);
  if (s.state == phase::serving)
    --server_.active_calls_;
  s.state = phase::done;
  forget_deadline(s);
  drop_output(s);
  release_request(s);
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, s.id, code);
}

/// Response metadata a handler may not set: the transport writes these itself.
static bool reserved_response_header(const std::string& k) {
  return k.empty() || k[0] == ':' || k == "content-type" || k == "grpc-status" ||
         k == "grpc-message" || k == "grpc-encoding" || k == "te" || k == "connection" ||
         k == "transfer-encoding";
}

void h2_server_connection::start_response(server_stream& s, const metadata* extra) {
  if (s.headers_sent) {
    nghttp2_session_resume_data(session_, s.id);
    return;
  }
  s.headers_sent = true;
  std::vector<std::pair<std::string, std::string>> fields;
  if (extra)
    for (auto& [k, v] : *extra)
      if (!reserved_response_header(k))
        fields.emplace_back(k, grpc::is_binary_header(k) ? grpc::base64_encode(v) : v);
  std::vector<nghttp2_nv> nva{header(":status", "200"), header("content-type", "application/grpc")};
  for (auto& [k, v] : fields)
    nva.push_back(header(k, v));  // (nghttp2 copies them)
  nghttp2_data_provider provider;
  provider.source.ptr = &s;
  provider.read_callback = &h2_server_callbacks::read_response;
  nghttp2_submit_response(session_, s.id, nva.data(), nva.size(), &provider);
}

void h2_server_connection::apply_request_flow(std::int32_t id) {
  auto* s = closed_ ? nullptr : stream(id);
  if (!s || !s->pending || s->answered())
    return;
  // As the client's apply_flow: a local window of 0 stops WINDOW_UPDATEs for the stream.
  auto window = s->pending->requests_paused.load(std::memory_order_acquire)
                    ? 0
                    : static_cast<std::int32_t>(opts().stream_window);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, id, window);
  flush();
}

void h2_server_connection::send_headers(std::int32_t id, metadata md) {
  auto* s = closed_ ? nullptr : stream(id);
  if (!s || s->answered() || s->headers_sent)
    return;
  std::uint64_t size = 2 * 32 + 40;
  for (auto& [k, v] : md)
    size += k.size() + (grpc::is_binary_header(k) ? (v.size() + 2) / 3 * 4 : v.size()) + 32;
  if (auto too_big = fit_trailers({}, size); !too_big.ok()) {
    finish_call(id, std::move(too_big), {});
    return;
  }
  start_response(*s, &md);
  flush();
}

void h2_server_connection::write_message(std::int32_t id, std::string payload,
                                         server_writer::sent_fn sent, std::size_t counted) {
  auto* s = closed_ ? nullptr : stream(id);
  if (!s || s->answered()) {
    // The client went away, or the call already ended.
    if (sent)
      notes_.emplace_back(std::move(sent), false);
    if (closed_)
      run_notes();
    else
      flush();
    return;
  }
  auto& o = opts();
  if (s->unsent() >= o.max_stream_send_buffer || unsent_ >= o.max_connection_send_buffer) {
    // The client reads slower than the handler writes: end the call rather than buffer
    // without bound (the handler paces itself with `sent` or buffered() to avoid this).
    if (sent)
      notes_.emplace_back(std::move(sent), false);
    status st{
        status_code::resource_exhausted,
        "the server's send buffer for " +
            std::string{s->unsent() >= o.max_stream_send_buffer ? "the stream" : "the connection"} +
            " is full: the client does not read fast enough"};
    if (s->unsent() > 0)
      reset_stream(*s, NGHTTP2_ENHANCE_YOUR_CALM);  // trailers cannot pass the held body
    else
      finish_call(id, std::move(st), {});
    flush();
    return;
  }
  grpc::append_frame(s->out, payload);
  unsent_ += payload.size() + grpc::frame_header_size;
  if (counted > 0 || sent)
    s->notes.push_back({s->out.size(), counted, std::move(sent)});
  start_response(*s);
  flush();
}

void h2_server_connection::finish_call(std::int32_t id, status st, metadata trailers) {
  auto* s = closed_ ? nullptr : stream(id);
  if (!s || s->answered())
    return;
  stop_handler(*s);  // the handler's writers stop here
  if (!s->headers_sent) {
    send_trailers_only(*s, std::move(st), trailers);  // no message was sent
  } else {
    if (s->state == phase::serving)
      --server_.active_calls_;
    s->state = phase::finishing;  // (the deadline stays: it resets a body that cannot drain)
    release_request(*s);
    auto& t = s->trailers;
    if (!st.message.empty())
      t.emplace_back("grpc-message", grpc::percent_encode_message(st.message));
    for (auto& [k, v] : trailers)
      t.emplace_back(k, grpc::is_binary_header(k) ? grpc::base64_encode(v) : v);
    add_load_report(opts().orca.get(), s->metrics.get(), t);
    if (auto too_big = fit_trailers(t, 32 + 12); !too_big.ok()) {
      st = std::move(too_big);
      t = {{"grpc-message", grpc::percent_encode_message(st.message)}};
    }
    t.insert(t.begin(), {"grpc-status", std::to_string(static_cast<int>(st.code))});
    if (!s->request_ended)
      s->reset_after_answer = true;
    start_response(*s);  // resumes the body: EOF and trailers once `out` drains
  }
  flush();
}

void h2_server_connection::respond(std::int32_t id, status st, std::string payload,
                                   metadata trailers) {
  if (st.ok()) {
    // The message and the trailers leave together (finish_call flushes once).
    auto* s = closed_ ? nullptr : stream(id);
    if (!s || s->answered())
      return;
    grpc::append_frame(s->out, payload);
    unsent_ += payload.size() + grpc::frame_header_size;
    start_response(*s);
  }
  finish_call(id, std::move(st), std::move(trailers));
}

// --- bookkeeping ----------------------------------------------------------------

void h2_server_connection::account_request(server_stream& s) {
  auto held = s.deframer.buffered_bytes() + s.request.size();
  received_ = received_ - s.held + held;
  s.held = held;
}

void h2_server_connection::release_request(server_stream& s) {
  received_ -= s.held;
  s.held = 0;
  if (s.deframer.buffered_bytes() > 0)
    s.deframer = grpc::deframer{opts().max_receive_message_size};
  std::string{}.swap(s.request);
}

void h2_server_connection::drop_output(server_stream& s) {
  unsent_ -= s.unsent();
  for (; s.notes_head < s.notes.size(); ++s.notes_head) {
    auto& note = s.notes[s.notes_head];
    if (s.pending)
      s.pending->buffered.fetch_sub(note.size, std::memory_order_relaxed);
    if (note.fn)
      notes_.emplace_back(std::move(note.fn), false);
  }
  s.notes.clear();
  s.notes_head = 0;
  std::string{}.swap(s.out);
  s.sent = 0;
}

void h2_server_connection::end(std::int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end())
    return;
  auto& s = *it->second;
  forget_deadline(s);
  drop_output(s);
  release_request(s);
  stop_handler(s);  // cancelled or finished: responders do nothing now
  if (s.state == phase::serving)
    --server_.active_calls_;
  streams_.erase(it);
  if (streams_.empty())
    idle_since_ = std::chrono::steady_clock::now();
}

void h2_server_connection::stop_handler(server_stream& s) {
  if (!s.pending || s.pending->done.exchange(true))
    return;  // no handler yet, or it finished the call (or was told already)
  if (auto cancel = std::exchange(s.reader.on_cancel, nullptr))
    cancel();
}

void h2_server_connection::forget_deadline(server_stream& s) {
  if (s.in_deadlines) {
    s.in_deadlines = false;
    deadlines_.remove(*s.deadline, s.id);
  }
}

void h2_server_connection::on_deadline(std::int32_t id) {
  auto* s = stream(id);
  if (!s)
    return;
  s->in_deadlines = false;
  switch (s->state) {
    case phase::receiving:  // the request never completed: answer and free it
      refuse(*s, {status_code::deadline_exceeded, "deadline exceeded"});
      break;
    case phase::serving:
      // The handler may be answering on another thread: whoever sets `done` first answers.
      if (s->pending && s->pending->done.exchange(true))
        break;
      if (auto cancel = std::exchange(s->reader.on_cancel, nullptr))
        cancel();
      if (s->unsent() > 0)
        reset_stream(*s, NGHTTP2_CANCEL);  // the client's window holds the body back
      else
        finish_call(id, {status_code::deadline_exceeded, "deadline exceeded"}, {});
      break;
    case phase::finishing:  // trailers held back behind a body the client does not read
      reset_stream(*s, NGHTTP2_CANCEL);
      break;
    case phase::done:
      break;
  }
}

}  // namespace achan::transport
