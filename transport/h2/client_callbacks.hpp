#pragma once
/// The nghttp2 callbacks of an h2_client_connection (client_callbacks.cpp).
#include <nghttp2/nghttp2.h>

#include <cstdint>

#include <achan/status.hpp>

namespace achan::transport {

class h2_client_connection;
struct h2_stream;

/// Static trampolines into the connection; `user_data` is the connection. They run inside
/// nghttp2_session_mem_recv/mem_send on the connection's strand.
struct h2_callbacks {
  /// Creates the connection's nghttp2 client session with these callbacks and achan's
  /// session options (h2util::session_options); false if nghttp2 failed.
  static bool new_session(h2_client_connection& c);

  static ssize_t read_request(nghttp2_session*, std::int32_t, std::uint8_t* buf, std::size_t length,
                              std::uint32_t* flags, nghttp2_data_source* source, void* user);
  static int on_begin_headers(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_header(nghttp2_session* s, const nghttp2_frame* frame, const std::uint8_t* name,
                       std::size_t namelen, const std::uint8_t* value, std::size_t valuelen,
                       std::uint8_t flags, void* user);
  static int on_data(nghttp2_session* s, std::uint8_t flags, std::int32_t id,
                     const std::uint8_t* data, std::size_t len, void* user);
  static int on_frame(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_frame_sent(nghttp2_session*, const nghttp2_frame* frame, void* user);
  static int on_frame_not_sent(nghttp2_session*, const nghttp2_frame* frame, int lib_error,
                               void* user);
  static int on_close(nghttp2_session*, std::int32_t id, std::uint32_t error_code, void* user);
  /// Ends stream `st` with `err` now: frees what it holds and resets it (RST_STREAM CANCEL).
  static void refuse(nghttp2_session* s, h2_client_connection& c, h2_stream& st, status err);
};

}  // namespace achan::transport
