#include "testkit/echo_service.hpp"

#include <asio/steady_timer.hpp>

#include <algorithm>

#include "proto/echo.pb.h"
#include "transport/h2/io_pool.hpp"

namespace achan::testkit {
namespace {

using transport::responder;
using transport::server_call_info;

/// Answers one parsed request (after its delay, if any).
void answer(const std::string& name, const achan::test::EchoRequest& req, const metadata& md,
            const responder& respond) {
  metadata trailers;
  for (auto& [k, v] : md)
    if (k.rfind("x-echo-", 0) == 0)
      trailers.emplace_back(k, v);
  if (req.fail_code() != 0) {
    respond.fail({static_cast<status_code>(req.fail_code()), req.fail_message()},
                 std::move(trailers));
    return;
  }
  achan::test::EchoReply reply;
  reply.set_server(name);
  if (req.reply_size() > 0)
    reply.set_payload(std::string(req.reply_size(), 'r'));
  else
    reply.set_payload(req.payload());
  respond.reply(reply.SerializeAsString(), std::move(trailers));
}

}  // namespace

std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       std::function<void(const std::string&)> on_call) {
  auto seen = [on_call](const server_call_info& info) {
    if (on_call)
      on_call(info.method);
  };
  auto timers = std::make_shared<transport::io_pool>(1);
  std::weak_ptr<transport::io_pool> weak = timers;
  server.add_unary(
      "/achan.test.Echo/Unary",
      [name, weak, seen](server_call_info info, std::string request, responder respond) {
        seen(info);
        achan::test::EchoRequest req;
        if (!req.ParseFromString(request)) {
          respond.fail({status_code::invalid_argument, "cannot parse achan.test.EchoRequest"});
          return;
        }
        auto pool = weak.lock();
        if (req.delay_ms() == 0 || !pool) {
          answer(name, req, info.request_metadata, respond);
          return;
        }
        // Not on the I/O thread: a timer on the service's own thread answers later.
        auto t = std::make_shared<asio::steady_timer>(pool->context(),
                                                      std::chrono::milliseconds(req.delay_ms()));
        t->async_wait([t, name, req = std::move(req), md = std::move(info.request_metadata),
                       respond](const std::error_code& ec) {
          if (!ec)
            answer(name, req, md, respond);
        });
      });
  server.add_server_stream(
      "/achan.test.Echo/ServerStream",
      [name, weak, seen](server_call_info info, std::string request, transport::server_writer out) {
        seen(info);
        achan::test::EchoRequest req;
        if (!req.ParseFromString(request)) {
          out.finish({status_code::invalid_argument, "cannot parse achan.test.EchoRequest"});
          return;
        }
        auto send_all = [name, req, out] {
          if (req.fail_code() != 0) {
            out.finish({static_cast<status_code>(req.fail_code()), req.fail_message()});
            return;
          }
          // Paced: the next reply is written once the previous one went into DATA
          // frames, so a slow client slows this stream instead of filling the server's
          // send buffer (which ends the call with RESOURCE_EXHAUSTED at its limit).
          struct pacer : std::enable_shared_from_this<pacer> {
            std::string name;
            achan::test::EchoRequest req;
            transport::server_writer out;
            std::uint32_t next = 0;
            void send() {
              auto n = std::max<std::uint32_t>(1, req.reply_count());
              if (next == n) {
                out.finish();
                return;
              }
              achan::test::EchoReply reply;
              reply.set_server(name);
              reply.set_index(next++);
              reply.set_payload(req.reply_size() > 0 ? std::string(req.reply_size(), 'r')
                                                     : req.payload());
              out.write(reply.SerializeAsString(), [self = shared_from_this()](bool ok) {
                if (ok)
                  self->send();
              });  // (false: the client went away; nothing more to do)
            }
          };
          auto p = std::make_shared<pacer>();
          p->name = name;
          p->req = req;
          p->out = out;
          p->send();
        };
        auto pool = weak.lock();
        if (req.delay_ms() == 0 || !pool) {
          send_all();
          return;
        }
        auto t = std::make_shared<asio::steady_timer>(pool->context(),
                                                      std::chrono::milliseconds(req.delay_ms()));
        t->async_wait([t, send_all](const std::error_code& ec) {
          if (!ec)
            send_all();
        });
      });

  // ClientStream: one reply after the half-close, echoing the last request and counting.
  server.add_streaming("/achan.test.Echo/ClientStream", [name, seen](server_call_info info,
                                                                     transport::server_writer out) {
    seen(info);
    auto last = std::make_shared<achan::test::EchoRequest>();
    auto received = std::make_shared<std::uint32_t>(0);
    return transport::stream_reader{
        [last, received](std::string&& m) {
          ++*received;
          last->ParseFromString(m);
        },
        [name, last, received, out] {
          if (last->fail_code() != 0) {
            out.finish({static_cast<status_code>(last->fail_code()), last->fail_message()});
            return;
          }
          achan::test::EchoReply reply;
          reply.set_server(name);
          reply.set_payload(last->payload());
          reply.set_received(*received);
          out.write(reply.SerializeAsString());
          out.finish();
        }};
  });

  // Bidi: one reply per request, as it arrives; OK after the half-close.
  server.add_streaming("/achan.test.Echo/Bidi",
                       [name, seen](server_call_info info, transport::server_writer out) {
                         seen(info);
                         auto received = std::make_shared<std::uint32_t>(0);
                         return transport::stream_reader{[name, received, out](std::string&& m) {
                                                           achan::test::EchoRequest req;
                                                           req.ParseFromString(m);
                                                           achan::test::EchoReply reply;
                                                           reply.set_server(name);
                                                           reply.set_payload(req.payload());
                                                           reply.set_index((*received)++);
                                                           reply.set_received(*received);
                                                           out.write(reply.SerializeAsString());
                                                         },
                                                         [out] { out.finish(); }};
                       });
  return timers;
}

}  // namespace achan::testkit
