#pragma once
/// Sending a connection's output without waiting for the event loop, shared by the
/// HTTP/2 client and server connections.
#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <system_error>

#include "transport/h2/nghttp2_util.hpp"

namespace achan::transport::h2util {

/// Writes as much of `buf` as the socket takes now and erases it from `buf`. The socket
/// must be in non-blocking mode (`socket.non_blocking(true)`), so this never blocks: a
/// full socket buffer leaves the rest in `buf` for an asynchronous write. Returns the
/// write error; "would block" is not one.
///
/// Sending at once (rather than through an async_write completing on a later turn of
/// the event loop) lets a connection send several times while it works through one
/// large read, so the peer starts on the first part while this side does the rest.
template <class Socket>
std::error_code write_now(Socket& socket, std::string& buf) {
  std::size_t done = 0;
  std::error_code ec;
  while (done < buf.size()) {
    auto n = socket.write_some(asio::buffer(buf.data() + done, buf.size() - done), ec);
    if (ec)
      break;
    done += n;
  }
  buf.erase(0, done);
  if (ec == asio::error::would_block || ec == asio::error::try_again ||
      ec == asio::error::interrupted)
    ec.clear();
  return ec;
}

/// What send_now() left to do.
struct send_outcome {
  long session_error = 0;    ///< nghttp2's (negative) error if mem_send failed, else 0
  std::error_code io_error;  ///< the socket's write error
  bool pending = false;      ///< the stream holds bytes the socket did not take: drain
                             ///< it (async_drain), then call send_now again
};

/// Gathers nghttp2's queued frames and sends them through `io` (a tls::stream, plain or
/// TLS) until nghttp2 has nothing more or the socket is full. `buf` is scratch space.
/// Without an error and not `pending`, everything queued went out.
template <class Stream>
send_outcome send_now(nghttp2_session* session, Stream& io, std::string& buf) {
  send_outcome out;
  for (;;) {
    if (out.session_error = gather_output(session, buf); out.session_error < 0)
      return out;
    if (buf.empty() && !io.pending())
      return out;
    if (out.io_error = io.send(buf); out.io_error)
      return out;
    if (io.pending()) {
      out.pending = true;
      return out;
    }
  }
}

}  // namespace achan::transport::h2util
