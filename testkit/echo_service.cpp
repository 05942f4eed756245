#include "testkit/echo_service.hpp"

#include <asio/steady_timer.hpp>

#include <algorithm>
#include <atomic>
#include <cmath>

#include "proto/echo.achan.pb.h"
#include "transport/h2/io_pool.hpp"

namespace achan::testkit {
namespace {

using achan::test::EchoReply;
using achan::test::EchoRequest;
using transport::server_call_info;

/// The status a request asks for (fail_code/fail_message); OK if none.
status asked_status(const EchoRequest& req) {
  return {static_cast<status_code>(req.fail_code()), req.fail_message()};
}

/// A reply carrying this server's name and the request's payload (or reply_size filler).
EchoReply reply_to(const std::string& server, const EchoRequest& req) {
  EchoReply reply;
  reply.set_server(server);
  reply.set_payload(req.reply_size() > 0 ? std::string(req.reply_size(), 'r') : req.payload());
  return reply;
}

/// Writes a ServerStream's replies one at a time: the next once the previous one went
/// into DATA frames, so a slow client slows this stream instead of filling the server's
/// send buffer (which ends the call with RESOURCE_EXHAUSTED at its limit).
struct pacer : std::enable_shared_from_this<pacer> {
  std::string server;
  EchoRequest req;
  response_writer<EchoReply> out;
  std::uint32_t next = 0;

  void send() {
    if (next == std::max<std::uint32_t>(1, req.reply_count()))
      return out.finish();
    auto reply = reply_to(server, req);
    reply.set_index(next++);
    out.write(reply, [self = shared_from_this()](bool ok) {
      if (ok)
        self->send();
    });  // (false: the client went away; nothing more to do)
  }
};

using steady = std::chrono::steady_clock;

/// Keeps a Bidi stream's delayed answers in order: each is due strictly after the one
/// before (timers due at the same instant may run in any order). Used on the I/O thread.
struct answer_order {
  steady::time_point last{};
  steady::time_point next(std::chrono::nanoseconds delay) {
    last = std::max(steady::now() + delay, last + std::chrono::nanoseconds{1});
    return last;
  }
};

const status injected{status_code::unavailable, "injected failure (--fail-rate)"};

class echo_impl final : public achan::test::Echo::Service {
 public:
  echo_impl(std::string name, std::weak_ptr<transport::io_pool> timers, echo_options opts)
      : name_(std::move(name)), timers_(std::move(timers)), opts_(std::move(opts)) {}

  void Unary(server_call_info info, EchoRequest req, typed_responder<EchoReply> respond) override {
    bool fail = seen(info);
    auto delay = wait(req);  // (before req moves into the lambda: no copy per call)
    status shaped;
    if (opts_.unary_shape) {
      auto [d, st] = opts_.unary_shape();
      delay += d - opts_.delay;
      shaped = std::move(st);
    }
    after(delay, [this, fail, shaped = std::move(shaped), req = std::move(req),
                  md = std::move(info.request_metadata), respond = std::move(respond)] {
      metadata trailers;
      for (const auto& [k, v] : md)
        if (k.rfind("x-echo-", 0) == 0)
          trailers.emplace_back(k, v);
      if (!shaped.ok())
        return respond.fail(failed(shaped), std::move(trailers));
      if (auto st = chosen(req, fail); !st.ok())
        return respond.fail(std::move(st), std::move(trailers));
      respond.reply(reply_to(name_, req), std::move(trailers));
    });
  }

  void ServerStream(server_call_info info, EchoRequest req,
                    response_writer<EchoReply> out) override {
    bool fail = seen(info);
    auto delay = wait(req);
    after(delay, [this, fail, req = std::move(req), out = std::move(out)] {
      if (auto st = chosen(req, fail); !st.ok())
        return out.finish(std::move(st));
      auto p = std::make_shared<pacer>();
      p->server = name_;
      p->req = req;  // (a stream's replies need it; one copy per stream)
      p->out = out;
      p->send();
    });
  }

  // One reply after the half-close, echoing the last request and counting.
  request_reader<EchoRequest> ClientStream(server_call_info info,
                                           typed_responder<EchoReply> respond) override {
    if (seen(info)) {
      after(opts_.delay, [this, respond] { respond.fail(failed(injected)); });
      return {};
    }
    auto last = std::make_shared<EchoRequest>();
    auto received = std::make_shared<std::uint32_t>(0);
    return {[last, received](EchoRequest&& req) {
              ++*received;
              *last = std::move(req);
            },
            [this, last, received, respond] {
              after(opts_.delay, [this, last, received, respond] {
                if (last->fail_code() != 0)
                  return respond.fail(failed(asked_status(*last)));
                EchoReply reply;
                reply.set_server(name_);
                reply.set_payload(last->payload());
                reply.set_received(*received);
                respond.reply(reply);
              });
            }};
  }

  // One reply per request, as it arrives; OK after the half-close.
  request_reader<EchoRequest> Bidi(server_call_info info, response_writer<EchoReply> out) override {
    if (seen(info)) {
      after(opts_.delay, [this, out] { out.finish(failed(injected)); });
      return {};
    }
    auto received = std::make_shared<std::uint32_t>(0);
    auto order = std::make_shared<answer_order>();
    return {[this, received, order, out](EchoRequest&& req) {
              EchoReply reply;
              reply.set_server(name_);
              reply.set_payload(req.payload());
              reply.set_index((*received)++);
              reply.set_received(*received);
              at(*order, [out, reply = std::move(reply)] { out.write(reply); });
            },
            [this, order, out] { at(*order, [out] { out.finish(); }); }};
  }

 private:
  /// Reports the call; true if it is one of the injected failures.
  bool seen(const server_call_info& info) {
    if (opts_.on_call)
      opts_.on_call(info.method);
    if (opts_.fail_rate <= 0)
      return false;  // (no shared counter to touch)
    return injected_failure(opts_.seed, calls_.fetch_add(1, std::memory_order_relaxed),
                            opts_.fail_rate);
  }

  /// How long a unary or server-streaming request waits before its answer.
  std::chrono::nanoseconds wait(const EchoRequest& req) const {
    return std::chrono::milliseconds(req.delay_ms()) + opts_.delay;
  }

  /// The status the call ends with: injected, asked for by the request, or OK.
  status chosen(const EchoRequest& req, bool fail) const {
    if (fail)
      return failed(injected);
    return req.fail_code() != 0 ? failed(asked_status(req)) : status{};
  }

  /// `st`, reported to on_failure.
  status failed(status st) const {
    if (opts_.on_failure)
      opts_.on_failure(st.code);
    return st;
  }

  /// Runs `f` now, or after `delay` on the timers' thread (not on the I/O thread); with
  /// the timers gone, now.
  template <class F>
  void after(std::chrono::nanoseconds delay, F f) const {
    if (delay.count() <= 0)
      return f();
    schedule(steady::now() + delay, std::move(f));
  }

  /// Runs `f` after opts_.delay, after what `order` scheduled before (Bidi).
  template <class F>
  void at(answer_order& order, F f) const {
    if (opts_.delay.count() <= 0)
      return f();
    schedule(order.next(opts_.delay), std::move(f));
  }

  template <class F>
  void schedule(steady::time_point due, F f) const {
    auto pool = timers_.lock();
    if (!pool)
      return f();
    auto t = std::make_shared<asio::steady_timer>(pool->context(), due);
    t->async_wait([t, f = std::move(f)](const std::error_code& ec) {
      if (!ec)
        f();
    });
  }

  const std::string name_;
  const std::weak_ptr<transport::io_pool> timers_;
  const echo_options opts_;
  std::atomic<std::uint64_t> calls_{0};
};

}  // namespace

bool injected_failure(std::uint64_t seed, std::uint64_t n, double fail_rate) noexcept {
  if (!(fail_rate > 0))
    return false;
  if (fail_rate >= 1)
    return true;
  // splitmix64 (Steele, Lea, Flood 2014) of seed + n: no generator state to share.
  std::uint64_t z = seed + n + 0x9E3779B97F4A7C15ull;
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  z ^= z >> 31;
  // fail_rate < 1, so fail_rate * 2^64 < 2^64 - 2^11 fits.
  return z < static_cast<std::uint64_t>(std::ldexp(fail_rate, 64));
}

std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       std::function<void(const std::string&)> on_call) {
  echo_options opts;
  opts.on_call = std::move(on_call);
  return add_echo_service(server, std::move(name), std::move(opts));
}

std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       echo_options opts) {
  // The timers stop (and drop what is pending) before the service goes: a delayed answer
  // never runs on a destroyed service, whichever of server and handle goes first.
  struct handle {
    std::shared_ptr<echo_impl> service;
    std::shared_ptr<transport::io_pool> timers;
  };
  auto h = std::make_shared<handle>();
  h->timers = std::make_shared<transport::io_pool>(1);
  h->service = std::make_shared<echo_impl>(std::move(name), h->timers, std::move(opts));
  achan::test::Echo::Service::add_to(server, h->service);
  return h;
}

}  // namespace achan::testkit
