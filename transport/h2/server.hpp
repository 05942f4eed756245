#pragma once
/// A small gRPC server on the same stack as the client (asio + nghttp2, h2c): for
/// examples, tests, benchmarks and services built with achan.
///
///   achan::transport::h2_server srv;
///   srv.add_unary("/pkg.Svc/Echo", [](server_call_info info, std::string req,
///                                     responder respond) { respond.reply(req); });
///   auto l = srv.listen("127.0.0.1", 0);          // l.port, or l.error
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
#include <unordered_map>
#include <vector>

#include "transport/call.hpp"
#include "transport/status.hpp"

namespace achan::transport {

class io_pool;
class h2_server_connection;
struct h2_server_callbacks;
struct pending_response;

/// What a handler learns about the call it serves.
struct server_call_info {
  std::string method;                  ///< "/package.Service/Method"
  std::string authority;               ///< the request's :authority
  metadata request_metadata;           ///< -bin values decoded
  std::optional<time_point> deadline;  ///< from grpc-timeout, on steady_clock
  std::string peer;                    ///< the client's address
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
/// the client cancelled or the deadline passed, write() returns false and finish()
/// does nothing.
class server_writer {
 public:
  server_writer() = default;
  explicit server_writer(std::shared_ptr<pending_response> p) : p_(std::move(p)) {}
  /// Queues one response message; false once the call has ended.
  bool write(std::string message) const;
  /// Ends the call with `st` (default OK) and optional trailers.
  void finish(status st = {}, metadata trailers = {}) const;
  /// True once the call has ended (finished, cancelled or past its deadline).
  bool done() const noexcept;

 private:
  std::shared_ptr<pending_response> p_;
};

/// Serves one server-streaming call: one request, any number of responses via `out`.
using server_stream_handler =
    std::function<void(server_call_info info, std::string request, server_writer out)>;

/// What a client- or bidi-streaming handler wants to hear about incoming requests.
/// Both run on the connection's I/O thread, in order; on_end once, when the client
/// half-closed (not when it cancelled: then `out.done()` turns true).
struct stream_reader {
  std::function<void(std::string&& request)> on_message;
  std::function<void()> on_end;
};

/// Serves one client- or bidi-streaming call: called when the call starts, returns how
/// to consume its requests; answers through `out` (a client-streaming method writes
/// one message and finishes).
using streaming_handler = std::function<stream_reader(server_call_info info, server_writer out)>;

/// Server settings.
struct server_options {
  /// Largest request message accepted; bigger ones end with RESOURCE_EXHAUSTED.
  std::size_t max_receive_message_size = 4 * 1024 * 1024;
  /// Concurrent streams a client may open on one connection (SETTINGS).
  std::uint32_t max_concurrent_streams = 1000;
  /// I/O threads serving all connections.
  unsigned io_threads = 1;
};

/// Result of listen(): the bound port, or an error message.
struct listen_result {
  std::uint16_t port = 0;
  std::string error;
};

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
  /// Binds `host`:`port` (0 picks a free port) and starts accepting. May be called
  /// more than once for more addresses.
  listen_result listen(const std::string& host, std::uint16_t port);
  /// Graceful stop: no new connections, GOAWAY on every connection (calls already
  /// received finish), then after `grace` everything still open is closed (its calls
  /// see UNAVAILABLE). Blocks the caller until done; never call it from a handler.
  void shutdown(std::chrono::milliseconds grace);

  /// Calls currently being served (received and not yet answered).
  std::size_t active_calls() const noexcept { return active_calls_.load(); }

 private:
  friend class h2_server_connection;
  friend struct h2_server_callbacks;
  struct acceptor_state;
  void accept(const std::shared_ptr<acceptor_state>& a);
  void connection_closed(h2_server_connection* c);

  server_options opts_;
  struct method_entry {
    unary_handler unary;
    server_stream_handler server_stream;
    streaming_handler streaming;
  };
  std::unordered_map<std::string, method_entry> methods_;
  std::unique_ptr<io_pool> pool_;
  std::vector<std::shared_ptr<acceptor_state>> acceptors_;
  std::atomic<std::size_t> active_calls_{0};
  std::atomic<bool> stopping_{false};
  // Guards `connections_` between I/O threads (accept, close) and shutdown()'s caller;
  // this is transport code, never touched by actors.
  std::mutex mx_;
  std::condition_variable cv_;
  std::unordered_map<h2_server_connection*, std::weak_ptr<h2_server_connection>> connections_;
  bool shut_down_ = false;
};

}  // namespace achan::transport
