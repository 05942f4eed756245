#include "tests/support/raw_server.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <stdexcept>

namespace achan::test {

bool raw_peer::write(std::string_view bytes) {
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n <= 0)
      return false;
    bytes.remove_prefix(static_cast<std::size_t>(n));
  }
  return true;
}

std::string raw_peer::read_for(std::chrono::milliseconds d, std::size_t min_bytes) {
  std::string out;
  auto until = std::chrono::steady_clock::now() + d;
  while (out.size() < min_bytes) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    char buf[16384];
    auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0)
      break;
    out.append(buf, static_cast<std::size_t>(n));
  }
  seen_ += out;
  return out;
}

bool raw_peer::wait_for_request(std::chrono::milliseconds d) {
  auto until = std::chrono::steady_clock::now() + d;
  for (;;) {
    // Scan the frames after the 24-byte client preface for HEADERS on stream 1.
    std::size_t pos = 24;
    while (seen_.size() >= pos + 9) {
      auto len = (std::uint8_t(seen_[pos]) << 16) | (std::uint8_t(seen_[pos + 1]) << 8) |
                 std::uint8_t(seen_[pos + 2]);
      auto type = std::uint8_t(seen_[pos + 3]);
      auto stream = ((std::uint8_t(seen_[pos + 5]) & 0x7f) << 24) |
                    (std::uint8_t(seen_[pos + 6]) << 16) | (std::uint8_t(seen_[pos + 7]) << 8) |
                    std::uint8_t(seen_[pos + 8]);
      if (type == 0x1 && stream == 1)
        return true;
      pos += 9 + static_cast<std::size_t>(len);
    }
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return false;
    if (read_for(std::min(left, std::chrono::milliseconds(50)), 1).empty() &&
        std::chrono::steady_clock::now() >= until)
      return false;
  }
}

void raw_peer::close() {
  if (fd_ >= 0) {
    ::shutdown(fd_, SHUT_RDWR);
    ::close(fd_);
    fd_ = -1;
  }
}

raw_server::raw_server(script s) : script_(std::move(s)) {
  listen_fd_ = ::socket(AF_INET, SOCK_STREAM, 0);
  int one = 1;
  ::setsockopt(listen_fd_, SOL_SOCKET, SO_REUSEADDR, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  a.sin_port = 0;
  if (::bind(listen_fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
      ::listen(listen_fd_, 16) != 0)
    throw std::runtime_error("raw_server: cannot listen on 127.0.0.1");
  socklen_t len = sizeof a;
  ::getsockname(listen_fd_, reinterpret_cast<sockaddr*>(&a), &len);
  port_ = ntohs(a.sin_port);
  thread_ = std::thread([this] { loop(); });
}

raw_server::~raw_server() {
  stop_ = true;
  thread_.join();
  ::close(listen_fd_);
}

std::string raw_server::address() const {
  return "127.0.0.1:" + std::to_string(port_);
}

void raw_server::loop() {
  while (!stop_) {
    pollfd p{listen_fd_, POLLIN, 0};
    if (::poll(&p, 1, 50) <= 0)
      continue;
    int fd = ::accept(listen_fd_, nullptr, nullptr);
    if (fd < 0)
      continue;
    ++accepted_;
    raw_peer peer{fd};
    script_(peer);
    peer.close();
  }
}

std::string h2_frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                     std::string_view payload) {
  std::string f;
  auto n = payload.size();
  f.push_back(static_cast<char>((n >> 16) & 0xff));
  f.push_back(static_cast<char>((n >> 8) & 0xff));
  f.push_back(static_cast<char>(n & 0xff));
  f.push_back(static_cast<char>(type));
  f.push_back(static_cast<char>(flags));
  f.push_back(static_cast<char>((stream >> 24) & 0x7f));
  f.push_back(static_cast<char>((stream >> 16) & 0xff));
  f.push_back(static_cast<char>((stream >> 8) & 0xff));
  f.push_back(static_cast<char>(stream & 0xff));
  f.append(payload);
  return f;
}

std::string h2_settings() {
  return h2_frame(0x4, 0x0, 0, {});
}

}  // namespace achan::test
