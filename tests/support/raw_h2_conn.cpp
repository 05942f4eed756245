// raw_h2_conn (declared in raw_frames.hpp): the socket, frame reading and HPACK decoding.
#include <arpa/inet.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <nghttp2/nghttp2.h>
#include <poll.h>
#include <sys/socket.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <stdexcept>

#include "tests/support/raw_frames.hpp"

namespace achan::test {

namespace {

using clock = std::chrono::steady_clock;

/// Milliseconds left until `until`, rounded up so a poll never wakes just short of it.
int ms_left(clock::time_point until) {
  auto left = until - clock::now();
  if (left <= clock::duration::zero())
    return 0;
  return static_cast<int>(std::chrono::ceil<std::chrono::milliseconds>(left).count());
}

/// The header block fragment of a HEADERS payload: padding and priority fields removed;
/// nullopt if the padding is longer than the payload.
std::optional<std::string> header_fragment(std::uint8_t flags, std::string_view p) {
  std::size_t pad = 0;
  if (flags & flag::padded) {
    if (p.empty())
      return std::nullopt;
    pad = std::uint8_t(p[0]);
    p.remove_prefix(1);
  }
  if (flags & flag::priority) {
    if (p.size() < 5)
      return std::nullopt;
    p.remove_prefix(5);
  }
  if (pad > p.size())
    return std::nullopt;
  p.remove_suffix(pad);
  return std::string(p);
}

struct frame_header {
  std::size_t length;
  std::uint8_t type, flags;
  std::uint32_t stream;
};

frame_header read_header(std::string_view s) {
  auto b = [&](std::size_t i) { return std::uint32_t(std::uint8_t(s[i])); };
  return {(b(0) << 16) | (b(1) << 8) | b(2), std::uint8_t(b(3)), std::uint8_t(b(4)),
          ((b(5) & 0x7f) << 24) | (b(6) << 16) | (b(7) << 8) | b(8)};
}

}  // namespace

raw_h2_conn::raw_h2_conn(std::uint16_t port, int receive_buffer) {
  if (nghttp2_hd_inflate_new(&inflater_) != 0)
    throw std::runtime_error("raw_h2_conn: nghttp2_hd_inflate_new failed");
  fd_ = ::socket(AF_INET, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  auto fail = [&](const std::string& what) {
    auto msg =
        "raw_h2_conn: " + what + " 127.0.0.1:" + std::to_string(port) + ": " + std::strerror(errno);
    if (fd_ >= 0)
      ::close(fd_);
    nghttp2_hd_inflate_del(inflater_);
    throw std::runtime_error(msg);
  };
  if (fd_ < 0)
    fail("socket for");
  if (receive_buffer > 0)
    set_receive_buffer(receive_buffer);
  int one = 1;
  ::setsockopt(fd_, IPPROTO_TCP, TCP_NODELAY, &one, sizeof one);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_port = htons(port);
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  if (::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0) {
    if (errno != EINPROGRESS)
      fail("cannot connect to");
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, 5000) != 1) {
      errno = ETIMEDOUT;
      fail("timed out connecting to");
    }
    int err = 0;
    socklen_t len = sizeof err;
    ::getsockopt(fd_, SOL_SOCKET, SO_ERROR, &err, &len);
    if (err != 0) {
      errno = err;
      fail("cannot connect to");
    }
  }
}

raw_h2_conn::~raw_h2_conn() {
  ::close(fd_);
  nghttp2_hd_inflate_del(inflater_);
}

bool raw_h2_conn::send(std::string_view bytes, std::chrono::milliseconds wait) {
  auto until = clock::now() + wait;
  while (!bytes.empty()) {
    auto n = ::send(fd_, bytes.data(), bytes.size(), MSG_NOSIGNAL);
    if (n > 0) {
      bytes.remove_prefix(static_cast<std::size_t>(n));
      bytes_sent_ += static_cast<std::size_t>(n);
      continue;
    }
    if (n < 0 && errno == EINTR)
      continue;
    if (n == 0 || (errno != EAGAIN && errno != EWOULDBLOCK))
      return false;
    pollfd p{fd_, POLLOUT, 0};
    if (::poll(&p, 1, ms_left(until)) <= 0)
      return false;  // the send buffer stayed full for the whole wait
  }
  return true;
}

bool raw_h2_conn::handshake(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& settings,
                            std::chrono::milliseconds wait) {
  for (auto& [id, value] : settings)
    if (id == setting::header_table_size)
      nghttp2_hd_inflate_change_table_size(inflater_, value);
  if (!send(std::string(client_preface) + settings_frame(settings), wait))
    return false;
  if (server_settings_ == 0 &&
      !wait_for([](const frame& f) { return f.type == frame_type::settings && !f.has(flag::ack); },
                wait))
    return false;
  for (; unacked_settings_ > 0; --unacked_settings_)
    if (!send(settings_ack(), wait))
      return false;
  return true;
}

bool raw_h2_conn::fill(clock::time_point until) {
  pollfd p{fd_, POLLIN, 0};
  int r = ::poll(&p, 1, ms_left(until));
  if (r < 0 && errno == EINTR)
    return true;
  if (r <= 0)
    return false;
  char buf[65536];
  auto n = ::recv(fd_, buf, sizeof buf, 0);
  if (n > 0) {
    if (in_pos_ == in_.size()) {
      in_.clear();
      in_pos_ = 0;
    }
    in_.append(buf, static_cast<std::size_t>(n));
    return true;
  }
  if (n < 0 && (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR))
    return true;
  closed_ = true;
  reset_ = n < 0 && errno == ECONNRESET;
  return true;
}

std::optional<frame> raw_h2_conn::take_frame() {
  std::string_view in = std::string_view(in_).substr(in_pos_);
  if (in.size() < 9)
    return std::nullopt;
  auto h = read_header(in);
  if (in.size() < 9 + h.length)
    return std::nullopt;
  frame f;
  f.type = h.type;
  f.flags = h.flags;
  f.stream = h.stream;
  f.payload = in.substr(9, h.length);
  std::size_t used = 9 + h.length;
  if (f.type == frame_type::headers) {
    // Join the CONTINUATIONs that finish the block; wait until they are all here.
    auto fragment = header_fragment(f.flags, f.payload);
    std::string block = fragment.value_or("");
    bool done = f.has(flag::end_headers);
    while (!done) {
      if (in.size() < used + 9)
        return std::nullopt;
      auto c = read_header(in.substr(used));
      if (c.type != frame_type::continuation || c.stream != f.stream) {
        f.hpack_error = "header block interrupted by a frame of type " + std::to_string(c.type);
        break;
      }
      if (in.size() < used + 9 + c.length)
        return std::nullopt;
      block += in.substr(used + 9, c.length);
      used += 9 + c.length;
      ++f.continuations;
      done = (c.flags & flag::end_headers) != 0;
    }
    f.payload = std::move(block);
    f.flags = static_cast<std::uint8_t>(f.flags & ~(flag::padded | flag::priority));
    if (done)
      f.flags |= flag::end_headers;
    if (!fragment)
      f.hpack_error = "padding longer than the HEADERS payload";
    else if (f.hpack_error.empty())
      decode_block(f);
  }
  in_pos_ += used;
  return f;
}

void raw_h2_conn::decode_block(frame& f) {
  header_list out;
  auto* in = reinterpret_cast<const std::uint8_t*>(f.payload.data());
  std::size_t left = f.payload.size();
  for (;;) {
    nghttp2_nv nv;
    int flags = 0;
    auto n = nghttp2_hd_inflate_hd2(inflater_, &nv, &flags, in, left, 1);
    if (n < 0) {
      f.hpack_error = std::string("HPACK: ") + nghttp2_strerror(static_cast<int>(n));
      return;
    }
    in += n;
    left -= static_cast<std::size_t>(n);
    if (flags & NGHTTP2_HD_INFLATE_EMIT)
      out.emplace_back(std::string(reinterpret_cast<const char*>(nv.name), nv.namelen),
                       std::string(reinterpret_cast<const char*>(nv.value), nv.valuelen));
    if (flags & NGHTTP2_HD_INFLATE_FINAL) {
      nghttp2_hd_inflate_end_headers(inflater_);
      break;
    }
    if (!(flags & NGHTTP2_HD_INFLATE_EMIT) && left == 0)
      break;
  }
  f.fields = std::move(out);
}

std::optional<frame> raw_h2_conn::next_frame(std::chrono::milliseconds wait) {
  auto until = clock::now() + wait;
  for (;;) {
    if (auto f = take_frame()) {
      if (f->type == frame_type::settings && !f->has(flag::ack)) {
        ++server_settings_;
        if (auto_settings_ack && bytes_sent_ >= client_preface.size())
          send(settings_ack(), std::chrono::seconds(1));
        else
          ++unacked_settings_;
      }
      if (f->type == frame_type::ping && !f->has(flag::ack) && auto_ping_ack)
        send(ping(f->payload, true), std::chrono::seconds(1));
      if (recording_)
        seen_.push_back(*f);
      return f;
    }
    if (closed_ || !fill(until))
      return std::nullopt;
  }
}

std::optional<frame> raw_h2_conn::wait_for(const std::function<bool(const frame&)>& pred,
                                           std::chrono::milliseconds wait) {
  auto until = clock::now() + wait;
  for (;;) {
    auto f = next_frame(std::chrono::milliseconds(ms_left(until)));
    if (!f)
      return std::nullopt;
    if (pred(*f))
      return f;
    if (clock::now() >= until)
      return std::nullopt;  // frames keep coming but none matches
  }
}

bool raw_h2_conn::wait_closed(std::chrono::milliseconds wait) {
  auto until = clock::now() + wait;
  for (;;) {
    auto f = next_frame(std::chrono::milliseconds(ms_left(until)));
    if (!f)
      return closed_;
    if (!closed_ && clock::now() >= until)
      return false;  // still sending when the wait ran out
  }
}

header_list raw_h2_conn::decode(const frame& headers) const {
  if (headers.type != frame_type::headers)
    throw std::invalid_argument("decode: not a HEADERS frame");
  if (headers.fields)
    return *headers.fields;
  if (!headers.hpack_error.empty())
    throw std::runtime_error("decode: " + headers.hpack_error);
  throw std::invalid_argument("decode: this HEADERS frame was not read by a raw_h2_conn");
}

int raw_h2_conn::set_receive_buffer(int bytes) {
  ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &bytes, sizeof bytes);
  int now = 0;
  socklen_t len = sizeof now;
  ::getsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &now, &len);
  return now;
}

}  // namespace achan::test
