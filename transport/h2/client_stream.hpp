#pragma once
/// The per-stream state of an h2_client_connection: one call.
#include <cstddef>
#include <cstdint>
#include <optional>
#include <string>
#include <vector>

#include <achan/call.hpp>
#include <achan/request_stream.hpp>
#include "transport/grpc/framing.hpp"

namespace achan::transport {

/// One call's stream, from its HEADERS to its close (h2_client_connection's streams_).
struct h2_stream {
  explicit h2_stream(call_ptr call, std::size_t max_receive)
      : c(std::move(call)), deframer(max_receive) {}
  call_ptr c;
  std::int32_t id = -1;
  std::string out;  // streaming: the framed requests taken so far, unsent
  std::size_t sent = 0;
  // Unary and server-streaming: the gRPC frame header of the call's payload. The body is
  // served from it and from c->payload() directly, so the request is never copied
  // before nghttp2 copies it into its DATA frame.
  char prefix[grpc::frame_header_size] = {};
  bool requests_closed = false;  // streaming: everything written has been taken
  bool took_any = false;         // streaming: some request bytes left the queue
  int http_status = 0;
  bool headers_received = false;  // response HEADERS without END_STREAM arrived
  bool grpc_content_type = false;
  std::string content_type;
  std::optional<std::string> grpc_status;
  std::optional<std::string> grpc_message;
  metadata headers;              // response headers, then trailers
  std::size_t header_count = 0;  // entries of `headers` from the response HEADERS
  grpc::deframer deframer;
  std::string message;
  int messages = 0;
  std::size_t held = 0;  // response bytes counted in the connection's received_
  // Streaming: the messages in `out`; those before taken_head are in DATA frames already.
  // (A vector, not a deque: an empty std::deque allocates ~600 bytes, per stream.)
  std::vector<request_stream::taken> taken;
  std::size_t taken_head = 0;
  status local_error;                       // set when we reset the stream ourselves
  time_point deadline = time_point::max();  // in deadlines_ unless max
};

}  // namespace achan::transport
