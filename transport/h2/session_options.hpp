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

}  // namespace achan::transport::h2util
