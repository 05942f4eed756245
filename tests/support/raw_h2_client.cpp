#include "tests/support/raw_h2_client.hpp"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <stdexcept>

namespace achan::test {

std::string raw_h2_response::field(const std::string& name) const {
  std::string v;
  for (auto& [k, val] : fields)
    if (k == name)
      v = val;
  return v;
}

namespace {

struct stream_state {
  raw_h2_response r;
  const std::string* body = nullptr;
  std::size_t body_sent = 0;
};

struct state {
  std::vector<stream_state> streams;
  std::size_t open = 0;
  std::chrono::steady_clock::time_point start;
  stream_state* of(nghttp2_session* session, std::int32_t id) {
    return static_cast<stream_state*>(nghttp2_session_get_stream_user_data(session, id));
  }
};

long read_body(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t len,
               std::uint32_t* flags, nghttp2_data_source* src, void*) {
  auto& s = *static_cast<stream_state*>(src->ptr);
  auto n = std::min(len, s.body->size() - s.body_sent);
  std::memcpy(buf, s.body->data() + s.body_sent, n);
  s.body_sent += n;
  if (s.body_sent == s.body->size())
    *flags |= NGHTTP2_DATA_FLAG_EOF;
  return static_cast<long>(n);
}

bool send_all(int fd, nghttp2_session* session) {
  for (;;) {
    const std::uint8_t* data = nullptr;
    auto n = nghttp2_session_mem_send(session, &data);
    if (n < 0)
      return false;
    if (n == 0)
      return true;
    for (long off = 0; off < n;) {
      auto w = ::send(fd, data + off, static_cast<std::size_t>(n - off), MSG_NOSIGNAL);
      if (w <= 0)
        return false;
      off += w;
    }
  }
}

}  // namespace

std::vector<raw_h2_response> raw_h2_exchange(std::uint16_t port,
                                             const std::vector<raw_h2_request>& requests,
                                             std::chrono::milliseconds wait) {
  int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (fd < 0 || ::connect(fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (fd >= 0)
      ::close(fd);
    throw std::runtime_error("raw_h2_exchange: cannot connect to port " + std::to_string(port));
  }
  state st;
  st.streams.resize(requests.size());
  nghttp2_session_callbacks* cbs = nullptr;
  nghttp2_session_callbacks_new(&cbs);
  nghttp2_session_callbacks_set_on_header_callback(
      cbs,
      [](nghttp2_session* session, const nghttp2_frame* frame, const std::uint8_t* name,
         std::size_t nlen, const std::uint8_t* value, std::size_t vlen, std::uint8_t, void* user) {
        if (auto* s = static_cast<state*>(user)->of(session, frame->hd.stream_id))
          s->r.fields.emplace_back(std::string(reinterpret_cast<const char*>(name), nlen),
                                   std::string(reinterpret_cast<const char*>(value), vlen));
        return 0;
      });
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(
      cbs, [](nghttp2_session* session, std::uint8_t, std::int32_t id, const std::uint8_t* data,
              std::size_t len, void* user) {
        if (auto* s = static_cast<state*>(user)->of(session, id))
          s->r.body.append(reinterpret_cast<const char*>(data), len);
        return 0;
      });
  nghttp2_session_callbacks_set_on_stream_close_callback(
      cbs, [](nghttp2_session* session, std::int32_t id, std::uint32_t error_code, void* user) {
        auto& all = *static_cast<state*>(user);
        if (auto* s = all.of(session, id)) {
          s->r.closed = true;
          s->r.rst_error = error_code;
          s->r.elapsed = std::chrono::duration_cast<std::chrono::milliseconds>(
              std::chrono::steady_clock::now() - all.start);
          --all.open;
        }
        return 0;
      });
  nghttp2_session* session = nullptr;
  nghttp2_session_client_new(&session, cbs, &st);
  nghttp2_session_callbacks_del(cbs);
  nghttp2_submit_settings(session, NGHTTP2_FLAG_NONE, nullptr, 0);
  for (std::size_t i = 0; i < requests.size(); ++i) {
    std::vector<nghttp2_nv> nva;
    for (auto& [k, v] : requests[i].headers)
      nva.push_back({reinterpret_cast<std::uint8_t*>(const_cast<char*>(k.data())),
                     reinterpret_cast<std::uint8_t*>(const_cast<char*>(v.data())), k.size(),
                     v.size(), NGHTTP2_NV_FLAG_NONE});
    auto& s = st.streams[i];
    s.body = &requests[i].body;
    nghttp2_data_provider provider{};
    provider.source.ptr = &s;
    provider.read_callback = read_body;
    if (nghttp2_submit_request(session, nullptr, nva.data(), nva.size(), &provider, &s) > 0)
      ++st.open;
  }
  st.start = std::chrono::steady_clock::now();
  auto until = st.start + wait;
  bool ok = send_all(fd, session);
  while (ok && st.open > 0) {
    auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        until - std::chrono::steady_clock::now());
    if (left.count() <= 0)
      break;
    pollfd p{fd, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0)
      break;
    std::uint8_t buf[16384];
    auto n = ::recv(fd, buf, sizeof buf, 0);
    if (n <= 0 || nghttp2_session_mem_recv(session, buf, static_cast<std::size_t>(n)) < 0)
      break;
    ok = send_all(fd, session);  // SETTINGS ack, WINDOW_UPDATE
  }
  nghttp2_session_del(session);
  ::close(fd);
  std::vector<raw_h2_response> out;
  for (auto& s : st.streams)
    out.push_back(std::move(s.r));
  return out;
}

}  // namespace achan::test
