#pragma once
/// gRPC Length-Prefixed-Message framing (PROTOCOL-HTTP2.md): a 1-byte compressed flag, a
/// 4-byte big-endian length, then the message bytes. Pure C++: the HTTP/2 connection feeds
/// DATA frame payloads in and writes framed messages out; nothing here knows about sockets.
#include <cstddef>
#include <cstdint>
#include <string>
#include <string_view>
#include <vector>

#include <achan/status.hpp>

namespace achan::grpc {

/// Size of the Length-Prefixed-Message header (compressed flag + 32-bit length).
inline constexpr std::size_t frame_header_size = 5;

/// The receive limit gRPC uses by default (4 MiB).
inline constexpr std::size_t default_max_message_size = 4 * 1024 * 1024;

/// Writes the 5-byte header for a message of `length` bytes to `dst5` (which must have room for
/// `frame_header_size` bytes). Lets a sender reserve the header, serialize a protobuf message
/// right after it and fill the header in once the size is known.
void write_frame_header(char* dst5, std::uint32_t length, bool compressed) noexcept;

/// Appends the header and `message` to `out`, so callers frame straight into a send buffer.
/// Precondition: message.size() fits in 32 bits (callers enforce their send limit first).
void append_frame(std::string& out, std::string_view message, bool compressed = false);

/// Reassembles messages from a gRPC byte stream that arrives in arbitrary chunks.
///
/// Owned and driven by the one connection thread that receives a stream's DATA frames: feed()
/// each payload, drain messages with next(), call finish() at END_STREAM. Not thread-safe.
/// A message's length is checked against the limit as soon as its header is complete, before
/// any of its body is buffered, so a peer cannot make it allocate past the limit.
/// The first error fails the deframer for good; messages completed before it stay poppable.
class deframer {
 public:
  /// `max_message_size`: largest message body accepted (the channel's receive limit).
  explicit deframer(std::size_t max_message_size = default_max_message_size);

  /// Sets the stream's grpc-encoding response header value. Empty (the default) or "identity"
  /// means no compression is in use, so a compressed flag of 1 is a protocol error; any other
  /// value names a codec, none of which is supported yet.
  void set_encoding(std::string encoding);

  /// Consumes `n` bytes. Returns OK, or the first error (later calls return it again and ignore
  /// their input):
  /// - RESOURCE_EXHAUSTED: a message's length exceeds the limit;
  /// - INTERNAL: compressed flag other than 0/1, or flag 1 while no grpc-encoding is in use;
  /// - UNIMPLEMENTED: flag 1 with a grpc-encoding we cannot decompress.
  status feed(const std::uint8_t* data, std::size_t n);

  /// Same as feed(data, n) for a byte string.
  status feed(std::string_view bytes) {
    return feed(reinterpret_cast<const std::uint8_t*>(bytes.data()), bytes.size());
  }

  /// Moves the oldest complete message into `msg`; false (msg untouched) if none is queued.
  bool next(std::string& msg);

  /// Number of complete messages waiting for next().
  std::size_t queued() const noexcept { return messages_.size() - head_; }

  /// Bytes held: the message being received (header and body so far) plus the complete
  /// messages waiting for next(). What a connection counts against its receive buffer.
  std::size_t buffered_bytes() const noexcept {
    std::size_t n = body_.size() + (header_got_ < frame_header_size ? header_got_ : 0);
    for (std::size_t i = head_; i < messages_.size(); ++i)
      n += messages_[i].size();
    return n;
  }

  /// Called once at end of stream. OK if the stream ended on a message boundary; INTERNAL if it
  /// stopped inside a header or body (the deframer is then failed); the stored error if it had
  /// already failed.
  status finish();

  /// True once feed() or finish() reported an error.
  bool failed() const noexcept { return !error_.ok(); }

  /// The receive limit this deframer enforces.
  std::size_t max_message_size() const noexcept { return max_; }

 private:
  status fail(status_code code, std::string message);
  status on_header();

  std::size_t max_;
  std::string encoding_;
  unsigned char header_[frame_header_size] = {};
  std::size_t header_got_ = 0;  ///< bytes of the current header received (5 = reading body)
  std::size_t body_len_ = 0;    ///< length announced by the current header
  std::string body_;            ///< partial body of the current message
  // Complete messages from messages_[head_] on. A vector, not a std::deque: an empty
  // deque allocates ~600 bytes, and there is a deframer per stream (measured per
  // in-flight call by bench/control_plane_bench).
  std::vector<std::string> messages_;
  std::size_t head_ = 0;
  status error_;
};

}  // namespace achan::grpc
