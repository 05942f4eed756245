// grpc_proxy's end-to-end flow control on real sockets: a slow client slows the backend
// that streams to it, a slow backend slows the client that streams to it, and the proxy
// holds a bounded amount in between (without flow control the proxy's send buffer would
// overflow, or its request queue grow with everything the client sends).
#include "tests/e2e/proxy_support.hpp"

#include <future>
#include <thread>

using namespace proxy_test;

namespace {

constexpr int messages = 768;
constexpr std::size_t message_size = 64 * 1024;  // 48 MiB in all

/// A backend streaming `messages` responses as fast as its client's window allows (the
/// next write once the last went into DATA frames), or reading requests slowly.
struct flow_backend {
  transport::h2_server server;
  std::string address;
  std::atomic<int> sent{0};
  std::atomic<int> received{0};

  flow_backend() {
    server.set_fallback([this](transport::server_call_info info, transport::server_writer out) {
      transport::stream_reader r;
      if (info.method == "/flow.S/Download") {
        r.on_end = [this, out] { write_next(out); };
      } else {  // Upload: a slow reader (blocking its I/O thread is the point here)
        r.on_message = [this](std::string&&) {
          std::this_thread::sleep_for(500us);
          ++received;
        };
        r.on_end = [out] {
          out.write("done");  // a client-streaming call's one response
          out.finish();
        };
      }
      return r;
    });
    auto port = server.listen("127.0.0.1", 0);
    REQUIRE(port.ok());
    address = "127.0.0.1:" + std::to_string(*port);
  }
  void write_next(transport::server_writer out) {
    if (sent.load() == messages) {
      out.finish();
      return;
    }
    out.write(std::string(message_size, 'd'), [this, out](bool ok) {
      if (!ok)
        return;
      ++sent;
      write_next(out);
    });
  }
};

struct flow_setup {
  caf::actor_system_config cfg;
  caf::actor_system sys{cfg};
  flow_backend backend;
  std::unique_ptr<proxy::grpc_proxy> proxy;
  std::optional<channel> client;
  flow_setup() {
    proxy::proxy_options o;
    o.routes.push_back({.name = "flow", .target = "ipv4:" + backend.address});
    auto p = proxy::grpc_proxy::start(sys, std::move(o), "127.0.0.1", 0);
    REQUIRE(p.ok());
    proxy = std::move(*p);
    auto ch = dial(sys, "ipv4:127.0.0.1:" + std::to_string(proxy->port()));
    REQUIRE(ch);
    client.emplace(std::move(*ch));
  }
  ~flow_setup() {
    client->close();
    proxy->shutdown(1s);
  }
};

}  // namespace

TEST_CASE("proxy flow control: a slow client slows the backend streaming to it") {
  flow_setup s;
  std::atomic<int> got{0};
  int ahead = 0;  // most messages the backend had sent beyond what the client had read
  std::promise<call_result> ended;
  auto st = s.client->bidi_stream(
      "/flow.S/Download", {.timeout = 60s},
      [&](std::string&& m) {
        CHECK(m.size() == message_size);
        std::this_thread::sleep_for(500us);  // the slow reader
        ahead = std::max(ahead, s.backend.sent.load() - ++got);
      },
      [&](call_result&& r) { ended.set_value(std::move(r)); });
  st.writes_done();
  auto r = ended.get_future().get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.message);  // no send-buffer overflow in the proxy
  CHECK(got.load() == messages);
  MESSAGE("backend ahead of the client by at most " << ahead << " messages of 64 KiB");
  // Windows (1 MiB per stream each way), socket buffers and the proxy's 256 KiB: far
  // below the 48 MiB the backend would send at once without flow control.
  CHECK(ahead < 128);  // 8 MiB
}

TEST_CASE("proxy flow control: a slow backend slows the client streaming to it") {
  flow_setup s;
  std::atomic<int> sent{0};
  std::atomic<int> ahead{0};
  std::promise<call_result> ended;
  auto st = s.client->client_stream("/flow.S/Upload", {.timeout = 60s},
                                    [&](call_result&& r) { ended.set_value(std::move(r)); });
  // Paced by `sent`: the next message once the last went into DATA frames.
  std::function<void()> next = [&] {
    if (sent.load() == messages) {
      st.writes_done();
      return;
    }
    st.write(std::string(message_size, 'u'), [&](bool ok) {
      if (!ok)
        return;
      int a = ++sent - s.backend.received.load();
      for (int cur = ahead.load(); a > cur && !ahead.compare_exchange_weak(cur, a);) {
      }
      next();
    });
  };
  next();
  auto r = ended.get_future().get();
  REQUIRE_MESSAGE(r.status.ok(), r.status.message);
  CHECK(s.backend.received.load() == messages);
  MESSAGE("client ahead of the backend by at most " << ahead.load() << " messages of 64 KiB");
  CHECK(ahead.load() < 128);  // 8 MiB; without flow control: ~all of them
}
