// tls::context: loading certificates, keys and CAs into an asio::ssl::context, with
// messages that name what failed.
#include "transport/tls/context.hpp"

#include <asio/ssl/context.hpp>

#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509.h>

#include <cerrno>
#include <cstring>
#include <fstream>
#include <sstream>

namespace achan::transport::tls {
namespace {

constexpr unsigned char alpn_h2[] = {2, 'h', '2'};

status bad(std::string message) {
  return {status_code::invalid_argument, std::move(message)};
}

/// "'path'" for a file source, "(in memory)" for text.
std::string origin(const pem_source& src) {
  return src.text.empty() ? "'" + src.file + "'" : "(in memory)";
}

/// OpenSSL's reason for the last failure (and clears its error queue).
std::string ssl_reason(const std::error_code& ec) {
  unsigned long e = ERR_peek_last_error();
  std::string r =
      e ? ERR_reason_error_string(e) ? ERR_reason_error_string(e) : "unknown error" : ec.message();
  ERR_clear_error();
  return r;
}

/// Server: picks "h2" from the client's ALPN list; a list without it is refused
/// (no_application_protocol alert). A client sending no ALPN at all is let in.
int select_h2(SSL*, const unsigned char** out, unsigned char* outlen, const unsigned char* in,
              unsigned int inlen, void*) {
  unsigned char* selected = nullptr;
  if (SSL_select_next_proto(&selected, outlen, alpn_h2, sizeof alpn_h2, in, inlen) !=
      OPENSSL_NPN_NEGOTIATED)
    return SSL_TLSEXT_ERR_ALERT_FATAL;
  *out = selected;
  return SSL_TLSEXT_ERR_OK;
}

/// Loads `chain` and `key` into `ctx` and checks that they belong together.
result<bool> load_identity(asio::ssl::context& ctx, const pem_source& chain, const pem_source& key,
                           const std::string& whose) {
  auto chain_pem = read_pem(chain, whose + " certificate chain");
  if (!chain_pem)
    return chain_pem.error();
  auto key_pem = read_pem(key, whose + " private key");
  if (!key_pem)
    return key_pem.error();
  std::error_code ec;
  ctx.use_certificate_chain(asio::buffer(*chain_pem), ec);
  if (ec)
    return bad("cannot load the " + whose + " certificate chain " + origin(chain) + ": " +
               ssl_reason(ec));
  ctx.use_private_key(asio::buffer(*key_pem), asio::ssl::context::pem, ec);
  // (asio takes OpenSSL's error off the queue: its code is ec's value)
  bool mismatch =
      ec && ERR_GET_REASON(static_cast<unsigned long>(ec.value())) == X509_R_KEY_VALUES_MISMATCH;
  if (ec && !mismatch)
    return bad("cannot load the " + whose + " private key " + origin(key) + ": " + ssl_reason(ec));
  if (mismatch || SSL_CTX_check_private_key(ctx.native_handle()) != 1) {
    ERR_clear_error();
    return bad("the " + whose + " private key " + origin(key) + " does not match the certificate " +
               origin(chain));
  }
  return true;
}

/// Adds the CA certificates of `ca` to `ctx`'s trust store.
result<bool> load_cas(asio::ssl::context& ctx, const pem_source& ca, const std::string& what) {
  auto pem = read_pem(ca, what);
  if (!pem)
    return pem.error();
  std::error_code ec;
  ctx.add_certificate_authority(asio::buffer(*pem), ec);
  if (ec)
    return bad("cannot load the " + what + " " + origin(ca) + ": " + ssl_reason(ec));
  return true;
}

std::unique_ptr<asio::ssl::context> new_context(asio::ssl::context::method m) {
  auto ctx = std::make_unique<asio::ssl::context>(m);
  SSL_CTX_set_min_proto_version(ctx->native_handle(), TLS1_2_VERSION);
  // No renegotiation (HTTP/2 forbids it, RFC 9113 section 9.2.1); no compression.
  SSL_CTX_set_options(ctx->native_handle(), SSL_OP_NO_RENEGOTIATION | SSL_OP_NO_COMPRESSION);
  SSL_CTX_set_mode(ctx->native_handle(), SSL_MODE_RELEASE_BUFFERS);
  return ctx;
}

}  // namespace

result<std::string> read_pem(const pem_source& src, const std::string& what) {
  if (!src.text.empty())
    return src.text;
  if (src.file.empty())
    return bad("no " + what + " given");
  std::ifstream in{src.file, std::ios::binary};
  if (!in)
    return bad("cannot read the " + what + " '" + src.file + "': " + std::strerror(errno));
  std::ostringstream text;
  text << in.rdbuf();
  if (text.str().empty())
    return bad("the " + what + " '" + src.file + "' is empty");
  return text.str();
}

context::context(std::unique_ptr<asio::ssl::context> ctx, bool server)
    : ctx_(std::move(ctx)), server_(server) {}

context::~context() = default;

SSL_CTX* context::native() const noexcept {
  return ctx_->native_handle();
}

result<std::shared_ptr<const context>> context::client(const client_tls& o) {
  auto ctx = new_context(asio::ssl::context::tls_client);
  if (o.cert_chain.empty() != o.key.empty())
    return bad("a client certificate chain needs its private key, and a key its chain");
  if (!o.cert_chain.empty())
    if (auto ok = load_identity(*ctx, o.cert_chain, o.key, "client"); !ok)
      return ok.error();
  if (!o.ca.empty()) {
    if (auto ok = load_cas(*ctx, o.ca, "CA bundle"); !ok)
      return ok.error();
  } else if (std::error_code ec; ctx->set_default_verify_paths(ec), ec) {
    return bad("cannot load the system's trust store: " + ssl_reason(ec));
  }
  SSL_CTX_set_verify(ctx->native_handle(), o.skip_verification ? SSL_VERIFY_NONE : SSL_VERIFY_PEER,
                     nullptr);
  SSL_CTX_set_alpn_protos(ctx->native_handle(), alpn_h2, sizeof alpn_h2);
  std::shared_ptr<context> out{new context(std::move(ctx), false)};
  out->skip_verification_ = o.skip_verification;
  out->has_certificate_ = !o.cert_chain.empty();
  out->server_name_ = o.server_name;
  return std::shared_ptr<const context>{std::move(out)};
}

result<std::shared_ptr<const context>> context::server(const server_tls& o) {
  auto ctx = new_context(asio::ssl::context::tls_server);
  if (o.cert_chain.empty() || o.key.empty())
    return bad("a TLS server needs a certificate chain and its private key");
  if (auto ok = load_identity(*ctx, o.cert_chain, o.key, "server"); !ok)
    return ok.error();
  int mode = SSL_VERIFY_NONE;
  if (o.auth != client_auth::none) {
    if (o.client_ca.empty())
      return bad("asking for client certificates needs a client CA bundle");
    if (auto ok = load_cas(*ctx, o.client_ca, "client CA bundle"); !ok)
      return ok.error();
    mode = SSL_VERIFY_PEER | (o.auth == client_auth::require ? SSL_VERIFY_FAIL_IF_NO_PEER_CERT : 0);
  }
  SSL_CTX_set_verify(ctx->native_handle(), mode, nullptr);
  SSL_CTX_set_alpn_select_cb(ctx->native_handle(), select_h2, nullptr);
  // Resumption (tickets) works within one context; a reload starts afresh.
  SSL_CTX_set_session_id_context(ctx->native_handle(),
                                 reinterpret_cast<const unsigned char*>("achan"), 5);
  return std::shared_ptr<const context>{new context(std::move(ctx), true)};
}

}  // namespace achan::transport::tls
