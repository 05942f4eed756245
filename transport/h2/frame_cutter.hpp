#pragma once
/// Cutting a connection's incoming bytes into parts of a few calls each, so that the
/// connection sends what one part produced before it works on the next.
///
/// Why: a connection that handles a whole read (say 64 requests) before sending anything
/// keeps its peer idle meanwhile, and the peer then does the same with the 64 answers:
/// both sides take turns instead of working at once. Cutting after every few finished
/// streams lets the peer start on the first answers while this side does the rest. The
/// cut points only decide when to send; nghttp2 is fed every byte, in order, either way.
#include <algorithm>
#include <cstddef>
#include <cstdint>

namespace achan::transport::h2util {

/// Finds cut points in an HTTP/2 byte stream, across reads: after each `per_part`-th frame
/// that ends a stream (DATA or HEADERS with END_STREAM), counting from the start of each
/// call to next(). Single-threaded (the connection's strand).
class frame_cutter {
 public:
  /// `preface`: bytes before the first frame (a server's view: the 24-byte client
  /// connection preface), passed through uncounted.
  explicit frame_cutter(std::size_t preface = 0) : skip_(preface) {}

  /// How many of the `n` bytes at `data` form the next part: up to and including the
  /// `per_part`-th frame that ends a stream, or all `n` if fewer end here.
  std::size_t next(const std::uint8_t* data, std::size_t n, unsigned per_part) {
    std::size_t pos = 0;
    unsigned ends = 0;
    while (pos < n) {
      if (skip_ > 0) {  // inside a frame's payload (or the preface)
        auto take = std::min(skip_, n - pos);
        pos += take;
        skip_ -= take;
        if (skip_ == 0 && ends_stream_) {
          ends_stream_ = false;
          if (++ends == per_part)
            return pos;
        }
        continue;
      }
      auto take = std::min(header_size - have_, n - pos);
      std::copy_n(data + pos, take, header_ + have_);
      pos += take;
      have_ += take;
      if (have_ < header_size)
        break;
      have_ = 0;
      skip_ = std::size_t{header_[0]} << 16 | std::size_t{header_[1]} << 8 | header_[2];
      auto type = header_[3];
      ends_stream_ = (type == 0x0 || type == 0x1) && (header_[4] & 0x1);  // DATA/HEADERS
      if (skip_ == 0 && ends_stream_) {
        ends_stream_ = false;
        if (++ends == per_part)
          return pos;
      }
    }
    return pos;
  }

 private:
  static constexpr std::size_t header_size = 9;
  std::size_t skip_;                    // bytes left of the current payload or preface
  std::uint8_t header_[header_size]{};  // a frame header split across reads
  std::size_t have_ = 0;                // bytes of header_ received
  bool ends_stream_ = false;            // the current frame ends a stream
};

/// How many finished streams a connection handles from one read before it sends what
/// they produced (see frame_cutter). Measured with `achan bench` against `achan serve`
/// (bench/README.md): 16 beat 4, 8 and 32 at 64 in flight with 64-byte and 1 KiB
/// messages, and was within noise of 32 and 64 at 256 in flight.
constexpr unsigned calls_per_send = 16;

}  // namespace achan::transport::h2util
