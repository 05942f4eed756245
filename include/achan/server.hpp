#pragma once
/// A small gRPC server on the same stack as the client (asio + nghttp2, h2c): for
/// examples, tests, benchmarks and services built with achan.
///
///   achan::transport::h2_server srv;
///   srv.add_unary("/pkg.Svc/Echo", [](server_call_info info, std::string req,
///                                     responder respond) { respond.reply(req); });
///   auto l = srv.listen("127.0.0.1", 0);          // *l is the port, or l.error()
///   ...
///   srv.shutdown(std::chrono::seconds(2));        // GOAWAY, let calls finish, close
///
/// Handlers run on the connection's I/O thread and must not block: a handler that
/// has slow work hands the responder to someone else (a thread, an actor) and returns.
#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <optional>
#include <string>
#include <system_error>
#include <unordered_map>
#include <vector>

#include <achan/call.hpp>
#include <achan/result.hpp>
#include <achan/server_metrics.hpp>
#include <achan/status.hpp>
#include <achan/tls.hpp>

namespace achan::transport {

class io_pool;
class h2_server_connection;
namespace tls {
class context;
}  // namespace tls
struct h2_server_callbacks;
struct pending_response;

/// What a handler learns about the call it serves.
struct server_call_info {
  std::string method;                  ///< "/package.Service/Method"
  std::string authority;               ///< the request's :authority
  metadata request_metadata;           ///< -bin values decoded
  std::optional<time_point> deadline;  ///< from grpc-timeout, on steady_clock
  std::string peer;                    ///< the client's address
  /// The TLS session and the client's certificate identity; null on h2c connections.
  std::shared_ptr<const tls_peer> tls;
  /// Records this call's load for its ORCA report (include/achan/server_metrics.hpp);
  /// inactive unless server_options::orca is set.
  call_metric_recorder metrics;
};

/// Ends one server call, exactly once: later calls do nothing. Copyable, callable
/// from any thread. After the client cancelled (or the deadline passed, which the
/// server answers with DEADLINE_EXCEEDED itself) replying is a harmless no-op.
class responder {
 public:
  responder() = default;
  explicit responder(std::shared_ptr<pending_response> p) : p_(std::move(p)) {}
  /// OK with `payload` (a serialized response message) and optional trailers.
  void reply(std::string payload, metadata trailers = {}) const;
  /// Ends the call with `st` (not OK) and optional trailers.
  void fail(status st, metadata trailers = {}) const;
  /// True once the client cancelled, the deadline passed or the call was answered.
  bool done() const noexcept;

 private:
  std::shared_ptr<pending_response> p_;
};

/// Serves one unary call: `request` is the serialized request message.
using unary_handler =
    std::function<void(server_call_info info, std::string request, responder respond)>;

/// The response side of a streaming method: messages, then exactly one final status.
/// Copyable, callable from any thread; calls from one thread keep their order. After
/// the call ended (the client cancelled, the deadline passed, or the stream's unsent
/// bytes went over a send-buffer limit) write() returns false and finish() does nothing.
///
/// Pacing: the server buffers what the client's flow-control window does not take yet,
/// up to server_options::max_stream_send_buffer unsent bytes per stream (and
/// max_connection_send_buffer per connection). A write made while the stream (or its
/// connection) is over its limit ends the call with RESOURCE_EXHAUSTED (RST_STREAM
/// ENHANCE_YOUR_CALM to the client) instead of buffering without bound. A writer that
/// produces faster than its client reads waits for each message's `sent` callback (or
/// watches buffered()) before writing more.
class server_writer {
 public:
  /// Runs once per written message on the connection's I/O thread, outside nghttp2:
  /// true once all its bytes went into DATA frames, false if the call ended first.
  using sent_fn = std::function<void(bool)>;

  server_writer() = default;
  explicit server_writer(std::shared_ptr<pending_response> p) : p_(std::move(p)) {}
  /// Queues one response message; false once the call has ended (then `sent` is not
  /// called). A message refused for being over the buffer limit gets `sent(false)`.
  bool write(std::string message, sent_fn sent = {}) const;
  /// Sends the response headers now, carrying `md` (-bin values are base64-encoded;
  /// names the transport writes itself — pseudo-headers, content-type, grpc-status,
  /// grpc-message, grpc-encoding, te — are dropped). Optional: the first write() sends
  /// plain headers otherwise. Only before the first write(); a later call does nothing.
  /// Headers over the client's header-list limit end the call with INTERNAL. False once
  /// the call has ended.
  bool send_headers(metadata md) const;
  /// Request flow control (client- and bidi-streaming calls), for a handler that passes
  /// requests on to something slower (a proxy's backend): while paused, the server grants
  /// the client no more flow-control window for this stream, so a client sending faster
  /// stops after at most server_options::stream_window more bytes; messages already
  /// received still reach on_message. pause_requests(false) reopens the window. Any
  /// thread; the latest call wins.
  void pause_requests(bool paused) const;
  /// Ends the call with `st` (default OK) and optional trailers.
  void finish(status st = {}, metadata trailers = {}) const;
  /// True once the call has ended (finished, cancelled or past its deadline).
  bool done() const noexcept;
  /// Bytes of written messages not yet in DATA frames; 0 once the call ended.
  std::size_t buffered() const noexcept;

 private:
  std::shared_ptr<pending_response> p_;
};

/// Serves one server-streaming call: one request, any number of responses via `out`.
using server_stream_handler =
    std::function<void(server_call_info info, std::string request, server_writer out)>;

/// What a client- or bidi-streaming handler wants to hear about incoming requests.
/// All run on the connection's I/O thread, in order; on_end once, when the client
/// half-closed (not when it cancelled: then `out.done()` turns true).
struct stream_reader {
  std::function<void(std::string&& request)> on_message;
  std::function<void()> on_end;
  /// Optional: runs once if the call ends before the handler finished it — the client
  /// cancelled (RST_STREAM), the deadline passed, the connection closed, a request or a
  /// write went over a limit — so a handler can stop its work (a proxy, its backend
  /// call). Not after out.finish(). `out` is already done() when it runs.
  std::function<void()> on_cancel = {};  // (a default: `stream_reader{m, e}` stays warning-free)
};

/// Serves one client- or bidi-streaming call: called when the call starts, returns how
/// to consume its requests; answers through `out` (a client-streaming method writes
/// one message and finishes).
using streaming_handler = std::function<stream_reader(server_call_info info, server_writer out)>;

/// Server settings. Every limit a client can push against has a default here;
/// docs/limits.md lists them next to gRPC C++'s and grpc-go's. Durations of 0 mean "off"
/// (no limit), as gRPC's infinite.
struct server_options {
  /// Largest request message accepted; bigger ones end with RESOURCE_EXHAUSTED.
  std::size_t max_receive_message_size = 4 * 1024 * 1024;
  /// Concurrent streams a client may open on one connection (SETTINGS): more are
  /// refused with RST_STREAM REFUSED_STREAM.
  std::uint32_t max_concurrent_streams = 100;
  /// Largest decoded request header list (SETTINGS_MAX_HEADER_LIST_SIZE; name + value +
  /// 32 per field): a bigger one is answered RESOURCE_EXHAUSTED without storing it; one
  /// over 4× this ends the connection (GOAWAY ENHANCE_YOUR_CALM).
  std::uint32_t max_header_list_size = 16 * 1024;
  /// Bytes of partial or undelivered request messages one connection may hold; the
  /// stream whose data goes over it ends with RESOURCE_EXHAUSTED.
  std::size_t max_connection_receive_buffer = 64 * 1024 * 1024;
  /// Unsent response bytes one stream may hold before a further write ends the call
  /// with RESOURCE_EXHAUSTED (see server_writer). One message of any size always fits.
  std::size_t max_stream_send_buffer = 4 * 1024 * 1024;
  /// Unsent response bytes one connection may hold before further streaming writes on
  /// it end their calls with RESOURCE_EXHAUSTED.
  std::size_t max_connection_send_buffer = 64 * 1024 * 1024;
  /// HTTP/2 flow-control windows advertised to clients, per stream and per connection.
  std::uint32_t stream_window = 1u << 20;
  std::uint32_t connection_window = 16u << 20;
  /// A new connection must send the HTTP/2 preface and its SETTINGS within this long,
  /// or it is closed.
  std::chrono::milliseconds handshake_timeout{std::chrono::seconds(10)};
  /// A connection without streams for this long gets a graceful GOAWAY (gRFC A9
  /// MAX_CONNECTION_IDLE; 0: never).
  std::chrono::milliseconds max_connection_idle{0};
  /// A connection older than this (±10 % jitter) gets a graceful GOAWAY (gRFC A9
  /// MAX_CONNECTION_AGE; 0: never) ...
  std::chrono::milliseconds max_connection_age{0};
  /// ... and is closed this long after that (MAX_CONNECTION_AGE_GRACE; 0: never).
  std::chrono::milliseconds max_connection_age_grace{0};
  /// The server PINGs a connection after this long (0: never) and closes it if the
  /// PING is not answered within keepalive_timeout (gRPC: 2 h and 20 s).
  std::chrono::milliseconds keepalive_time{std::chrono::hours(2)};
  std::chrono::milliseconds keepalive_timeout{std::chrono::seconds(20)};
  /// Keepalive enforcement (gRFC A8): clients may PING at most this often while they
  /// have calls open (without calls: every 2 h, unless permit_keepalive_without_calls);
  /// more than max_ping_strikes early PINGs end the connection with GOAWAY
  /// ENHANCE_YOUR_CALM "too_many_pings" (max_ping_strikes 0: no enforcement).
  std::chrono::milliseconds permit_keepalive_time{std::chrono::minutes(5)};
  bool permit_keepalive_without_calls = false;
  int max_ping_strikes = 2;
  /// I/O threads serving all connections.
  unsigned io_threads = 1;
  /// Seeds the jitter of max_connection_age (0: a seed from the clock).
  std::uint64_t seed = 0;
  /// TLS on every port this server listens on (ALPN h2; docs/tls.md): the certificate
  /// chain and key, and whether to ask clients for certificates. Unset: h2c. Loaded by
  /// the first listen(), whose error names a file that cannot be used; reload_tls()
  /// replaces it for later connections.
  std::optional<server_tls> tls;
  /// ORCA load reports (include/achan/server_metrics.hpp): when set, every call's trailers
  /// carry `endpoint-load-metrics-bin`, an xds.data.orca.v3.OrcaLoadReport of what the
  /// call's handler recorded (server_call_info::metrics) over this recorder's server-wide
  /// values; OK or not, also for calls that never reached a handler (unknown method,
  /// deadline). Unset (the default): no reports, and calls pay nothing for the feature.
  std::shared_ptr<server_metric_recorder> orca;
  /// Receives one line per notable connection-level event (accept errors, once until
  /// accepting works again; GOAWAYs sent for protocol errors or abuse, naming the peer).
  /// Called on an I/O thread; must not block. Empty: nothing is reported.
  std::function<void(const std::string&)> log;
};

/// Result of listen(): the bound port, or an error with a message: INVALID_ARGUMENT for a
/// bad address, UNAVAILABLE when it cannot be bound (taken, not local).
using listen_result = result<std::uint16_t>;

/// The server. Register methods, listen, serve until shutdown() or destruction.
class h2_server {
 public:
  explicit h2_server(server_options opts = {});
  /// Calls shutdown(0 s) if still serving.
  ~h2_server();
  h2_server(const h2_server&) = delete;
  h2_server& operator=(const h2_server&) = delete;

  /// Registers `h` for `method`; call before listen(). Unknown methods are answered
  /// with UNIMPLEMENTED.
  void add_unary(std::string method, unary_handler h);
  /// Registers a server-streaming method.
  void add_server_stream(std::string method, server_stream_handler h);
  /// Registers a client-streaming or bidi-streaming method (same handler shape).
  void add_streaming(std::string method, streaming_handler h);
  /// Serves every method not registered above, as grpc++'s generic service does: unary
  /// and streaming calls alike reach `h` as a bidi stream at their headers (info.method
  /// names the method; request messages arrive as the client sends them), and `h`
  /// answers through the writer (a unary client expects exactly one message). Without
  /// one, an unknown method is answered UNIMPLEMENTED. Register before listen().
  void set_fallback(streaming_handler h);
  /// Binds `host`:`port` (0 picks a free port) and starts accepting. May be called
  /// more than once for more addresses.
  listen_result listen(const std::string& host, std::uint16_t port);
  /// Replaces the TLS certificates (and client CA) for connections accepted from now
  /// on; open connections keep theirs. OK, or INVALID_ARGUMENT naming what cannot be
  /// loaded (the old settings stay). Thread-safe; also before listen(). On a server
  /// created without TLS it is FAILED_PRECONDITION (a port does not change protocol).
  status reload_tls(const server_tls& tls);
  /// Graceful stop: no new connections, GOAWAY on every connection (calls already
  /// received finish), then after `grace` everything still open is closed (its calls
  /// see UNAVAILABLE). Blocks the caller until done; never call it from a handler.
  void shutdown(std::chrono::milliseconds grace);

  /// Calls currently being served (received and not yet answered).
  std::size_t active_calls() const noexcept { return active_calls_.load(); }
  /// Connections currently open (accepted and not yet closed, lingering ones included).
  std::size_t connections() const {
    std::lock_guard lk{mx_};
    return connections_.size();
  }

 private:
  friend class h2_server_connection;
  friend struct h2_server_callbacks;
  struct acceptor_state;
  void accept(const std::shared_ptr<acceptor_state>& a);
  void accept_failed(const std::shared_ptr<acceptor_state>& a, const std::error_code& ec);
  void connection_closed(h2_server_connection* c);
  void log(const std::string& line) const {
    if (opts_.log)
      opts_.log(line);
  }

  /// The TLS context for a new connection (null for h2c). Thread-safe.
  std::shared_ptr<const tls::context> tls_context() const {
    std::lock_guard lk{mx_};
    return tls_;
  }

  server_options opts_;
  std::shared_ptr<const tls::context> tls_;  // guarded by mx_
  struct method_entry {
    unary_handler unary;
    server_stream_handler server_stream;
    streaming_handler streaming;
  };
  std::unordered_map<std::string, method_entry> methods_;
  streaming_handler fallback_;  ///< for methods not in methods_ (set_fallback)
  std::unique_ptr<io_pool> pool_;
  std::vector<std::shared_ptr<acceptor_state>> acceptors_;
  std::atomic<std::size_t> active_calls_{0};
  std::atomic<bool> stopping_{false};
  // Guards `connections_` between I/O threads (accept, close) and shutdown()'s caller;
  // this is transport code, never touched by actors.
  mutable std::mutex mx_;
  std::condition_variable cv_;
  std::unordered_map<h2_server_connection*, std::weak_ptr<h2_server_connection>> connections_;
  bool shut_down_ = false;
};

}  // namespace achan::transport
