// Bulk throughput through the fault proxy with no toxics, side by side with a direct
// loopback connection (issue 15: >= 1 GB/s). One JSON line per run:
//   {"bench":"fault_proxy_bulk","path":"direct"|"proxy","bytes":N,"seconds":F,"gb_per_s":F}
// then a summary line with the medians and their ratio.
//   fault_proxy_bench [--bytes N] [--reps N]
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <asio/io_context.hpp>
#include <asio/ip/tcp.hpp>

#include <algorithm>
#include <chrono>
#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <thread>
#include <vector>

#include <achan/fault_proxy.hpp>

#include "testkit/program_args.hpp"

namespace {

using clock_type = std::chrono::steady_clock;

/// Accepts one connection, reads until EOF, and reports when the last byte arrived.
struct sink {
  asio::io_context io;
  asio::ip::tcp::acceptor acceptor{io, {asio::ip::make_address("127.0.0.1"), 0}};
  std::promise<std::pair<std::size_t, clock_type::time_point>> done;
  std::thread thread;

  sink() {
    thread = std::thread([this] {
      auto s = acceptor.accept();
      std::vector<char> buf(1 << 20);
      std::size_t total = 0;
      asio::error_code ec;
      for (;;) {
        auto n = s.read_some(asio::buffer(buf), ec);
        if (ec)
          break;
        total += n;
      }
      done.set_value({total, clock_type::now()});
    });
  }
  ~sink() { thread.join(); }
  std::uint16_t port() const { return acceptor.local_endpoint().port(); }
};

/// Sends `bytes` to 127.0.0.1:port in 256 KiB writes; returns GB/s measured to the
/// sink's last byte.
double run(std::uint16_t port, sink& s, std::size_t bytes) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    std::perror("connect");
    std::exit(1);
  }
  std::vector<char> block(256 * 1024, 'x');
  auto t0 = clock_type::now();
  std::size_t sent = 0;
  while (sent < bytes) {
    auto n = ::send(fd, block.data(), std::min(block.size(), bytes - sent), MSG_NOSIGNAL);
    if (n <= 0) {
      std::perror("send");
      std::exit(1);
    }
    sent += static_cast<std::size_t>(n);
  }
  ::shutdown(fd, SHUT_WR);
  auto [got, last] = s.done.get_future().get();
  ::close(fd);
  if (got != bytes) {
    std::fprintf(stderr, "sink got %zu of %zu bytes\n", got, bytes);
    std::exit(1);
  }
  return bytes / std::chrono::duration<double>(last - t0).count() / 1e9;
}

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

int main(int argc, char** argv) {
  achan::testkit::program_args args{"fault_proxy_bench",
                                    "fault_proxy_bench [--bytes N] [--reps N]"};
  std::size_t bytes = std::size_t{2} << 30;
  std::size_t reps = 3;
  args.each_flag(argc, argv, [&](const std::string& flag, const std::string& value) {
    if (flag == "--bytes")
      bytes = args.number(flag, value);
    else if (flag == "--reps")
      reps = std::max<std::size_t>(1, args.number(flag, value));
    else
      return false;
    return true;
  });
  std::vector<double> direct, proxied;
  for (std::size_t r = 0; r < reps; ++r) {  // alternate, so drift hits both alike
    for (bool via_proxy : {false, true}) {
      sink s;
      double gbps;
      if (via_proxy) {
        achan::fault::fault_proxy p("127.0.0.1:" + std::to_string(s.port()));
        gbps = run(p.port(), s, bytes);
        proxied.push_back(gbps);
      } else {
        gbps = run(s.port(), s, bytes);
        direct.push_back(gbps);
      }
      std::printf(
          "{\"bench\":\"fault_proxy_bulk\",\"path\":\"%s\",\"bytes\":%zu,\"gb_per_s\":%.3f}\n",
          via_proxy ? "proxy" : "direct", bytes, gbps);
      std::fflush(stdout);
    }
  }
  std::printf(
      "{\"bench\":\"fault_proxy_bulk_summary\",\"direct_gb_per_s\":%.3f,\"proxy_gb_per_s\":%.3f,"
      "\"ratio\":%.3f}\n",
      median(direct), median(proxied), median(proxied) / median(direct));
}
