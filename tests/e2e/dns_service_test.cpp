// The c-ares lookup service on real sockets: A and AAAA together, literals without a
// query, a server that never answers (timeout), and shutdown with a lookup pending.
#include <doctest/doctest.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <future>

#include "tests/support/dnsmasq.hpp"
#include "transport/dns/ares_service.hpp"

using namespace achan;
using namespace std::chrono_literals;

namespace {

/// A UDP socket on 127.0.0.1 that receives queries and never answers.
struct black_hole {
  int fd = ::socket(AF_INET, SOCK_DGRAM, 0);
  std::uint16_t port = 0;
  black_hole() {
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    socklen_t len = sizeof a;
    REQUIRE(::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0);
    REQUIRE(::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len) == 0);
    port = ntohs(a.sin_port);
  }
  ~black_hole() { ::close(fd); }
  std::string server() const { return "127.0.0.1:" + std::to_string(port); }
};

}  // namespace

TEST_CASE("dns service: A and AAAA records come back together with the TTL") {
  test::dnsmasq dns{{{"127.0.0.2", "dual.test"}, {"::1", "dual.test"}}, 42};
  auto r = test::lookup_now("dual.test", 8443, dns.server());
  REQUIRE_MESSAGE(r.ok(), r.message);
  std::sort(r.addresses.begin(), r.addresses.end());
  CHECK(r.addresses == std::vector<std::string>{"127.0.0.2:8443", "[::1]:8443"});
  REQUIRE(r.ttl);
  CHECK(r.ttl->count() == 42);
  CHECK(dns.queries("dual.test", "A") == 1);
  CHECK(dns.queries("dual.test", "AAAA") == 1);
}

TEST_CASE("dns service: literals and localhost are answered without a query") {
  black_hole hole;  // any query would time out
  auto r = test::lookup_now("localhost", 1, hole.server());
  CHECK(r.addresses == std::vector<std::string>{"127.0.0.1:1", "[::1]:1"});
  CHECK(test::lookup_now("::1", 2, hole.server()).addresses == std::vector<std::string>{"[::1]:2"});
}

TEST_CASE("dns service: a server that never answers gives a timeout error") {
  black_hole hole;
  auto svc = std::make_shared<dns::ares_service>();
  std::promise<dns::lookup_result> p;
  auto t0 = std::chrono::steady_clock::now();
  svc->lookup({"svc.test", 1, hole.server(), 300ms},
              [&](dns::lookup_result&& r) { p.set_value(std::move(r)); });
  auto f = p.get_future();
  REQUIRE(f.wait_for(5s) == std::future_status::ready);
  auto r = f.get();
  CHECK(std::chrono::steady_clock::now() - t0 < 2s);
  CHECK(r.error == dns::lookup_error::timeout);
  CHECK(r.message ==
        "DNS lookup of 'svc.test' failed: timed out after 300 ms [server " + hole.server() + "]");
}

TEST_CASE("dns service: destroying the service ends a pending lookup as cancelled") {
  black_hole hole;
  auto svc = std::make_shared<dns::ares_service>();
  std::promise<dns::lookup_result> p;
  svc->lookup({"svc.test", 1, hole.server(), 10s},
              [&](dns::lookup_result&& r) { p.set_value(std::move(r)); });
  svc.reset();  // joins the service thread
  auto f = p.get_future();
  REQUIRE(f.wait_for(0s) == std::future_status::ready);
  auto r = f.get();
  CHECK(r.error == dns::lookup_error::cancelled);
  CHECK(r.message.find("cancelled") != std::string::npos);
}
