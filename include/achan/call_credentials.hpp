#pragma once
/// Call credentials: metadata added to each call before it is sent (a bearer token, a
/// signature), produced asynchronously, per channel (dial_options::call_credentials)
/// or per call (call_options::credentials; both apply, the channel's first). They are
/// refused on a plaintext channel unless dial_options::allow_insecure_call_credentials
/// says otherwise: a token sent in clear text is a token given away. docs/tls.md.
///
///   dial_options o;
///   o.tls = client_tls{};
///   o.call_credentials = achan::bearer_token_credentials(token);   // authorization: Bearer
#include <functional>
#include <memory>
#include <string>

#include <achan/call.hpp>
#include <achan/result.hpp>

namespace achan {

/// What a credentials provider is told about the call it signs.
struct credentials_request {
  std::string method;     ///< "/package.Service/Method"
  std::string authority;  ///< the channel's :authority ("" when it is the address)
};

/// Produces metadata for calls. Implementations must be thread-safe.
class call_credentials {
 public:
  using callback = std::function<void(result<metadata>)>;
  virtual ~call_credentials() = default;
  /// Produces the metadata for one call and passes it to `done`, exactly once, now or
  /// later from any thread. Runs on the channel actor's thread: must not block (start
  /// the work, e.g. a token refresh, and answer from its completion). An error ends the
  /// call with that status (codes a control plane may not produce, gRFC A54, become
  /// INTERNAL); an exception thrown here ends it UNAVAILABLE. A call whose deadline
  /// passes first ends DEADLINE_EXCEEDED and the late answer is dropped.
  virtual void get_metadata(const credentials_request& req, callback done) = 0;
};

using call_credentials_ptr = std::shared_ptr<call_credentials>;

/// `authorization: Bearer <token>` on every call.
call_credentials_ptr bearer_token_credentials(std::string token);

/// Credentials from a function with get_metadata's contract.
call_credentials_ptr make_call_credentials(
    std::function<void(const credentials_request&, call_credentials::callback)> fn);

}  // namespace achan
