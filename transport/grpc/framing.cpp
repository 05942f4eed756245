#include "transport/grpc/framing.hpp"

#include <algorithm>
#include <cstring>
#include <utility>

namespace achan::grpc {

namespace {

/// Growth step for a body that arrives over several feeds: large enough to avoid many
/// reallocations, small enough that a header alone cannot make us allocate much.
constexpr std::size_t initial_body_reserve = 64 * 1024;

}  // namespace

void write_frame_header(char* dst5, std::uint32_t length, bool compressed) noexcept {
  dst5[0] = compressed ? 1 : 0;
  dst5[1] = static_cast<char>((length >> 24) & 0xff);
  dst5[2] = static_cast<char>((length >> 16) & 0xff);
  dst5[3] = static_cast<char>((length >> 8) & 0xff);
  dst5[4] = static_cast<char>(length & 0xff);
}

void append_frame(std::string& out, std::string_view message, bool compressed) {
  const std::size_t at = out.size();
  out.resize(at + frame_header_size);
  write_frame_header(out.data() + at, static_cast<std::uint32_t>(message.size()), compressed);
  out.append(message);
}

deframer::deframer(std::size_t max_message_size) : max_(max_message_size) {}

void deframer::set_encoding(std::string encoding) {
  encoding_ = std::move(encoding);
}

status deframer::fail(status_code code, std::string message) {
  error_ = status{code, std::move(message)};
  body_.clear();
  body_.shrink_to_fit();
  return error_;
}

status deframer::on_header() {
  const unsigned flag = header_[0];
  body_len_ = (std::size_t{header_[1]} << 24) | (std::size_t{header_[2]} << 16) |
              (std::size_t{header_[3]} << 8) | std::size_t{header_[4]};
  if (flag > 1) {
    return fail(status_code::internal, "invalid compressed flag " + std::to_string(flag));
  }
  if (flag == 1) {
    if (encoding_.empty()) {
      return fail(status_code::internal, "compressed message received without grpc-encoding");
    }
    if (encoding_ == "identity") {
      return fail(status_code::internal,
                  "compressed message received with grpc-encoding 'identity'");
    }
    return fail(status_code::unimplemented, "unsupported grpc-encoding '" + encoding_ + "'");
  }
  if (body_len_ > max_) {
    return fail(status_code::resource_exhausted, "received message larger than max (" +
                                                     std::to_string(body_len_) + " vs. " +
                                                     std::to_string(max_) + ")");
  }
  return {};
}

status deframer::feed(const std::uint8_t* data, std::size_t n) {
  if (failed()) {
    return error_;
  }
  while (n > 0) {
    if (header_got_ < frame_header_size) {
      const std::size_t take = std::min(n, frame_header_size - header_got_);
      std::memcpy(header_ + header_got_, data, take);
      header_got_ += take;
      data += take;
      n -= take;
      if (header_got_ < frame_header_size) {
        break;
      }
      if (auto st = on_header(); !st.ok()) {
        return st;
      }
      if (n >= body_len_) {
        // Whole body in this chunk (the common case): one allocation, no staging copy.
        messages_.emplace_back(reinterpret_cast<const char*>(data), body_len_);
        data += body_len_;
        n -= body_len_;
        header_got_ = 0;
        continue;
      }
      body_.clear();
      body_.reserve(std::min(body_len_, std::max(n, initial_body_reserve)));
    }
    const std::size_t take = std::min(n, body_len_ - body_.size());
    body_.append(reinterpret_cast<const char*>(data), take);
    data += take;
    n -= take;
    if (body_.size() == body_len_) {
      messages_.push_back(std::move(body_));
      body_ = std::string{};
      header_got_ = 0;
    }
  }
  return {};
}

bool deframer::next(std::string& msg) {
  if (head_ == messages_.size()) {
    return false;
  }
  msg = std::move(messages_[head_++]);
  if (head_ == messages_.size()) {
    messages_.clear();  // keeps its capacity for the next messages
    head_ = 0;
  }
  return true;
}

status deframer::finish() {
  if (failed()) {
    return error_;
  }
  if (header_got_ == 0) {
    return {};
  }
  if (header_got_ < frame_header_size) {
    return fail(status_code::internal, "stream ended with an incomplete message header (got " +
                                           std::to_string(header_got_) + " of " +
                                           std::to_string(frame_header_size) + " bytes)");
  }
  return fail(status_code::internal, "stream ended with an incomplete message (got " +
                                         std::to_string(body_.size()) + " of " +
                                         std::to_string(body_len_) + " bytes)");
}

}  // namespace achan::grpc
