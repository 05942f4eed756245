#pragma once
/// The real transport: gRPC over HTTP/2 on asio sockets, h2c with prior knowledge or
/// TLS with ALPN h2 (h2_options::tls, OpenSSL), with nghttp2 doing the HTTP/2 framing,
/// HPACK and flow control.
#include <memory>

#include <achan/h2_options.hpp>
#include <achan/transport.hpp>

namespace achan::transport {

/// Creates an HTTP/2 transport with its own I/O threads (`opts.io_threads`). Share one
/// transport between channels to share those threads. Addresses: "host:port",
/// "[v6]:port", "unix:/path", "unix-abstract:name". Destroying the transport closes the
/// connections still open (their calls end UNAVAILABLE); its I/O threads stop once the
/// last of them is gone (a program's exit waits up to 3 s for that).
transport_ptr make_h2_transport(h2_options opts = {});

}  // namespace achan::transport
