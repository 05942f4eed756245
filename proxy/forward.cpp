// One proxied call: the client's stream (server side) joined to a backend stream (the
// route's channel). Requests: server I/O thread -> backend stream_call. Responses:
// backend transport thread -> server_writer. Each direction pauses its sender (HTTP/2
// window) while more than stream_buffer bytes wait in the proxy.
#include "proxy/forward.hpp"

#include <chrono>
#include <mutex>
#include <utility>
#include <vector>

#include <asio/steady_timer.hpp>

#include "proxy/faults.hpp"

namespace achan::proxy {

bool hop_by_hop(const std::string& k) noexcept {
  return k == "grpc-timeout" || k == "te" || k == "content-type" || k == "user-agent" ||
         k == "grpc-encoding" || k == "grpc-accept-encoding" || k == "connection" || k == "host" ||
         (!k.empty() && k[0] == ':');
}

namespace {

/// Opens and closes one direction's flow: shut while more than `limit` bytes wait, open
/// again at half. Called after every change of the waiting bytes, under the call's lock,
/// so the last caller sees the last count and the state cannot stick.
struct valve {
  bool shut = false;
  template <class Set>
  void update(std::size_t waiting, std::size_t limit, Set&& set) {
    if (!shut && waiting > limit) {
      shut = true;
      set(true);
    } else if (shut && waiting <= limit / 2) {
      shut = false;
      set(false);
    }
  }
};

class proxied_call : public std::enable_shared_from_this<proxied_call> {
 public:
  proxied_call(std::shared_ptr<route_state> r, transport::server_writer o, std::size_t limit,
               std::string via)
      : route_(std::move(r)), out_(std::move(o)), limit_(limit), via_(std::move(via)) {}

  /// Starts the backend call (now, or when a fault delay ends).
  void start(std::string method, metadata md, std::optional<time_point> deadline) {
    {
      std::lock_guard lk{mx_};
      if (cancelled_) {  // the client gave up during a fault delay
        route_->count_end(status_code::cancelled, {});
        return;
      }
    }
    call_options o;
    if (deadline) {
      auto left = *deadline - std::chrono::steady_clock::now();
      if (left <= clock_duration::zero()) {
        end_locally({status_code::deadline_exceeded, "deadline exceeded in achan proxy"});
        return;
      }
      o.timeout = std::chrono::duration_cast<clock_duration>(left);
    }
    if (!via_.empty())
      md.emplace_back("via", via_);
    o.md = std::move(md);
    std::weak_ptr<proxied_call> w = weak_from_this();
    o.on_headers = [w](const metadata& h) {
      if (auto self = w.lock())
        self->on_headers(h);
    };
    auto b = route_->ch->bidi_stream(
        std::move(method), std::move(o),
        [w](std::string&& m) {
          if (auto self = w.lock())
            self->on_response(std::move(m));
        },
        [self = shared_from_this()](call_result&& r) { self->on_done(std::move(r)); });
    std::unique_lock lk{mx_};
    backend_ = b;
    started_ = true;
    for (auto& m : pending_)
      write_request(std::move(m));
    pending_.clear();
    pending_bytes_ = 0;
    if (requests_ended_)
      backend_.writes_done();
    update_requests();
    bool cancel = cancelled_;
    lk.unlock();
    if (cancel)
      b.cancel();  // (outside mx_: see on_cancel)
  }

  // --- the client's side (server I/O thread) ---
  void on_request(std::string&& m) {
    std::lock_guard lk{mx_};
    if (!started_) {  // a fault delay holds the call: keep the requests, within the bound
      pending_bytes_ += m.size();
      pending_.push_back(std::move(m));
    } else {
      write_request(std::move(m));
    }
    update_requests();
  }
  void on_requests_end() {
    std::lock_guard lk{mx_};
    requests_ended_ = true;
    if (started_)
      backend_.writes_done();
  }
  void on_cancel() {  // the client cancelled, the deadline passed, the connection closed
    stream_call b;
    {
      std::lock_guard lk{mx_};
      cancelled_ = true;
      if (!started_)
        return;
      b = backend_;
    }
    // Outside mx_: cancel() ends the call, which waits for a response being delivered on
    // the backend's thread, and that delivery (on_response) takes mx_.
    b.cancel();
  }

  /// Ends the call without a backend (delay outlived the deadline; not counted as sent).
  void end_locally(status st) {
    route_->count_end(st.code, {});
    out_.finish(std::move(st));
  }

 private:
  // --- the backend's side (its transport thread) ---
  void on_headers(const metadata& h) {
    if (via_.empty()) {
      out_.send_headers(h);
      return;
    }
    metadata md = h;
    md.emplace_back("via", via_);
    out_.send_headers(std::move(md));
  }
  void on_response(std::string&& m) {
    std::weak_ptr<proxied_call> w = weak_from_this();
    out_.write(std::move(m), [w](bool) {
      if (auto self = w.lock()) {
        std::lock_guard lk{self->mx_};
        self->update_responses();
      }
    });
    std::lock_guard lk{mx_};
    update_responses();
  }
  void on_done(call_result&& r) {
    metadata trailers;
    auto first = std::min(r.header_count, r.trailers.size());
    trailers.assign(
        std::make_move_iterator(r.trailers.begin() + static_cast<std::ptrdiff_t>(first)),
        std::make_move_iterator(r.trailers.end()));
    route_->count_end(r.status.code, r.peer);
    out_.finish(std::move(r.status), std::move(trailers));
  }

  // --- under mx_ ---
  void write_request(std::string&& m) {
    std::weak_ptr<proxied_call> w = weak_from_this();
    backend_.write(std::move(m), [w](bool) {
      if (auto self = w.lock()) {
        std::lock_guard lk{self->mx_};
        self->update_requests();
      }
    });
  }
  void update_requests() {
    auto waiting = started_ ? backend_.buffered() : pending_bytes_;
    requests_.update(waiting, limit_, [&](bool p) { out_.pause_requests(p); });
  }
  void update_responses() {
    responses_.update(out_.buffered(), limit_, [&](bool p) {
      if (started_)
        backend_.pause_responses(p);
    });
  }

  std::shared_ptr<route_state> route_;
  transport::server_writer out_;
  std::size_t limit_;
  std::string via_;
  // Everything below; held briefly (this is not actor code). Recursive: a pause applied
  // inline on the server's strand may run a write's `sent` callback, which takes it.
  std::recursive_mutex mx_;
  bool started_ = false;
  stream_call backend_;
  std::vector<std::string> pending_;
  std::size_t pending_bytes_ = 0;
  bool requests_ended_ = false;
  bool cancelled_ = false;
  valve requests_, responses_;
};

}  // namespace

transport::stream_reader forward(const forward_context& ctx, std::shared_ptr<route_state> route,
                                 transport::server_call_info info, transport::server_writer out) {
  auto n = route->calls.fetch_add(1, std::memory_order_relaxed);
  route->in_flight.fetch_add(1, std::memory_order_relaxed);
  bool headers = false;
  auto rules = route->current_faults(headers);
  metadata md;
  md.reserve(info.request_metadata.size() + 1);
  for (auto& kv : info.request_metadata)
    if (!hop_by_hop(kv.first))
      md.push_back(std::move(kv));
  auto d = decide(*rules, headers, info.method, md, ctx.seed, n);
  auto call = std::make_shared<proxied_call>(route, out, ctx.stream_buffer, ctx.via);
  if (d.error || d.abort) {
    if (d.abort)
      route->aborted.fetch_add(1, std::memory_order_relaxed);
    call->end_locally(std::move(d.error ? *d.error : *d.abort));
    return {};
  }
  if (d.delay.count() > 0) {
    route->delayed.fetch_add(1, std::memory_order_relaxed);
    auto timer = std::make_shared<asio::steady_timer>(*ctx.timers, d.delay);
    timer->async_wait([timer, call, method = std::move(info.method), md = std::move(md),
                       deadline = info.deadline](const std::error_code&) mutable {
      call->start(std::move(method), std::move(md), deadline);  // (also when the proxy stops)
    });
  } else {
    call->start(std::move(info.method), std::move(md), info.deadline);
  }
  return {[call](std::string&& m) { call->on_request(std::move(m)); },
          [call] { call->on_requests_end(); }, [call] { call->on_cancel(); }};
}

}  // namespace achan::proxy
