// h2_client_connection: opening, queueing, cancelling and timing out calls.
#include <nghttp2/nghttp2.h>

#include <asio/post.hpp>

#include <algorithm>

#include "transport/grpc/framing.hpp"
#include "transport/grpc/timeout.hpp"
#include "transport/grpc/wire_text.hpp"
#include "transport/h2/client_callbacks.hpp"
#include "transport/h2/client_connection.hpp"
#include "transport/h2/client_stream.hpp"
#include "transport/h2/nghttp2_util.hpp"

namespace achan::transport {

using h2util::header;

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
  auto st = std::make_unique<h2_stream>(
      c, std::min(opts_.max_receive_message_size, c->max_response_bytes));
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
  // The header list must fit the server's SETTINGS_MAX_HEADER_LIST_SIZE (nghttp2 would
  // send it anyway) and nghttp2's own 64 KiB block limit (it would drop the HEADERS and
  // close the stream as if refused): fail the call with the real reason instead.
  auto size = h2util::header_list_size(nva);
  auto limit = std::min<std::uint64_t>(
      nghttp2_session_get_remote_settings(session_, NGHTTP2_SETTINGS_MAX_HEADER_LIST_SIZE),
      64 * 1024);
  if (size > limit) {
    c->fail(status_code::resource_exhausted,
            "request metadata of " + std::to_string(size) + " bytes exceeds " +
                (limit < 64 * 1024 ? "the limit of " + std::to_string(limit) + " bytes that " +
                                         address_ + " accepts"
                                   : std::string{"the 65536 bytes a request header list may take"}),
            address_);
    return;
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
  if (c->on_message)
    c->attach_flow(weak_from_this());  // stream_call::pause_responses reaches us
  stream_of_call_[c->id()] = id;
  streams_.emplace(id, std::move(st));
}

void h2_client_connection::flow_changed(std::uint64_t call_id) {
  asio::post(strand_, [self = shared_from_this(), call_id] {
    auto it = self->stream_of_call_.find(call_id);
    if (it == self->stream_of_call_.end() || !self->session_)
      return;
    if (auto s = self->streams_.find(it->second); s != self->streams_.end()) {
      self->apply_flow(*s->second);
      self->flush();
    }
  });
}

void h2_client_connection::apply_flow(h2_stream& s) {
  // Paused: a local window of 0 stops nghttp2's WINDOW_UPDATEs for the stream (the
  // server may still send what its window has left). Resumed: the window is granted
  // again at once. (nghttp2 keeps the credit it cut in recv_reduction.)
  auto window = s.c->responses_paused() ? 0 : static_cast<std::int32_t>(opts_.stream_window);
  nghttp2_session_set_local_window_size(session_, NGHTTP2_FLAG_NONE, s.id, window);
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

void h2_client_connection::on_deadline(std::int32_t id) {
  auto it = streams_.find(id);
  if (it == streams_.end())
    return;
  it->second->deadline = time_point::max();  // no longer in deadlines_
  it->second->local_error = {status_code::deadline_exceeded, "deadline exceeded"};
  nghttp2_submit_rst_stream(session_, NGHTTP2_FLAG_NONE, id, NGHTTP2_CANCEL);
}

}  // namespace achan::transport
