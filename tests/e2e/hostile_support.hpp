#pragma once
// Shared by the hostile-peer suites: an h2_server with a few methods attacks aim at, a
// log it fills, and a legitimate call on a fresh connection that must keep working.
#include <doctest/doctest.h>

#include <chrono>
#include <mutex>
#include <string>
#include <thread>
#include <vector>

#include <achan/server.hpp>
#include "tests/support/heap.hpp"
#include "tests/support/raw_frames.hpp"

namespace achan::test {

using namespace std::chrono_literals;

/// An h2_server on a free loopback port:
/// - /t.S/Unary echoes the request;
/// - /t.S/Flood (server streaming) answers a request "N SIZE" with N messages of SIZE
///   bytes written at once, without pacing — what a careless handler does;
/// - /t.S/Sink (client streaming) reads requests and never answers.
/// Every log line the server reports is kept.
struct target_server {
  transport::h2_server server;
  std::uint16_t port = 0;

  explicit target_server(transport::server_options opts = {})
      : server(with_log(std::move(opts), this)) {
    server.add_unary("/t.S/Unary", [](transport::server_call_info, std::string req,
                                      transport::responder r) { r.reply(std::move(req)); });
    server.add_server_stream("/t.S/Flood", [](transport::server_call_info, std::string req,
                                              transport::server_writer out) {
      std::size_t n = 0, size = 0;
      std::sscanf(req.c_str(), "%zu %zu", &n, &size);
      for (std::size_t i = 0; i < n; ++i)
        if (!out.write(std::string(size, 'f')))
          return;  // the call ended (a limit, the deadline, the client)
      out.finish();
    });
    server.add_streaming("/t.S/Sink", [](transport::server_call_info, transport::server_writer) {
      return transport::stream_reader{[](std::string&&) {}, [] {}};
    });
    auto l = server.listen("127.0.0.1", 0);
    REQUIRE_MESSAGE(l.ok(), l.error().message);
    port = (*l);
  }

  /// The log lines so far.
  std::vector<std::string> log() {
    std::lock_guard lk{mx_};
    return lines_;
  }
  /// Whether some log line contains `part`.
  bool logged(const std::string& part) {
    for (auto& l : log())
      if (l.find(part) != std::string::npos)
        return true;
    return false;
  }

 private:
  static transport::server_options with_log(transport::server_options o, target_server* self) {
    o.log = [self](const std::string& line) {
      std::lock_guard lk{self->mx_};
      self->lines_.push_back(line);
    };
    return o;
  }
  std::mutex mx_;  // the log is written on I/O threads, read by the test
  std::vector<std::string> lines_;
};

/// A unary call on a new connection: true if it ends with grpc-status 0 within 5 s.
inline bool legit_call(std::uint16_t port) {
  raw_h2_conn c{port};
  if (!c.handshake())
    return false;
  if (!c.send(headers(1, hpack::grpc_request_block("/t.S/Unary"), false) +
              data(1, grpc_message("legit"), true)))
    return false;
  auto end = c.wait_for(ends_stream(1), 5s);
  return end && end->type == frame_type::headers &&
         field(c.decode(*end), "grpc-status") == std::optional<std::string>{"0"};
}

/// The first GOAWAY among `frames`, if any.
inline std::optional<goaway_info> first_goaway(const std::vector<frame>& frames) {
  for (auto& f : frames)
    if (f.type == frame_type::goaway)
      return parse_goaway(f);
  return std::nullopt;
}

/// Waits (polling, at most `wait`) until the server has at most `n` connections open.
inline bool connections_down_to(const transport::h2_server& s, std::size_t n,
                                std::chrono::milliseconds wait = 3s) {
  auto until = std::chrono::steady_clock::now() + wait;
  while (s.connections() > n) {
    if (std::chrono::steady_clock::now() > until)
      return false;
    std::this_thread::sleep_for(10ms);
  }
  return true;
}

/// Heap growth since `before`, in bytes (0 if it shrank).
inline std::size_t grown(std::size_t before) {
  auto now = heap_in_use();
  return now > before ? now - before : 0;
}

}  // namespace achan::test
