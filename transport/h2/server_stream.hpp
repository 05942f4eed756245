#pragma once
/// The per-stream state of an h2_server connection, and what its responders share.
#include <atomic>
#include <cstdint>
#include <memory>
#include <optional>
#include <string>
#include <utility>
#include <vector>

#include <achan/call.hpp>
#include <achan/server.hpp>
#include "transport/grpc/framing.hpp"

namespace achan::transport {

class h2_server_connection;

/// Shared between a call's responder/writers and its connection. `done` makes answering
/// exactly-once; `buffered` counts written bytes not yet in DATA frames (any thread).
struct pending_response {
  std::weak_ptr<h2_server_connection> conn;
  std::int32_t stream_id = 0;
  std::atomic<bool> done{false};
  std::atomic<std::size_t> buffered{0};
  std::atomic<bool> requests_paused{false};  ///< server_writer::pause_requests's latest wish
};

/// One request stream, from its HEADERS to its close.
///
///   receiving ──request complete (unary, server-streaming) / headers (client, bidi)──► serving
///      │ bad request, over a limit, deadline, unknown method: trailers-only ──────────► done
///   serving ──finish with a message sent: EOF + trailers once `out` drains──► finishing ──► done
///      │ finish before any message: trailers-only ────────────────────────────────────► done
///   any ── RST_STREAM / connection closed: the stream is forgotten (on_close)
struct server_stream {
  enum class phase : std::uint8_t {
    receiving,  ///< the request arrives; no handler has it yet
    serving,    ///< a handler has it (counted in active_calls); responses may be written
    finishing,  ///< final status decided; trailers go once `out` has drained
    done,       ///< nothing more will be sent
  };

  server_stream(std::int32_t i, std::size_t max_receive) : id(i), deframer(max_receive) {}

  std::int32_t id;
  phase state = phase::receiving;
  // The request.
  std::string method;
  std::string authority;
  bool post = false;
  std::string content_type;
  metadata md;
  std::optional<time_point> deadline;  // from grpc-timeout, counted from the HEADERS
  bool in_deadlines = false;           // `deadline` is in the connection's deadlines_
  bool header_overflow = false;        // the header list went over max_header_list_size
  std::uint64_t header_bytes = 0;      // its decoded size, when it did
  grpc::deframer deframer;
  std::string request;  // unary and server-streaming: the one message
  int messages = 0;
  status error;                    // a request problem found while receiving
  std::size_t held = 0;            // request bytes counted in the connection's buffer
  bool streaming_request = false;  // client/bidi method: requests go to `reader`
  bool request_ended = false;      // END_STREAM seen
  stream_reader reader;
  // The response.
  bool headers_sent = false;        // response HEADERS submitted (with the deferred body)
  bool reset_after_answer = false;  // answered before the request ended: RST once sent
  std::shared_ptr<pending_response> pending;
  std::shared_ptr<call_metrics_state> metrics;  // what the handler records (ORCA on only)
  std::string out;  // framed response messages; out[sent..] not yet in DATA frames
  std::size_t sent = 0;
  /// A written message whose `sent` callback runs once out[..end) went into DATA frames.
  struct write_note {
    std::size_t end;
    std::size_t size;
    server_writer::sent_fn fn;
  };
  std::vector<write_note> notes;  // in `out` order
  std::size_t notes_head = 0;
  std::vector<std::pair<std::string, std::string>> trailers;  // kept alive for nghttp2

  bool answered() const noexcept { return state == phase::finishing || state == phase::done; }
  std::size_t unsent() const noexcept { return out.size() - sent; }
};

}  // namespace achan::transport
