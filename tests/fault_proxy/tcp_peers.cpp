#include "tests/fault_proxy/tcp_peers.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/write.hpp>

#include <array>
#include <cerrno>
#include <cstring>
#include <stdexcept>

namespace achan::fault::test {
namespace {

void echo_loop(std::shared_ptr<asio::ip::tcp::socket> s,
               std::shared_ptr<std::array<char, 65536>> buf) {
  s->async_read_some(asio::buffer(*buf), [s, buf](auto ec, std::size_t n) {
    if (ec)
      return;
    asio::async_write(*s, asio::buffer(buf->data(), n), [s, buf](auto ec, std::size_t) {
      if (!ec)
        echo_loop(s, buf);
    });
  });
}

}  // namespace

tcp_server::tcp_server(bool echo)
    : acceptor_(io_, {asio::ip::make_address("127.0.0.1"), 0}), echo_(echo) {
  port_ = acceptor_.local_endpoint().port();
  accept();
  thread_ = std::thread([this] { io_.run(); });
}

tcp_server::~tcp_server() {
  io_.stop();
  thread_.join();
}

void tcp_server::accept() {
  acceptor_.async_accept([this](auto ec, asio::ip::tcp::socket sock) {
    if (ec)
      return;
    auto s = std::make_shared<asio::ip::tcp::socket>(std::move(sock));
    if (echo_)
      echo_loop(s, std::make_shared<std::array<char, 65536>>());
    else
      held_.push_back(s);
    accept();
  });
}

std::optional<client> client::try_connect(std::uint16_t port) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    ::close(fd);
    return std::nullopt;
  }
  int one = 1;
  ::setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  return client{fd};
}

client::client(std::uint16_t port) {
  auto c = try_connect(port);
  if (!c)
    throw std::runtime_error("connect to 127.0.0.1:" + std::to_string(port) + " failed");
  fd_ = c->fd_;
  c->fd_ = -1;
}

client::~client() {
  if (fd_ >= 0)
    ::close(fd_);
}

void client::send(const std::string& bytes) {
  std::size_t off = 0;
  while (off < bytes.size()) {
    auto n = ::send(fd_, bytes.data() + off, bytes.size() - off, MSG_NOSIGNAL);
    if (n <= 0)
      throw std::runtime_error(std::string{"send failed: "} + std::strerror(errno));
    off += static_cast<std::size_t>(n);
  }
}

std::size_t client::send_until_full(std::size_t limit, ms settle) {
  std::string block(65536, 'x');
  std::size_t sent = 0;
  while (sent < limit) {
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, static_cast<int>(settle.count())) <= 0)
      break;  // would block for `settle`: the far side stopped taking bytes
    auto n = ::send(fd_, block.data(), std::min(block.size(), limit - sent),
                    MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n <= 0) {
      if (errno == EAGAIN || errno == EWOULDBLOCK)
        continue;
      break;
    }
    sent += static_cast<std::size_t>(n);
  }
  return sent;
}

read_end client::read_some(std::string& out, ms wait, std::size_t max) {
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, static_cast<int>(wait.count()));
  if (r == 0)
    return read_end::timeout;
  std::string buf(max, '\0');
  auto n = ::recv(fd_, buf.data(), buf.size(), 0);
  if (n > 0) {
    out.append(buf.data(), static_cast<std::size_t>(n));
    return read_end::data;
  }
  if (n == 0)
    return read_end::eof;
  return errno == ECONNRESET ? read_end::reset : read_end::error;
}

read_end client::read_exactly(std::string& out, std::size_t n, ms wait) {
  auto deadline = std::chrono::steady_clock::now() + wait;
  while (out.size() < n) {
    auto left = std::chrono::duration_cast<ms>(deadline - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      return read_end::timeout;
    auto e = read_some(out, left, n - out.size());
    if (e != read_end::data)
      return e;
  }
  return read_end::data;
}

std::chrono::duration<double, std::milli> client::round_trip(const std::string& bytes, ms wait) {
  auto t0 = std::chrono::steady_clock::now();
  send(bytes);
  std::string back;
  if (read_exactly(back, bytes.size(), wait) != read_end::data || back != bytes)
    throw std::runtime_error("echo came back short or different");
  return std::chrono::steady_clock::now() - t0;
}

double since_ms(std::chrono::steady_clock::time_point t0) {
  return std::chrono::duration<double, std::milli>(std::chrono::steady_clock::now() - t0).count();
}

}  // namespace achan::fault::test
