#pragma once
// Fixtures for the grpc_proxy e2e tests: generic backends that show what reached them,
// and a proxy in front of them.
#include <doctest/doctest.h>

#include <atomic>
#include <condition_variable>
#include <memory>
#include <mutex>
#include <string>
#include <vector>

#include <caf/actor_system.hpp>
#include <caf/actor_system_config.hpp>

#include <achan/channel.hpp>
#include <achan/grpc_proxy.hpp>
#include <achan/server.hpp>

namespace proxy_test {

using namespace achan;
using namespace std::chrono_literals;

/// The value of `key` in `md`, or "" (the first one).
inline std::string value(const metadata& md, const std::string& key, std::size_t from = 0,
                         std::size_t to = SIZE_MAX) {
  for (std::size_t i = from; i < std::min(to, md.size()); ++i)
    if (md[i].first == key)
      return md[i].second;
  return {};
}

/// What a backend saw of one call.
struct seen_call {
  std::string method;
  metadata md;
  std::optional<time_point> deadline;
};

/// A backend serving every method (set_fallback): it sends response headers x-hdr
/// (its name) and x-hdr-bin, echoes each request as "NAME:message", and finishes with
/// trailers x-trl and x-trl-bin when the client half-closes — or, when the request has
/// x-status: N, with that status at once (Trailers-Only). Method "/t.S/Hang" never
/// answers; its on_cancel is counted.
struct backend {
  std::string name;
  transport::h2_server server;
  std::string address;
  std::mutex mx;
  std::condition_variable cv;
  std::vector<seen_call> seen;
  std::atomic<int> cancelled{0};
  std::atomic<int> calls{0};

  explicit backend(std::string n, transport::server_options o = {})
      : name(std::move(n)), server(o) {
    server.add_unary("/t.S/Known", [this](transport::server_call_info, std::string,
                                          transport::responder r) { r.reply(name); });
    server.set_fallback([this](transport::server_call_info info, transport::server_writer out) {
      ++calls;
      {
        std::lock_guard lk{mx};
        seen.push_back({info.method, info.request_metadata, info.deadline});
      }
      cv.notify_all();
      transport::stream_reader r;
      r.on_cancel = [this] {
        ++cancelled;
        cv.notify_all();
      };
      if (info.method == "/t.S/Hang")
        return r;
      if (info.method == "/t.S/Unknown") {
        out.finish({status_code::unimplemented, "unknown method /t.S/Unknown"});
        return transport::stream_reader{};
      }
      if (auto code = value(info.request_metadata, "x-status"); !code.empty()) {
        out.finish({static_cast<status_code>(std::stoi(code)), "asked for " + code},
                   {{"x-trl", name}});
        return transport::stream_reader{};
      }
      out.send_headers({{"x-hdr", name}, {"x-hdr-bin", std::string{"\0\1\2", 3}}});
      r.on_message = [out, n = name](std::string&& m) { out.write(n + ":" + m); };
      r.on_end = [out, n = name] {
        out.finish({}, {{"x-trl", n}, {"x-trl-bin", std::string{"\xff\0", 2}}});
      };
      return r;
    });
    auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port.ok());
    address = "127.0.0.1:" + std::to_string(*port);
  }

  /// Waits until `pred()` holds (5 s at most).
  template <class Pred>
  bool wait(Pred pred) {
    std::unique_lock lk{mx};
    return cv.wait_for(lk, 5s, pred);
  }
};

/// An actor system, `n` backends and a proxy with one round_robin route over them.
struct proxied {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  std::vector<std::unique_ptr<backend>> backends;
  std::unique_ptr<proxy::grpc_proxy> proxy;
  std::optional<channel> client;  // one connection to the proxy

  explicit proxied(int n, proxy::proxy_options o = {}) {
    std::string target = "ipv4:";
    for (int i = 0; i < n; ++i) {
      backends.push_back(std::make_unique<backend>("b" + std::to_string(i)));
      target += (i ? "," : "") + backends.back()->address;
    }
    if (o.routes.empty()) {
      proxy::route_config r{.name = "default", .target = target};
      r.dial.lb_policy = "round_robin";
      o.routes.push_back(std::move(r));
    } else {
      for (auto& r : o.routes)
        if (r.target == "BACKENDS")
          r.target = target;
    }
    auto p = proxy::grpc_proxy::start(sys, std::move(o), "127.0.0.1", 0);
    REQUIRE_MESSAGE(p.ok(), p.error().message);
    proxy = std::move(*p);
    auto ch = dial(sys, "ipv4:127.0.0.1:" + std::to_string(proxy->port()));
    REQUIRE(ch);
    client.emplace(std::move(*ch));
  }
  ~proxied() {
    client->close();
    proxy->shutdown(1s);
  }

  /// A unary call through the proxy (sent as a bidi stream: one message, half-close).
  call_result unary(const std::string& method, const std::string& payload, call_options o = {}) {
    if (!o.timeout)
      o.timeout = 5s;
    return client->call(method, payload, std::move(o)).get();
  }
};

}  // namespace proxy_test
