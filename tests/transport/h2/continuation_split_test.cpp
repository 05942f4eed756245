// Debian's nghttp2 1.52.0-1+deb12u3 counts a CONTINUATION twice when its 9-byte frame
// header arrives split across two nghttp2_session_mem_recv calls; frame_input never hands
// nghttp2 a split frame header. These tests feed a real nghttp2 server session.
#include <nghttp2/nghttp2.h>

#include <doctest/doctest.h>

#include <cstring>
#include <string>
#include <vector>

#include "transport/h2/frame_cutter.hpp"

using achan::transport::h2util::frame_input;

namespace {

std::string frame(std::uint8_t type, std::uint8_t flags, std::uint32_t stream,
                  const std::string& payload) {
  auto n = payload.size();
  std::string f{static_cast<char>(n >> 16),
                static_cast<char>(n >> 8),
                static_cast<char>(n),
                static_cast<char>(type),
                static_cast<char>(flags),
                static_cast<char>(stream >> 24),
                static_cast<char>(stream >> 16),
                static_cast<char>(stream >> 8),
                static_cast<char>(stream)};
  return f + payload;
}

/// A literal header field without indexing, new name (RFC 7541 6.2.2), short strings.
std::string literal(const std::string& name, const std::string& value) {
  return std::string{'\0', static_cast<char>(name.size())} + name +
         static_cast<char>(value.size()) + value;
}

/// The client preface, SETTINGS, and one request whose header block is a HEADERS frame
/// and `continuations` CONTINUATION frames (the last with END_HEADERS), END_STREAM set.
std::string request_with_continuations(int continuations) {
  std::string block = "\x83\x86\x44\x04/a/b\x41\x09localhost";  // POST, http, :path, :authority
  for (int i = 0; i < continuations; ++i)
    block += literal("x-k" + std::to_string(i), std::string(100, 'v'));
  auto per = block.size() / (continuations + 1);
  std::string out = std::string{"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n"} + frame(0x4, 0, 0, "");
  out += frame(0x1, 0x1, 1, block.substr(0, per));  // HEADERS, END_STREAM
  for (int i = 0; i < continuations; ++i) {
    bool last = i + 1 == continuations;
    auto piece = last ? block.substr(per * (i + 1)) : block.substr(per * (i + 1), per);
    out += frame(0x9, last ? 0x4 : 0x0, 1, piece);
  }
  return out;
}

struct server_session {
  nghttp2_session* s = nullptr;
  int headers_done = 0;
  server_session() {
    nghttp2_session_callbacks* cbs = nullptr;
    nghttp2_session_callbacks_new(&cbs);
    nghttp2_session_callbacks_set_on_frame_recv_callback(
        cbs, [](nghttp2_session*, const nghttp2_frame* f, void* user) {
          if (f->hd.type == NGHTTP2_HEADERS)
            ++static_cast<server_session*>(user)->headers_done;
          return 0;
        });
    nghttp2_session_server_new(&s, cbs, this);
    nghttp2_session_callbacks_del(cbs);
  }
  ~server_session() { nghttp2_session_del(s); }
};

/// Offsets at which every CONTINUATION's frame header is cut in two (4 bytes into it).
std::vector<std::size_t> split_points(const std::string& bytes) {
  std::vector<std::size_t> at;
  for (std::size_t pos = 24; pos + 9 <= bytes.size();) {
    auto len = std::size_t{std::uint8_t(bytes[pos])} << 16 |
               std::size_t{std::uint8_t(bytes[pos + 1])} << 8 | std::uint8_t(bytes[pos + 2]);
    if (bytes[pos + 3] == 0x9)
      at.push_back(pos + 4);
    pos += 9 + len;
  }
  return at;
}

/// Feeds `bytes` as reads that end at `cuts` (and at the end).
template <class Feed>
void in_reads(const std::string& bytes, const std::vector<std::size_t>& cuts, Feed&& feed) {
  std::size_t from = 0;
  auto all = cuts;
  all.push_back(bytes.size());
  for (auto to : all) {
    feed(bytes.data() + from, to - from);
    from = to;
  }
}

}  // namespace

TEST_CASE("frame_input: a header block of 8 CONTINUATIONs with split frame headers is accepted") {
  auto bytes = request_with_continuations(8);
  auto cuts = split_points(bytes);
  REQUIRE(cuts.size() == 8);
  server_session srv;
  frame_input<> in{24};
  bool ok = true;
  in_reads(bytes, cuts, [&](const char* p, std::size_t n) {
    std::memcpy(in.space(), p, n);
    in.consume(n, 16, [&](const std::uint8_t* d, std::size_t len) {
      auto rv = nghttp2_session_mem_recv(srv.s, d, len);
      if (rv < 0) {
        MESSAGE("nghttp2: " << nghttp2_strerror(static_cast<int>(rv)));
        ok = false;
      }
      return rv >= 0;
    });
  });
  CHECK(ok);
  CHECK(srv.headers_done == 1);
}

TEST_CASE("frame_input: the installed nghttp2's CONTINUATION miscount is still there (warning)") {
  // Documents the library bug the frame_input works around: fed directly, the same reads
  // make this nghttp2 end the session. A WARN, not a CHECK: a fixed nghttp2 is welcome.
  auto bytes = request_with_continuations(8);
  server_session srv;
  long worst = 0;
  in_reads(bytes, split_points(bytes), [&](const char* p, std::size_t n) {
    if (worst >= 0)
      worst = nghttp2_session_mem_recv(srv.s, reinterpret_cast<const std::uint8_t*>(p), n);
  });
  WARN_MESSAGE(worst == NGHTTP2_ERR_TOO_MANY_CONTINUATIONS,
               "nghttp2 " << nghttp2_version(0)->version_str
                          << " accepts split CONTINUATION headers: frame_input's hold-back is "
                             "no longer needed");
  CHECK(nghttp2_version(0) != nullptr);
}
