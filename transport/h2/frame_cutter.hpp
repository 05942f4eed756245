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
#include <array>
#include <cstddef>
#include <cstdint>
#include <cstring>

namespace achan::transport::h2util {

/// Finds cut points in an HTTP/2 byte stream, across reads: after each `per_part`-th frame
/// that ends a stream (DATA or HEADERS with END_STREAM), counting from the start of each
/// call to next(). A part never ends inside a frame's 9-byte header: nghttp2 1.52 as
/// Debian ships it (1.52.0-1+deb12u3, with the backported CONTINUATION cap) counts a
/// CONTINUATION twice when its header is split across two nghttp2_session_mem_recv calls,
/// and so kills legitimate connections whose header blocks span several CONTINUATIONs.
/// Single-threaded (the connection's strand).
class frame_cutter {
 public:
  /// `preface`: bytes before the first frame (a server's view: the 24-byte client
  /// connection preface), passed through uncounted.
  explicit frame_cutter(std::size_t preface = 0) : skip_(preface) {}

  /// How many of the `n` bytes at `data` form the next part: up to and including the
  /// `per_part`-th frame that ends a stream, or up to the end of the bytes. Stops before
  /// an incomplete frame header at the end: 0 means the bytes are (the start of) one
  /// frame header, which the caller keeps and offers again with the next read's bytes
  /// appended (frame_input does that).
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
      if (n - pos < header_size)
        return pos;  // an incomplete frame header: not handed on yet
      const std::uint8_t* h = data + pos;
      pos += header_size;
      skip_ = std::size_t{h[0]} << 16 | std::size_t{h[1]} << 8 | h[2];
      auto type = h[3];
      ends_stream_ = (type == 0x0 || type == 0x1) && (h[4] & 0x1);  // DATA/HEADERS
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
  std::size_t skip_;          // bytes left of the current payload or preface
  bool ends_stream_ = false;  // the current frame ends a stream
};

/// A connection's read buffer: socket reads go into space(), and consume() hands the
/// bytes on in frame_cutter parts, keeping an incomplete frame header at the end of a
/// read for the next one (so nghttp2 never sees a split frame header).
template <std::size_t Size = 64 * 1024>
class frame_input {
 public:
  explicit frame_input(std::size_t preface = 0) : cutter_(preface) {}

  /// Where the next socket read may write, and how much.
  std::uint8_t* space() noexcept { return buf_.data() + held_; }
  std::size_t space_size() const noexcept { return Size - held_; }

  /// `n` bytes were read into space(): calls `feed(data, len)` for each part, in order,
  /// while it returns true. Returns false if `feed` stopped it (the rest is dropped).
  template <class Feed>
  bool consume(std::size_t n, unsigned per_part, Feed&& feed) {
    std::size_t total = held_ + n, off = 0;
    held_ = 0;
    while (off < total) {
      auto part = cutter_.next(buf_.data() + off, total - off, per_part);
      if (part == 0)
        break;
      if (!feed(buf_.data() + off, part))
        return false;
      off += part;
    }
    held_ = total - off;  // < 9 bytes of a frame header
    std::memmove(buf_.data(), buf_.data() + off, held_);
    return true;
  }

 private:
  std::array<std::uint8_t, Size> buf_{};
  std::size_t held_ = 0;
  frame_cutter cutter_;
};

/// How many finished streams a connection handles from one read before it sends what
/// they produced (see frame_cutter). Measured with `achan bench` against `achan serve`
/// (bench/README.md): 16 beat 4, 8 and 32 at 64 in flight with 64-byte and 1 KiB
/// messages, and was within noise of 32 and 64 at 256 in flight.
constexpr unsigned calls_per_send = 16;

}  // namespace achan::transport::h2util
