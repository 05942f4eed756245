#include "testkit/echo_service.hpp"

#include <asio/steady_timer.hpp>

#include <algorithm>

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

class echo_impl final : public achan::test::Echo::Service {
 public:
  echo_impl(std::string name, std::weak_ptr<transport::io_pool> timers,
            std::function<void(const std::string&)> on_call)
      : name_(std::move(name)), timers_(std::move(timers)), on_call_(std::move(on_call)) {}

  void Unary(server_call_info info, EchoRequest req, typed_responder<EchoReply> respond) override {
    seen(info);
    auto delay = req.delay_ms();  // (before req moves into the lambda: no copy per call)
    after(delay, [name = name_, req = std::move(req), md = std::move(info.request_metadata),
                  respond = std::move(respond)] {
      metadata trailers;
      for (const auto& [k, v] : md)
        if (k.rfind("x-echo-", 0) == 0)
          trailers.emplace_back(k, v);
      if (req.fail_code() != 0)
        return respond.fail(asked_status(req), std::move(trailers));
      respond.reply(reply_to(name, req), std::move(trailers));
    });
  }

  void ServerStream(server_call_info info, EchoRequest req,
                    response_writer<EchoReply> out) override {
    seen(info);
    auto delay = req.delay_ms();
    after(delay, [name = name_, req = std::move(req), out = std::move(out)] {
      if (req.fail_code() != 0)
        return out.finish(asked_status(req));
      auto p = std::make_shared<pacer>();
      p->server = name;
      p->req = req;  // (a stream's replies need it; one copy per stream)
      p->out = out;
      p->send();
    });
  }

  // One reply after the half-close, echoing the last request and counting.
  request_reader<EchoRequest> ClientStream(server_call_info info,
                                           typed_responder<EchoReply> respond) override {
    seen(info);
    auto last = std::make_shared<EchoRequest>();
    auto received = std::make_shared<std::uint32_t>(0);
    return {[last, received](EchoRequest&& req) {
              ++*received;
              *last = std::move(req);
            },
            [name = name_, last, received, respond] {
              if (last->fail_code() != 0)
                return respond.fail(asked_status(*last));
              EchoReply reply;
              reply.set_server(name);
              reply.set_payload(last->payload());
              reply.set_received(*received);
              respond.reply(reply);
            }};
  }

  // One reply per request, as it arrives; OK after the half-close.
  request_reader<EchoRequest> Bidi(server_call_info info, response_writer<EchoReply> out) override {
    seen(info);
    auto received = std::make_shared<std::uint32_t>(0);
    return {[name = name_, received, out](EchoRequest&& req) {
              EchoReply reply;
              reply.set_server(name);
              reply.set_payload(req.payload());
              reply.set_index((*received)++);
              reply.set_received(*received);
              out.write(reply);
            },
            [out] { out.finish(); }};
  }

 private:
  void seen(const server_call_info& info) const {
    if (on_call_)
      on_call_(info.method);
  }

  /// Runs `f` now, or after `delay_ms` on the timers' thread (not on the I/O thread);
  /// with the timers gone, now.
  template <class F>
  void after(std::uint32_t delay_ms, F f) const {
    auto pool = timers_.lock();
    if (delay_ms == 0 || !pool)
      return f();
    auto t =
        std::make_shared<asio::steady_timer>(pool->context(), std::chrono::milliseconds(delay_ms));
    t->async_wait([t, f = std::move(f)](const std::error_code& ec) {
      if (!ec)
        f();
    });
  }

  const std::string name_;
  const std::weak_ptr<transport::io_pool> timers_;
  const std::function<void(const std::string&)> on_call_;
};

}  // namespace

std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       std::function<void(const std::string&)> on_call) {
  auto timers = std::make_shared<transport::io_pool>(1);
  achan::test::Echo::Service::add_to(
      server, std::make_shared<echo_impl>(std::move(name), timers, std::move(on_call)));
  return timers;
}

}  // namespace achan::testkit
