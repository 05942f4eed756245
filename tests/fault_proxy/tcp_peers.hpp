#pragma once
// Loopback peers for the fault proxy tests: an echo server and a server that accepts and
// never reads (asio, one thread each), and a blocking client with poll() timeouts.
#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <chrono>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <thread>
#include <vector>

namespace achan::fault::test {

using namespace std::chrono_literals;
using ms = std::chrono::milliseconds;

/// Listens on 127.0.0.1:0 until destroyed. `echo`: writes back what it reads; otherwise
/// accepts and never reads (a stalled server).
class tcp_server {
 public:
  explicit tcp_server(bool echo = true);
  ~tcp_server();
  std::string address() const { return "127.0.0.1:" + std::to_string(port_); }
  std::uint16_t port() const { return port_; }

 private:
  void accept();
  asio::io_context io_;
  asio::ip::tcp::acceptor acceptor_;
  std::vector<std::shared_ptr<asio::ip::tcp::socket>> held_;
  bool echo_;
  std::uint16_t port_ = 0;
  std::thread thread_;
};

/// What a read ended with.
enum class read_end { data, eof, reset, timeout, error };

/// A blocking loopback client.
class client {
 public:
  /// Connects to 127.0.0.1:port; throws on failure.
  explicit client(std::uint16_t port);
  /// Tries to connect; nullopt when refused.
  static std::optional<client> try_connect(std::uint16_t port);
  ~client();
  client(client&& o) noexcept : fd_(o.fd_) { o.fd_ = -1; }
  client& operator=(client&&) = delete;

  void send(const std::string& bytes);
  /// Sends without blocking until the socket would block or `limit` bytes went; returns the count.
  std::size_t send_until_full(std::size_t limit, ms settle = 200ms);
  /// One read of at most `max` bytes, waiting up to `wait`.
  read_end read_some(std::string& out, ms wait, std::size_t max = 65536);
  /// Reads until `n` bytes arrived (or the read ended otherwise); returns how it ended.
  read_end read_exactly(std::string& out, std::size_t n, ms wait);
  /// Sends `bytes` and reads them back; returns the round-trip time (throws on a short echo).
  std::chrono::duration<double, std::milli> round_trip(const std::string& bytes, ms wait = 5000ms);
  int fd() const { return fd_; }

 private:
  explicit client(int fd) : fd_(fd) {}
  int fd_ = -1;
};

/// Elapsed milliseconds since `t0`.
double since_ms(std::chrono::steady_clock::time_point t0);

}  // namespace achan::fault::test
