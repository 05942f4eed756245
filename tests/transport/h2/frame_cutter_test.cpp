#include "transport/h2/frame_cutter.hpp"

#include <doctest/doctest.h>

#include <algorithm>
#include <cstring>
#include <string>
#include <vector>

using achan::transport::h2util::frame_input;

namespace {
constexpr std::uint8_t DATA = 0x0, HEADERS = 0x1, WINDOW_UPDATE = 0x8;
constexpr std::uint8_t END_STREAM = 0x1, END_HEADERS = 0x4;

std::string frame(std::uint8_t type, std::uint8_t flags, std::size_t len) {
  std::string f{static_cast<char>(len >> 16),
                static_cast<char>(len >> 8),
                static_cast<char>(len),
                static_cast<char>(type),
                static_cast<char>(flags),
                0,
                0,
                0,
                1};
  return f + std::string(len, 'x');
}

/// A unary request as a client sends it: HEADERS, then DATA with END_STREAM.
std::string request(std::size_t body = 10) {
  return frame(HEADERS, END_HEADERS, 20) + frame(DATA, END_STREAM, body);
}

/// Feeds `bytes` in reads of `read_size` through a frame_input, returning every part's
/// size.
std::vector<std::size_t> cut(const std::string& bytes, unsigned k, std::size_t read_size,
                             std::size_t preface = 0) {
  frame_input<> in{preface};
  std::vector<std::size_t> parts;
  for (std::size_t r = 0; r < bytes.size(); r += read_size) {
    auto n = std::min(read_size, bytes.size() - r);
    REQUIRE(n <= in.space_size());
    std::memcpy(in.space(), bytes.data() + r, n);
    in.consume(n, k, [&](const std::uint8_t*, std::size_t len) {
      CHECK(len > 0);
      parts.push_back(len);
      return true;
    });
  }
  return parts;
}
}  // namespace

TEST_CASE("frame_cutter cuts right after every k-th frame that ends a stream") {
  std::string bytes;
  for (int i = 0; i < 5; ++i)
    bytes += request();
  auto one = request().size();
  CHECK(cut(bytes, 2, bytes.size()) == std::vector<std::size_t>{2 * one, 2 * one, one});
}

TEST_CASE("frame_cutter counts trailers and empty END_STREAM frames but not other frames") {
  // A response: HEADERS, DATA, trailers (HEADERS with END_STREAM, END_HEADERS), plus a
  // WINDOW_UPDATE that ends nothing, then an empty DATA frame ending another stream.
  auto response = frame(HEADERS, END_HEADERS, 5) + frame(DATA, 0, 20) +
                  frame(HEADERS, END_STREAM | END_HEADERS, 4);
  auto bytes = response + frame(WINDOW_UPDATE, 0, 4) + frame(DATA, END_STREAM, 0) + response;
  CHECK(cut(bytes, 1, bytes.size()) ==
        std::vector<std::size_t>{response.size(), 13 + 9, response.size()});
}

TEST_CASE("frame_cutter keeps its place across reads that split headers and payloads") {
  std::string bytes;
  std::vector<std::size_t> ends;     // offsets right after each request
  std::vector<std::size_t> headers;  // offsets of every frame header
  for (int i = 0; i < 6; ++i) {
    headers.push_back(bytes.size());
    headers.push_back(bytes.size() + 9 + 20);
    bytes += request(static_cast<std::size_t>(i) * 7);
    ends.push_back(bytes.size());
  }
  for (std::size_t read_size : {1, 3, 9, 10, 17, 64}) {
    CAPTURE(read_size);
    auto parts = cut(bytes, 1, read_size);
    // Every byte is handed on exactly once; no cut falls inside a frame header; every
    // cut is at the end of a read, before a frame header or right after a request, and
    // every request end is a cut.
    std::vector<std::size_t> cuts;
    std::size_t total = 0;
    for (auto p : parts)
      cuts.push_back(total += p);
    CHECK(total == bytes.size());
    for (auto at : cuts) {
      CAPTURE(at);
      for (auto h : headers)
        CHECK_FALSE((at > h && at < h + 9));
      CHECK((at % read_size == 0 || at == bytes.size() ||
             std::find(headers.begin(), headers.end(), at) != headers.end() ||
             std::find(ends.begin(), ends.end(), at) != ends.end()));
    }
    for (auto e : ends)
      CHECK(std::find(cuts.begin(), cuts.end(), e) != cuts.end());
  }
}

TEST_CASE("frame_cutter passes a server's 24-byte preface through uncounted") {
  auto bytes =
      std::string("PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n") + frame(0x4, 0, 6) + request() + request();
  CHECK(cut(bytes, 1, bytes.size(), 24) ==
        std::vector<std::size_t>{24 + 15 + request().size(), request().size()});
}

TEST_CASE("frame_cutter with bytes that are not HTTP/2 still hands on everything") {
  std::string junk = "HTTP/1.1 400 Bad Request\r\nContent-Length: 0\r\n\r\n";
  auto parts = cut(junk, 1, junk.size());
  std::size_t total = 0;
  for (auto p : parts)
    total += p;
  CHECK(total == junk.size());
}
