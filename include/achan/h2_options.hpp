#pragma once
/// Settings of the HTTP/2 transport (gRPC over h2c with prior knowledge, or over TLS).
#include <chrono>
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>

#include <achan/status.hpp>
#include <achan/tls.hpp>

namespace achan::transport {

/// Options shared by every connection of one h2 transport. docs/limits.md lists the
/// limits next to gRPC C++'s and grpc-go's.
struct h2_options {
  /// Largest response message accepted; bigger ones end the call with
  /// RESOURCE_EXHAUSTED and reset the stream (gRPC's default: 4 MiB).
  std::size_t max_receive_message_size = 4 * 1024 * 1024;
  /// Largest decoded response header list (headers or trailers: name + value + 32 per
  /// field), advertised as SETTINGS_MAX_HEADER_LIST_SIZE. A bigger one ends the call
  /// with RESOURCE_EXHAUSTED and resets the stream, counted before anything is stored.
  std::uint32_t max_header_list_size = 16 * 1024;
  /// Bytes of partial or undelivered response messages one connection may hold (a unary
  /// call's message waits for its trailers): the stream whose data goes over it ends with
  /// RESOURCE_EXHAUSTED and is reset, so a server cannot make many calls each hold a
  /// nearly complete message.
  std::size_t max_connection_receive_buffer = 64 * 1024 * 1024;
  /// Send a PING after this long without one (0: keepalive off, gRPC's client default).
  /// A server's GOAWAY ENHANCE_YOUR_CALM "too_many_pings" doubles it for the later
  /// connections of the transport (gRFC A8).
  std::chrono::milliseconds keepalive_time{0};
  /// Ping also while no call is open (gRPC's keepalive_permit_without_calls). Servers
  /// enforcing gRFC A8 allow that only every 2 h unless they permit it too.
  bool keepalive_without_calls = false;
  /// A PING not acknowledged within this long means the peer is gone (gRPC: 20 s).
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(20)};
  /// HTTP/2 stream flow-control window we advertise (per stream) and for the whole
  /// connection. Larger windows let big messages flow without waiting for updates.
  std::uint32_t stream_window = 1u << 20;
  std::uint32_t connection_window = 16u << 20;
  /// Threads running the connections' I/O (asio io_context threads).
  unsigned io_threads = 1;
  /// Sent as user-agent.
  std::string user_agent = "achan/0.1";
  /// TLS for every connection (ALPN h2; docs/tls.md). Unset: h2c. Settings that cannot
  /// be loaded (a missing file, a key not matching its certificate) fail every
  /// connection attempt with the reason; validate() reports them up front.
  std::optional<client_tls> tls;
};

/// OK, or INVALID_ARGUMENT naming what in `opts` cannot be used (its TLS files).
status validate(const h2_options& opts);

}  // namespace achan::transport
