// A service config with a retry policy: an in-process achan server on loopback fails
// the first two calls with UNAVAILABLE; the channel's retryPolicy makes one user call
// succeed on its third attempt. Prints what the server saw and the channel's counters;
// exits 0 if the call succeeded after exactly two retries.
#include <atomic>
#include <cstdio>
#include <string>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/server.hpp>

using namespace std::chrono_literals;

int main() {
  achan::transport::h2_server server;
  std::atomic<int> calls{0};
  server.add_unary(
      "/demo.Echo/Say", [&calls](achan::transport::server_call_info info, std::string request,
                                 achan::transport::responder respond) {
        std::string previous = "-";
        for (auto& [k, v] : info.request_metadata)
          if (k == "grpc-previous-rpc-attempts")
            previous = v;
        int n = ++calls;
        std::printf("server: attempt %d (grpc-previous-rpc-attempts: %s)\n", n, previous.c_str());
        if (n <= 2)
          respond.fail({achan::status_code::unavailable, "warming up"});
        else
          respond.reply(std::move(request));
      });
  auto port = server.listen("127.0.0.1", 0);
  if (!port.ok()) {
    std::fprintf(stderr, "listen: %s\n", port.error().message.c_str());
    return 1;
  }

  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  achan::dial_options opts;
  opts.block_until_ready = 10s;
  opts.service_config = R"({"methodConfig": [{
      "name": [{"service": "demo.Echo"}],
      "timeout": "5s",
      "retryPolicy": {"maxAttempts": 4, "initialBackoff": "0.05s", "maxBackoff": "0.5s",
                      "backoffMultiplier": 2, "retryableStatusCodes": ["UNAVAILABLE"]}}],
    "retryThrottling": {"maxTokens": 10, "tokenRatio": 0.1}})";
  auto ch = achan::dial(sys, "ipv4:127.0.0.1:" + std::to_string(*port), opts);
  if (!ch) {
    std::fprintf(stderr, "dial: %s\n", achan::to_string_with_message(ch.error()).c_str());
    return 1;
  }
  auto r = ch->call("/demo.Echo/Say", "hello", {}).get();
  auto st = ch->stats();
  std::printf("client: %s \"%s\" after %llu retries\n", r.status.to_string().c_str(),
              r.payload.c_str(), static_cast<unsigned long long>(st.retries));
  ch->close();
  server.shutdown(1s);
  return r.status.ok() && r.payload == "hello" && st.retries == 2 ? 0 : 1;
}
