#pragma once
/// Hand-made HTTP/2 for hostile-peer tests: builders that spell out exactly the bytes a
/// test sends (HPACK fields, frames, gRPC messages — nothing checks them, so they can
/// violate the protocol on purpose), parsers for the frames a server sends back, and
/// `raw_h2_conn`, a client socket with no HTTP/2 session of its own: it sends what it is
/// given and reads and decodes what comes back, every wait bounded.
///
///   raw_h2_conn c{port};
///   REQUIRE(c.handshake());
///   c.send(headers(1, hpack::grpc_request_block("/pkg.Svc/M"), false, true) +
///          data(1, grpc_message("hi"), true));
///   auto trailers = c.wait_for([](const frame& f) { return f.stream == 1 &&
///                                f.type == frame_type::headers && f.has(flag::end_stream); });
///   // c.decode(*trailers) holds grpc-status; c.seen() every frame read so far.
///
/// Frames are built with `h2_frame()` from raw_server.hpp (also usable for any frame type).
/// Builders and parsers are in raw_frames.cpp, raw_h2_conn in raw_h2_conn.cpp.
#include <chrono>
#include <cstdint>
#include <functional>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "tests/support/raw_server.hpp"

struct nghttp2_hd_inflater;

namespace achan::test {

/// Header fields in wire order: (name, value).
using header_list = std::vector<std::pair<std::string, std::string>>;

/// Frame type codes (RFC 9113 §6).
namespace frame_type {
inline constexpr std::uint8_t data = 0x0, headers = 0x1, priority = 0x2, rst_stream = 0x3,
                              settings = 0x4, push_promise = 0x5, ping = 0x6, goaway = 0x7,
                              window_update = 0x8, continuation = 0x9;
}
/// Frame flags (ack shares bit 0x1 with end_stream; it applies to SETTINGS and PING).
namespace flag {
inline constexpr std::uint8_t end_stream = 0x1, ack = 0x1, end_headers = 0x4, padded = 0x8,
                              priority = 0x20;
}
/// Error codes of RST_STREAM and GOAWAY (RFC 9113 §7).
namespace h2_error {
inline constexpr std::uint32_t no_error = 0x0, protocol_error = 0x1, internal_error = 0x2,
                               flow_control_error = 0x3, settings_timeout = 0x4,
                               stream_closed = 0x5, frame_size_error = 0x6, refused_stream = 0x7,
                               cancel = 0x8, compression_error = 0x9, connect_error = 0xa,
                               enhance_your_calm = 0xb, inadequate_security = 0xc,
                               http_1_1_required = 0xd;
}
/// SETTINGS identifiers (RFC 9113 §6.5.2).
namespace setting {
inline constexpr std::uint16_t header_table_size = 0x1, enable_push = 0x2,
                               max_concurrent_streams = 0x3, initial_window_size = 0x4,
                               max_frame_size = 0x5, max_header_list_size = 0x6;
}

/// HPACK encoding by hand (RFC 7541), no Huffman: each function returns the bytes of one
/// representation; concatenate them into a header block. Nothing is validated, so an
/// out-of-range index or an oversized table update is sent as asked.
namespace hpack {
/// An integer with an N-bit prefix (§5.1): `first_byte_bits` are the representation's
/// pattern bits above the prefix (bits inside the prefix are cleared); `prefix_bits` is
/// 1..8, anything else throws std::invalid_argument.
std::string integer(std::uint8_t first_byte_bits, int prefix_bits, std::uint64_t value);
/// A string literal (§5.2): H = 0, 7-bit length prefix, the raw bytes.
std::string string_literal(std::string_view s);
/// Indexed header field (§6.1): 1 = :authority ... 61 = www-authenticate; 62 and up are
/// the dynamic table, newest first.
std::string indexed(std::uint64_t index);
/// Literal with incremental indexing, new name (§6.2.1, 0x40): the peer adds the field to
/// its dynamic table, where the next block can reference it as indexed(62).
std::string literal_with_indexing(std::string_view name, std::string_view value);
/// Literal without indexing, new name (§6.2.2, 0x00): leaves the dynamic table alone.
std::string literal(std::string_view name, std::string_view value);
/// Literal without indexing whose name is table entry `index` (§6.2.2, 4-bit prefix).
std::string literal_indexed_name(std::uint64_t index, std::string_view value);
/// Dynamic table size update (§6.3, 0x20, 5-bit prefix); valid only at a block's start.
std::string table_size_update(std::uint64_t size);
/// A complete, valid request block for a gRPC call: :method POST, :scheme http, `path`,
/// :authority localhost, content-type application/grpc, te trailers, then
/// `extra_fields` as literals. Uses static-table names and no indexing, so the block
/// decodes the same whatever the connection sent before (dynamic entries keep their
/// numbers).
std::string grpc_request_block(std::string_view path, const header_list& extra_fields = {});
}  // namespace hpack

/// The 24 bytes every HTTP/2 client sends first (RFC 9113 §3.4).
inline constexpr std::string_view client_preface = "PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n";

/// SETTINGS with `entries` (id, value), in order; no flags.
std::string settings_frame(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& entries);
/// An empty SETTINGS with ACK.
std::string settings_ack();
/// PING on stream 0 with `opaque` as its payload (8 bytes for a valid one; other sizes
/// are sent as given), ACK set if `ack`.
std::string ping(std::string_view opaque, bool ack = false);
/// WINDOW_UPDATE for `stream` (0 = the connection); all 32 bits of `increment` as given
/// (the top one is reserved; 0 and > 2^31-1 are protocol errors a test may want).
std::string window_update(std::uint32_t stream, std::uint32_t increment);
/// RST_STREAM for `stream` with error `code`.
std::string rst_stream(std::uint32_t stream, std::uint32_t code);
/// HEADERS carrying `block` (no padding, no priority).
std::string headers(std::uint32_t stream, std::string_view block, bool end_stream,
                    bool end_headers = true);
/// CONTINUATION carrying the next part of a header block.
std::string continuation(std::uint32_t stream, std::string_view block, bool end_headers);
/// DATA carrying `payload` (no padding).
std::string data(std::uint32_t stream, std::string_view payload, bool end_stream);
/// GOAWAY with the last stream id, error `code` and debug data.
std::string goaway(std::uint32_t last_stream, std::uint32_t code, std::string_view debug = {});
/// A gRPC length-prefixed message (1 flag byte, 4-byte big-endian length, payload).
std::string grpc_message(std::string_view payload, bool compressed = false);
/// The payload of the first complete gRPC message at the start of `bytes` (e.g. the
/// DATA payloads of a stream joined), or nullopt if `bytes` holds less than one.
std::optional<std::string> grpc_message_payload(std::string_view bytes);

/// One frame as read by raw_h2_conn. A HEADERS frame and the CONTINUATIONs that finish
/// its block come back joined as one HEADERS: `payload` is then the whole header block
/// (padding and priority fields removed, PADDED and PRIORITY flags cleared, END_HEADERS
/// set if the block was finished) and `fields` its decoded contents.
struct frame {
  std::uint8_t type = 0;
  std::uint8_t flags = 0;
  std::uint32_t stream = 0;
  std::string payload;
  /// HEADERS: how many CONTINUATION frames were joined into it.
  std::size_t continuations = 0;
  /// HEADERS: the decoded block; nullopt if it could not be decoded (see hpack_error).
  std::optional<header_list> fields;
  /// HEADERS: why the block was not decoded (bad padding, HPACK error, interrupted).
  std::string hpack_error;
  /// True if every bit of `f` is set in flags.
  bool has(std::uint8_t f) const noexcept { return (flags & f) == f; }
};

/// What a GOAWAY says.
struct goaway_info {
  std::uint32_t last_stream = 0;
  std::uint32_t error_code = 0;
  std::string debug;
};
/// Reads a GOAWAY; throws std::invalid_argument if `f` is not one or is shorter than 8.
goaway_info parse_goaway(const frame& f);
/// The error code of an RST_STREAM; throws std::invalid_argument if `f` is not one.
std::uint32_t rst_code(const frame& f);
/// The increment of a WINDOW_UPDATE; throws std::invalid_argument if `f` is not one.
std::uint32_t window_increment(const frame& f);
/// The (id, value) entries of a SETTINGS frame; throws std::invalid_argument if `f` is
/// not one or its length is not a multiple of 6.
std::vector<std::pair<std::uint16_t, std::uint32_t>> settings_entries(const frame& f);
/// The value of the last field called `name` in `fields`, or nullopt.
std::optional<std::string> field(const header_list& fields, std::string_view name);
/// The frames of `stream` among `frames` (e.g. raw_h2_conn::seen()), in order.
std::vector<frame> frames_on(const std::vector<frame>& frames, std::uint32_t stream);
/// The DATA payloads of `stream` among `frames`, joined.
std::string data_on(const std::vector<frame>& frames, std::uint32_t stream);
/// A wait_for predicate: a frame that ends `stream` (END_STREAM on HEADERS or DATA, or
/// RST_STREAM).
std::function<bool(const frame&)> ends_stream(std::uint32_t stream);

/// A client connection to 127.0.0.1:port that speaks no HTTP/2 by itself: it sends the
/// bytes it is given and parses what the server sends. Not thread-safe: one test thread
/// drives it. Every read waits with poll() for at most the time it was given.
///
/// HPACK: the server's encoder state is per connection, so every header block read is
/// decoded as it arrives, in order, by one persistent inflater (decode() returns it).
class raw_h2_conn {
 public:
  /// Connects (waiting up to 5 s); throws std::runtime_error on failure.
  /// `receive_buffer` > 0 sets SO_RCVBUF before connecting (see set_receive_buffer).
  explicit raw_h2_conn(std::uint16_t port, int receive_buffer = 0);
  ~raw_h2_conn();
  raw_h2_conn(const raw_h2_conn&) = delete;
  raw_h2_conn& operator=(const raw_h2_conn&) = delete;

  /// Writes all of `bytes` within `wait`; false if the peer closed, or if the socket's
  /// send buffer stayed full (a server that stopped reading) — then part of `bytes` may
  /// have gone out (bytes_sent() tells how much in all).
  bool send(std::string_view bytes, std::chrono::milliseconds wait = std::chrono::seconds(5));
  /// Sends the client preface and SETTINGS(`settings`), then reads until the server's
  /// SETTINGS arrives (unless it already did) and acks every server SETTINGS not acked
  /// yet. False if that takes longer than `wait` or fails. A header_table_size entry
  /// also resizes the inflater to match.
  bool handshake(const std::vector<std::pair<std::uint16_t, std::uint32_t>>& settings = {},
                 std::chrono::milliseconds wait = std::chrono::seconds(5));
  /// The next frame, or nullopt if none was complete within `wait` or the connection
  /// ended (see closed()). A HEADERS is held back until the CONTINUATIONs that finish
  /// its block are here and comes back joined with them (if another frame interrupts
  /// the block, the HEADERS comes back undecoded with hpack_error, then that frame). A
  /// server SETTINGS is acked at once if auto_settings_ack and the 24 preface bytes have
  /// been sent (an ack before them would be the server's first bytes: it closes); a
  /// server PING only if auto_ping_ack. Automatic acks wait at most 1 s to be written.
  std::optional<frame> next_frame(std::chrono::milliseconds wait);
  /// Reads frames until one satisfies `pred` and returns it; nullopt if `wait` passed or
  /// the connection ended first. Frames skipped on the way are only in seen().
  std::optional<frame> wait_for(const std::function<bool(const frame&)>& pred,
                                std::chrono::milliseconds wait);
  /// Reads (and drops, apart from seen()) until the server closes the connection (FIN or
  /// RST); true if that happened within `wait`.
  bool wait_closed(std::chrono::milliseconds wait);
  /// The decoded fields of a HEADERS frame read by a raw_h2_conn (decoding happened as
  /// it was read). Throws std::invalid_argument for another frame type or a HEADERS
  /// that was never decoded (built by hand), and std::runtime_error with the reason if
  /// its block could not be decoded.
  header_list decode(const frame& headers) const;

  /// Every frame read so far, in order (what next_frame returned and what wait_for and
  /// wait_closed skipped), e.g. to find a GOAWAY that came before the close. Holds DATA
  /// payloads too: turn recording off for tests that read a lot under a heap bound.
  const std::vector<frame>& seen() const noexcept { return seen_; }
  /// Starts (default) or stops recording frames in seen().
  void set_recording(bool on) noexcept { recording_ = on; }
  /// Forgets the frames recorded so far.
  void clear_seen() { seen_.clear(); }

  /// Sets SO_RCVBUF (the kernel doubles it and has a floor of a few KiB); returns the
  /// size now in effect. For slow-reader tests: call before handshake(); on a connected
  /// socket the advertised window only shrinks as data arrives, so the constructor's
  /// `receive_buffer` bounds it from the first byte.
  int set_receive_buffer(int bytes);
  /// The socket, e.g. for shutdown(SHUT_WR) or more socket options.
  int fd() const noexcept { return fd_; }
  /// True once the server's end has closed (FIN) or reset the connection.
  bool closed() const noexcept { return closed_; }
  /// True if the close was a TCP reset (ECONNRESET) rather than a FIN.
  bool reset_by_peer() const noexcept { return reset_; }
  /// Bytes written by send() (and automatic acks) so far.
  std::size_t bytes_sent() const noexcept { return bytes_sent_; }

  /// Ack every server SETTINGS as it is read, once the preface is out (default true).
  bool auto_settings_ack = true;
  /// Answer every server PING with a PING ACK as it is read (default false).
  bool auto_ping_ack = false;

 private:
  std::optional<frame> take_frame();
  void decode_block(frame& f);
  bool fill(std::chrono::steady_clock::time_point until);

  int fd_ = -1;
  nghttp2_hd_inflater* inflater_ = nullptr;
  std::string in_;  // bytes read, not yet parsed, from in_pos_
  std::size_t in_pos_ = 0;
  std::vector<frame> seen_;
  bool recording_ = true;
  bool closed_ = false;
  bool reset_ = false;
  std::size_t bytes_sent_ = 0;
  int server_settings_ = 0;   // non-ACK SETTINGS read
  int unacked_settings_ = 0;  // of those, not acked yet
};

}  // namespace achan::test
