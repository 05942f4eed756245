#pragma once
// The codegen tests' server: cgtest.echo.Echo implemented on the generated Service, an
// h2_server on 127.0.0.1 (port 0) serving it, and a channel to it. Waits are bounded.
#include <doctest/doctest.h>

#include <chrono>
#include <future>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include "cgtest/echo.achan.pb.h"
#include "nopackage.achan.pb.h"

namespace cgtest_support {

using namespace std::chrono_literals;
using cgtest::echo::Reply;
using cgtest::echo::Request;

/// Echo as the tests expect it (see echo.proto's field comments).
class echo_impl : public cgtest::echo::Echo::Service {
 public:
  void Unary(achan::transport::server_call_info info, Request req,
             achan::typed_responder<Reply> respond) override {
    if (req.park()) {
      std::lock_guard lk{mx_};
      parked_.push_back(std::move(respond));  // never answered: the deadline ends the call
      return;
    }
    if (req.code() != 0)
      return respond.fail({static_cast<achan::status_code>(req.code()), "asked for it"});
    Reply r;
    r.set_text(req.text());
    r.set_had_deadline(info.deadline.has_value());
    *r.mutable_envelope() = req.envelope();
    respond.reply(r, echoed_metadata(req, info));
  }

  void ServerStream(achan::transport::server_call_info info, Request req,
                    achan::response_writer<Reply> out) override {
    for (int i = 0; i < req.count(); ++i) {
      Reply r;
      r.set_text(req.text());
      r.set_index(i);
      out.write(r);
    }
    if (req.code() != 0)
      return out.finish({static_cast<achan::status_code>(req.code()), "stream asked for it"});
    out.finish({}, echoed_metadata(req, info));
  }

  achan::request_reader<Request> ClientStream(achan::transport::server_call_info,
                                              achan::typed_responder<Reply> respond) override {
    auto joined = std::make_shared<Reply>();
    return {[joined](Request&& req) {
              if (!joined->text().empty())
                joined->mutable_text()->append("+");
              joined->mutable_text()->append(req.text());
              joined->set_index(joined->index() + 1);
            },
            [joined, respond] { respond.reply(*joined); }};
  }

  achan::request_reader<Request> Bidi(achan::transport::server_call_info,
                                      achan::response_writer<Reply> out) override {
    auto n = std::make_shared<int>(0);
    return {[n, out](Request&& req) {
              if (req.code() != 0)
                return out.finish({static_cast<achan::status_code>(req.code()), "bidi asked"});
              Reply r;
              r.set_text("echo: " + req.text());
              r.set_index((*n)++);
              out.write(r);
            },
            [out] { out.finish(); }};
  }

  void Now(achan::transport::server_call_info, google::protobuf::Empty,
           achan::typed_responder<google::protobuf::Timestamp> respond) override {
    google::protobuf::Timestamp t;
    t.set_seconds(42);
    t.set_nanos(7);
    respond.reply(t);
  }

  void Inspect(achan::transport::server_call_info, cgtest::types::Envelope_Header header,
               achan::typed_responder<cgtest::types::Envelope> respond) override {
    cgtest::types::Envelope e;
    e.set_text("inspected " + header.id());
    e.set_number(header.tags_size());
    *e.mutable_header() = std::move(header);
    respond.reply(e);
  }

  /// Drops the parked responders (after the server has shut down).
  void release() {
    std::lock_guard lk{mx_};
    parked_.clear();
  }

 private:
  static achan::metadata echoed_metadata(const Request& req,
                                         const achan::transport::server_call_info& info) {
    achan::metadata out;
    if (req.echo_md())
      for (const auto& [k, v] : info.request_metadata)
        if (k.rfind("x-", 0) == 0)
          out.emplace_back("echo-" + k, v);
    return out;
  }

  std::mutex mx_;
  std::vector<achan::typed_responder<Reply>> parked_;
};

/// Pinger (no package, proto2, lite runtime).
class pinger_impl : public Pinger::Service {
 public:
  void Ping(achan::transport::server_call_info, ::Ping req,
            achan::typed_responder<::Pong> respond) override {
    ::Pong p;
    p.set_token(req.token());
    respond.reply(p);
  }
};

/// A server with the generated services registered, and a way to dial it.
struct fixture {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  echo_impl echo;
  pinger_impl pinger;
  achan::transport::h2_server server;
  std::string address;

  /// `more` registers extra (raw byte-level) handlers; they replace generated ones.
  template <class F>
  explicit fixture(F more) {
    echo.add_to(server);
    pinger.add_to(server);
    more(server);
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    address = "ipv4:127.0.0.1:" + std::to_string((*l));
  }
  fixture() : fixture([](achan::transport::h2_server&) {}) {}
  ~fixture() {
    server.shutdown(1s);
    echo.release();
  }
  achan::channel dial() {
    achan::dial_options o;
    o.block_until_ready = 10s;
    auto ch = achan::dial(sys, address, o);
    REQUIRE(ch);
    return *ch;
  }
};

/// The value of `f` within 10 s (a failed check otherwise, and a default T).
template <class T>
T get(std::future<T>& f) {
  if (f.wait_for(10s) != std::future_status::ready) {
    FAIL_CHECK("no answer within 10 s");
    return T{};
  }
  return f.get();
}

/// Collects a streaming call's messages and its end, for a test thread to wait on.
template <class Msg>
struct stream_sink {
  std::mutex mx;
  std::vector<Msg> messages;
  std::promise<achan::stream_result> end;
  std::future<achan::stream_result> ended = end.get_future();

  std::function<void(Msg&&)> on_message() {
    return [this](Msg&& m) {
      std::lock_guard lk{mx};
      messages.push_back(std::move(m));
    };
  }
  std::function<void(achan::stream_result&&)> done() {
    return [this](achan::stream_result&& r) { end.set_value(std::move(r)); };
  }
  achan::stream_result wait() { return get(ended); }
};

/// Value of the first `key` entry of `md` ("" if none).
inline std::string find_md(const achan::metadata& md, const std::string& key) {
  for (const auto& [k, v] : md)
    if (k == key)
      return v;
  return {};
}

}  // namespace cgtest_support
