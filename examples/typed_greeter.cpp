// typed_greeter: a typed gRPC service and its client, from code protoc-gen-achan
// generated for examples/typed/greeter.proto (achan_generate in examples/CMakeLists.txt).
// Serves demo.greeter.Greeter on a free loopback port, calls both methods through the
// typed client, and checks the answers. Exit 0 on success.
#include <achan/achan.hpp>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <chrono>
#include <cstdio>
#include <future>
#include <string>
#include <vector>

#include "greeter.achan.pb.h"

using namespace std::chrono_literals;
namespace greeter = demo::greeter;

namespace {

/// The service: override the methods; the others answer UNIMPLEMENTED.
class greeter_impl final : public greeter::Greeter::Service {
 public:
  void SayHello(achan::transport::server_call_info, greeter::HelloRequest req,
                achan::typed_responder<greeter::HelloReply> respond) override {
    greeter::HelloReply reply;
    reply.set_text("hello, " + req.name());
    respond.reply(reply);
  }
  void StreamHellos(achan::transport::server_call_info, greeter::HelloRequest req,
                    achan::response_writer<greeter::HelloReply> out) override {
    for (std::uint32_t i = 0; i < req.times(); ++i) {
      greeter::HelloReply reply;
      reply.set_text("hello #" + std::to_string(i + 1) + ", " + req.name());
      out.write(reply);
    }
    out.finish();
  }
};

}  // namespace

int main() {
  greeter_impl service;  // must outlive the server's serving
  achan::transport::h2_server server;
  service.add_to(server);
  auto port = server.listen("127.0.0.1", 0);
  if (!port) {
    std::fprintf(stderr, "typed_greeter: %s\n", port.error().message.c_str());
    return 1;
  }

  caf::actor_system_config cfg;
  achan::configure_actor_system(cfg);
  caf::actor_system sys{cfg};
  achan::dial_options opts;
  opts.block_until_ready = 10s;
  auto ch = achan::dial(sys, "ipv4:127.0.0.1:" + std::to_string(*port), opts);
  if (!ch) {
    std::fprintf(stderr, "typed_greeter: %s\n", achan::to_string_with_message(ch.error()).c_str());
    return 1;
  }
  greeter::Greeter::Client client{*ch};
  achan::call_options call;
  call.timeout = 5s;

  greeter::HelloRequest req;
  req.set_name("achan");
  auto one = client.SayHello(req, call).get();  // a std::future of a typed result
  std::printf("SayHello: %s %s\n", one.status.to_string().c_str(), one.response.text().c_str());

  req.set_times(3);
  std::vector<std::string> texts;
  std::promise<achan::stream_result> end;
  client.StreamHellos(
      req, call, [&](greeter::HelloReply&& r) { texts.push_back(r.text()); },
      [&](achan::stream_result&& r) { end.set_value(std::move(r)); });
  auto stream_end = end.get_future().get();  // every message arrives before the end
  for (auto& t : texts)
    std::printf("StreamHellos: %s\n", t.c_str());
  std::printf("StreamHellos: %s\n", stream_end.status.to_string().c_str());

  ch->close();
  server.shutdown(1s);
  bool ok = one.ok() && one.response.text() == "hello, achan" && stream_end.status.ok() &&
            texts.size() == 3 && texts[2] == "hello #3, achan";
  std::printf("typed_greeter %s\n", ok ? "OK" : "FAILED");
  return ok ? 0 : 1;
}
