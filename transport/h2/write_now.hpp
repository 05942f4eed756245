#pragma once
/// Writing a connection's output without waiting for the event loop, shared by the
/// HTTP/2 client and server connections.
#include <asio/buffer.hpp>
#include <asio/error.hpp>

#include <algorithm>
#include <cstddef>
#include <string>
#include <system_error>

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

/// How many finished streams a connection handles from one read before it sends what
/// they produced (see frame_cutter). Measured with `achan bench` against `achan serve`
/// (bench/README.md): 16 beat 4, 8 and 32 at 64 in flight with 64-byte and 1 KiB
/// messages, and was within noise of 32 and 64 at 256 in flight.
constexpr unsigned calls_per_send = 16;

}  // namespace achan::transport::h2util
