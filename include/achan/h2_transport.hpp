#pragma once
/// The real transport: gRPC over HTTP/2 (h2c with prior knowledge) on asio sockets,
/// with nghttp2 doing the HTTP/2 framing, HPACK and flow control. TLS is a later
/// addition behind the same interface.
#include <memory>

#include <achan/h2_options.hpp>
#include <achan/transport.hpp>

namespace achan::transport {

/// Creates an HTTP/2 transport with its own I/O threads (`opts.io_threads`). Share one
/// transport between channels to share those threads. Addresses: "host:port",
/// "[v6]:port", "unix:/path", "unix-abstract:name".
transport_ptr make_h2_transport(h2_options opts = {});

}  // namespace achan::transport
