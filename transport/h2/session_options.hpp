#pragma once
/// The nghttp2 session options achan's client and server connections share.
#include <nghttp2/nghttp2.h>

namespace achan::transport::h2util {

/// An nghttp2_option set up for a gRPC peer; frees itself. nghttp2's own defaults already
/// bound floods (1000 queued outbound control frames, SETTINGS entries, 8 CONTINUATIONs
/// per block, Debian's backported rapid-reset limit); these are the ones achan changes.
class session_options {
 public:
  session_options() {
    nghttp2_option_new(&opt_);
    // A stream's header list is limited by SETTINGS_MAX_HEADER_LIST_SIZE (the
    // connections count it themselves, header_budget.hpp); keep nghttp2's HPACK encoder
    // table at the HTTP/2 default so a peer's huge SETTINGS_HEADER_TABLE_SIZE costs us
    // nothing.
    nghttp2_option_set_max_deflate_dynamic_table_size(opt_, 4096);
  }
  ~session_options() { nghttp2_option_del(opt_); }
  session_options(const session_options&) = delete;
  session_options& operator=(const session_options&) = delete;
  nghttp2_option* get() const noexcept { return opt_; }

 private:
  nghttp2_option* opt_ = nullptr;
};

/// Creates `*session` (a client or server session for `user`) with the callbacks of
/// `Callbacks` — static on_begin_headers, on_header, on_data, on_frame, on_close,
/// on_frame_sent and on_frame_not_sent — and session_options. False if nghttp2 failed.
template <class Callbacks>
bool new_session(nghttp2_session** session, void* user, bool server) {
  nghttp2_session_callbacks* cbs = nullptr;
  if (nghttp2_session_callbacks_new(&cbs) != 0)
    return false;
  nghttp2_session_callbacks_set_on_begin_headers_callback(cbs, &Callbacks::on_begin_headers);
  nghttp2_session_callbacks_set_on_header_callback(cbs, &Callbacks::on_header);
  nghttp2_session_callbacks_set_on_data_chunk_recv_callback(cbs, &Callbacks::on_data);
  nghttp2_session_callbacks_set_on_frame_recv_callback(cbs, &Callbacks::on_frame);
  nghttp2_session_callbacks_set_on_stream_close_callback(cbs, &Callbacks::on_close);
  nghttp2_session_callbacks_set_on_frame_send_callback(cbs, &Callbacks::on_frame_sent);
  nghttp2_session_callbacks_set_on_frame_not_send_callback(cbs, &Callbacks::on_frame_not_sent);
  session_options opt;
  int rv = server ? nghttp2_session_server_new2(session, cbs, user, opt.get())
                  : nghttp2_session_client_new2(session, cbs, user, opt.get());
  nghttp2_session_callbacks_del(cbs);
  return rv == 0;
}

}  // namespace achan::transport::h2util
