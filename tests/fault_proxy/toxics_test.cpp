// Each toxic measured on real loopback connections through a fault_proxy in front of an
// echo server. Bounds are the (latency +-10 %, bandwidth +-15 %); they hold on a
// loaded 2-core machine because the quantities measured are 100 ms and more.
#include <doctest/doctest.h>

#include <algorithm>

#include <achan/fault_proxy.hpp>

#include "tests/fault_proxy/tcp_peers.hpp"

using namespace achan::fault;
using namespace achan::fault::test;

namespace {

double median(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  return v[v.size() / 2];
}

}  // namespace

TEST_CASE("fault proxy: bytes pass both ways unchanged without toxics") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client c(p.port());
  std::string data(1 << 20, '\0');
  for (std::size_t i = 0; i < data.size(); ++i)
    data[i] = static_cast<char>(i * 7 + i / 251);
  std::string back;
  std::thread writer([&] { c.send(data); });
  CHECK(c.read_exactly(back, data.size(), 10s) == read_end::data);
  writer.join();
  CHECK(back == data);
  auto st = p.stats();
  CHECK(st.accepted == 1);
  CHECK(st.open == 1);
  CHECK(st.bytes_upstream == data.size());
  CHECK(st.bytes_downstream == data.size());
}

TEST_CASE("fault proxy: latency adds its delay to each round trip") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client c(p.port());
  c.round_trip("warm");
  p.add(latency(100));
  std::vector<double> rtt;
  for (int i = 0; i < 5; ++i)
    rtt.push_back(c.round_trip("ping " + std::to_string(i)).count());
  auto m = median(rtt);
  MESSAGE("median round trip with latency 100 ms: " << m << " ms");
  CHECK(m >= 90);
  CHECK(m <= 110);
  CHECK(p.remove("latency_downstream"));
  CHECK(c.round_trip("fast").count() < 50);
}

TEST_CASE("fault proxy: latency jitter stays within latency plus or minus jitter") {
  tcp_server echo;
  fault_proxy p(echo.address());
  p.add(latency(60, 30, stream::upstream));
  client c(p.port());
  double lo = 1e9, hi = 0;
  for (int i = 0; i < 12; ++i) {
    auto t = c.round_trip("j" + std::to_string(i)).count();
    lo = std::min(lo, t);
    hi = std::max(hi, t);
  }
  MESSAGE("round trips with latency 60 +- 30 ms: " << lo << " .. " << hi << " ms");
  CHECK(lo >= 29);
  CHECK(hi <= 100);
  CHECK(hi - lo >= 5);  // the jitter is there at all
}

TEST_CASE("fault proxy: bandwidth holds the downstream rate") {
  tcp_server echo;
  fault_proxy p(echo.address());
  p.add(bandwidth(2000));  // 2 MB/s
  client c(p.port());
  std::string data(1'000'000, 'b');
  auto t0 = std::chrono::steady_clock::now();
  std::thread writer([&] { c.send(data); });
  std::string back;
  CHECK(c.read_exactly(back, data.size(), 10s) == read_end::data);
  writer.join();
  auto secs = since_ms(t0) / 1000;
  auto rate = data.size() / secs / 1000;
  MESSAGE("bandwidth 2000 KB/s measured " << rate << " KB/s");
  CHECK(rate >= 2000 * 0.85);
  CHECK(rate <= 2000 * 1.15);
}

TEST_CASE("fault proxy: slicer delivers slices of average_size plus or minus size_variation") {
  tcp_server echo;
  fault_proxy p(echo.address());
  p.add(slicer(100, 20, 5000));  // 80..120 bytes, 5 ms apart
  client c(p.port());
  std::string data(2000, 's');
  c.send(data);
  std::string back;
  std::vector<std::size_t> reads;
  while (back.size() < data.size()) {
    auto before = back.size();
    REQUIRE(c.read_some(back, 5s) == read_end::data);
    reads.push_back(back.size() - before);
  }
  CHECK(back == data);
  auto biggest = *std::max_element(reads.begin(), reads.end());
  MESSAGE(reads.size() << " reads, the largest " << biggest << " bytes");
  CHECK(biggest <= 120);
  CHECK(reads.size() >= 2000 / 120);
}

TEST_CASE("fault proxy: limit_data passes exactly N bytes then closes") {
  tcp_server echo;
  fault_proxy p(echo.address());
  p.add(limit_data(1500));
  client c(p.port());
  c.send(std::string(1000, 'a'));
  std::string back;
  CHECK(c.read_exactly(back, 1000, 5s) == read_end::data);
  c.send(std::string(1000, 'b'));
  auto end = c.read_exactly(back, 2000, 5s);
  CHECK(back.size() == 1500);
  CHECK((end == read_end::eof || end == read_end::reset));
}

TEST_CASE("fault proxy: reset_peer resets the connection after its timeout") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client c(p.port());
  c.round_trip("before");
  auto t0 = std::chrono::steady_clock::now();
  p.add(reset_peer(200));
  std::string got;
  auto end = c.read_some(got, 5s);
  auto waited = since_ms(t0);
  CHECK(end == read_end::reset);
  CHECK(waited >= 180);
  CHECK(waited <= 1000);
}

TEST_CASE("fault proxy: timeout holds data and closes after its timeout") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client c(p.port());
  auto t0 = std::chrono::steady_clock::now();
  p.add(timeout(300));
  c.send("held");
  std::string got;
  auto end = c.read_some(got, 5s);
  auto waited = since_ms(t0);
  CHECK(got.empty());
  CHECK(end == read_end::eof);
  CHECK(waited >= 280);
  CHECK(waited <= 1500);
}

TEST_CASE("fault proxy: timeout 0 and partition hold data until removed and lose none") {
  tcp_server echo;
  fault_proxy p(echo.address());
  for (auto t : {timeout(0), partition()}) {
    client c(p.port());
    c.round_trip("open");
    auto name = p.add(t);
    c.send("while held");
    std::string got;
    CHECK(c.read_some(got, 300ms) == read_end::timeout);
    CHECK(p.stats().open >= 1);
    CHECK(p.remove(name));
    CHECK(c.read_exactly(got, 10, 5s) == read_end::data);
    CHECK(got == "while held");
  }
}

TEST_CASE("fault proxy: partition stops both directions") {
  tcp_server echo;
  fault_proxy p(echo.address());
  client c(p.port());
  c.round_trip("x");
  auto up_before = p.stats().bytes_upstream;
  p.add(partition());
  c.send("nothing passes");
  std::string got;
  CHECK(c.read_some(got, 300ms) == read_end::timeout);
  CHECK(p.stats().bytes_upstream == up_before);  // not even towards the server
}

TEST_CASE("fault proxy: slow_close delays the close") {
  tcp_server echo;
  fault_proxy p(echo.address());
  p.add(slow_close(300, stream::upstream));
  {
    client c(p.port());
    c.round_trip("bye");
  }  // the client closes: the proxy waits 300 ms before closing towards the server
  auto t0 = std::chrono::steady_clock::now();
  while (p.stats().open > 0 && since_ms(t0) < 3000)
    std::this_thread::sleep_for(10ms);
  auto waited = since_ms(t0);
  CHECK(p.stats().open == 0);
  CHECK(waited >= 250);
}
