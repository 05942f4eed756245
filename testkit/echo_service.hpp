#pragma once
/// The test service of proto/echo.proto served by achan's own server: echo with an
/// optional delay, a chosen failure status, a reply of a chosen size, and the server's
/// name in every reply. Request metadata starting with "x-echo-" comes back as
/// trailers. ServerStream sends reply_count replies (index 0..n-1); ClientStream
/// answers the half-close with the last request's payload and the count received;
/// Bidi answers each request as it arrives. Implemented on the generated stubs
/// (proto/echo.achan.pb.h, target achan_proto_stubs).
#include <functional>
#include <memory>
#include <string>

#include <achan/server.hpp>

namespace achan::testkit {

/// Registers achan.test.Echo (the generated achan::test::Echo::Service, which the server
/// keeps alive) on `server` as `name`. The returned object runs the delays (timers on one
/// thread of its own); keep it alive while the server serves (without it, delay_ms is
/// ignored). A request that does not parse is answered INVALID_ARGUMENT.
/// `on_call` (optional) runs on the I/O thread when a call reaches its handler, with
/// the method path (tests use it to know a call is in progress).
std::shared_ptr<void> add_echo_service(transport::h2_server& server, std::string name,
                                       std::function<void(const std::string&)> on_call = {});

}  // namespace achan::testkit
