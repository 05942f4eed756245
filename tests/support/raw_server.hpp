#pragma once
/// A loopback TCP server that runs a script against each accepted connection, for
/// bad-peer tests: it can speak just enough HTTP/2 (raw frames) to get a client to
/// READY and then misbehave. Runs on its own thread; all waits are bounded.
#include <atomic>
#include <chrono>
#include <cstdint>
#include <functional>
#include <string>
#include <string_view>
#include <thread>

namespace achan::test {

/// One accepted connection as the script sees it.
class raw_peer {
 public:
  explicit raw_peer(int fd) : fd_(fd) {}
  /// Writes all of `bytes`; false if the client went away.
  bool write(std::string_view bytes);
  /// Reads whatever arrives within `d` (stops early once `min_bytes` were read).
  std::string read_for(std::chrono::milliseconds d, std::size_t min_bytes = SIZE_MAX);
  /// Reads until the client has sent the HEADERS frame of stream 1 (or `d` passes).
  bool wait_for_request(std::chrono::milliseconds d = std::chrono::seconds(5));
  /// Closes the connection now.
  void close();
  int fd() const noexcept { return fd_; }

 private:
  int fd_;
  std::string seen_;
};

/// The listener. The script runs once per accepted connection, on the server thread;
/// the connection closes when it returns.
class raw_server {
 public:
  using script = std::function<void(raw_peer&)>;
  explicit raw_server(script s);
  ~raw_server();
  raw_server(const raw_server&) = delete;
  raw_server& operator=(const raw_server&) = delete;

  /// "127.0.0.1:PORT".
  std::string address() const;
  /// Connections accepted so far.
  int accepted() const noexcept { return accepted_.load(); }

 private:
  void loop();
  script script_;
  int listen_fd_ = -1;
  std::uint16_t port_ = 0;
  std::atomic<bool> stop_{false};
  std::atomic<int> accepted_{0};
  std::thread thread_;
};

/// An HTTP/2 frame: 9-byte header (length, type, flags, stream id) and payload.
std::string h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                     std::string_view payload);
/// An empty server SETTINGS frame (what gets an nghttp2 client to READY).
std::string h2_settings();

}  // namespace achan::test
