#pragma once
/// An OpenSSL context (asio::ssl::context) built from achan's TLS settings: certificates
/// and keys loaded and checked, verification and ALPN "h2" set up. Connections share
/// one; it is immutable once built (a server reload builds a new one).
#include <memory>
#include <string>

#include <achan/result.hpp>
#include <achan/tls.hpp>

typedef struct ssl_ctx_st SSL_CTX;
namespace asio::ssl {
class context;
}  // namespace asio::ssl

namespace achan::transport::tls {

/// A built context. Thread-safe to share (OpenSSL contexts are, once configured).
class context {
 public:
  /// A client context: trust `o.ca` (or the system store), present `o.cert_chain`/`o.key`
  /// if set, offer ALPN "h2". Errors (INVALID_ARGUMENT) name the file and OpenSSL's
  /// reason: unreadable file, no PEM in it, a key that does not match the certificate.
  static result<std::shared_ptr<const context>> client(const client_tls& o);
  /// A server context: present `o.cert_chain`/`o.key`, select ALPN "h2", ask for client
  /// certificates as `o.auth` says, trusting `o.client_ca`.
  static result<std::shared_ptr<const context>> server(const server_tls& o);

  ~context();
  context(const context&) = delete;
  context& operator=(const context&) = delete;

  SSL_CTX* native() const noexcept;
  bool is_server() const noexcept { return server_; }
  /// Client: verification switched off (client_tls::skip_verification).
  bool skip_verification() const noexcept { return skip_verification_; }
  /// Client: it presents a certificate (client_tls::cert_chain).
  bool has_certificate() const noexcept { return has_certificate_; }
  /// Client: client_tls::server_name (empty: the connection picks one).
  const std::string& server_name() const noexcept { return server_name_; }

 private:
  context(std::unique_ptr<asio::ssl::context> ctx, bool server);
  std::unique_ptr<asio::ssl::context> ctx_;
  bool server_;
  bool skip_verification_ = false;
  bool has_certificate_ = false;
  std::string server_name_;
};

using context_ptr = std::shared_ptr<const context>;

/// The PEM text of `src` (its text, or the file's contents). Error (INVALID_ARGUMENT):
/// "cannot read <what> 'path': <reason>", or "<what> is empty".
result<std::string> read_pem(const pem_source& src, const std::string& what);

}  // namespace achan::transport::tls
