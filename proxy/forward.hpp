#pragma once
/// Forwards one call received by grpc_proxy's server to its route's channel, and the
/// backend's answer back: headers, messages, status and trailers, in order, with
/// flow control both ways, deadline and cancellation (forward.cpp).
#include <cstddef>
#include <cstdint>
#include <memory>
#include <string>

#include <asio/io_context.hpp>

#include <achan/server.hpp>

#include "proxy/route_state.hpp"

namespace achan::proxy {

/// What forward() needs from the proxy.
struct forward_context {
  asio::io_context* timers = nullptr;  ///< runs fault delays
  std::size_t stream_buffer = 0;       ///< proxy_options::stream_buffer
  std::string via;                     ///< empty: no via metadata
  std::uint64_t seed = 0;
};

/// Serves `info`'s call on `route`: answers it at once when a fault aborts it or its
/// fault headers are malformed, else starts the backend call (after a fault delay, if
/// any) and returns how to pass the client's requests on.
transport::stream_reader forward(const forward_context& ctx, std::shared_ptr<route_state> route,
                                 transport::server_call_info info, transport::server_writer out);

/// Request metadata not forwarded: what the proxy's channel writes itself.
bool hop_by_hop(const std::string& key) noexcept;

}  // namespace achan::proxy
