// tls::engine: an OpenSSL session over two memory BIOs, and failures as readable text.
#include "transport/tls/engine.hpp"

#include <arpa/inet.h>
#include <openssl/err.h>
#include <openssl/ssl.h>
#include <openssl/x509v3.h>

#include <climits>

namespace achan::transport::tls {
namespace {

bool is_ip_literal(const std::string& host) {
  unsigned char buf[16];
  return inet_pton(AF_INET, host.c_str(), buf) == 1 || inet_pton(AF_INET6, host.c_str(), buf) == 1;
}

/// The short cause of a certificate verification error, as the issue's failure matrix
/// names them ("" for the rest: OpenSSL's text says it).
const char* verify_cause(long v) {
  switch (v) {
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT_LOCALLY:
    case X509_V_ERR_UNABLE_TO_GET_ISSUER_CERT:
    case X509_V_ERR_DEPTH_ZERO_SELF_SIGNED_CERT:
    case X509_V_ERR_SELF_SIGNED_CERT_IN_CHAIN:
    case X509_V_ERR_UNABLE_TO_VERIFY_LEAF_SIGNATURE:
    case X509_V_ERR_CERT_UNTRUSTED:
      return "unknown CA";
    case X509_V_ERR_CERT_HAS_EXPIRED:
      return "expired";
    case X509_V_ERR_CERT_NOT_YET_VALID:
      return "not yet valid";
    case X509_V_ERR_HOSTNAME_MISMATCH:
    case X509_V_ERR_IP_ADDRESS_MISMATCH:
      return "name mismatch";
    default:
      return "";
  }
}

/// Reasons meaning the bytes received are not TLS at all.
bool not_tls(int reason) {
  return reason == SSL_R_WRONG_VERSION_NUMBER || reason == SSL_R_PACKET_LENGTH_TOO_LONG ||
         reason == SSL_R_HTTP_REQUEST || reason == SSL_R_HTTPS_PROXY_REQUEST ||
         reason == SSL_R_UNEXPECTED_RECORD;
}

std::string ip_text(const ASN1_OCTET_STRING* ip) {
  char buf[INET6_ADDRSTRLEN] = {};
  const auto* data = ASN1_STRING_get0_data(ip);
  int len = ASN1_STRING_length(ip);
  if (len == 4)
    inet_ntop(AF_INET, data, buf, sizeof buf);
  else if (len == 16)
    inet_ntop(AF_INET6, data, buf, sizeof buf);
  return buf;
}

std::string asn1_text(const ASN1_STRING* s) {
  return {reinterpret_cast<const char*>(ASN1_STRING_get0_data(s)),
          static_cast<std::size_t>(ASN1_STRING_length(s))};
}

}  // namespace

engine::engine(context_ptr ctx, const std::string& host) : ctx_(std::move(ctx)), host_(host) {
  ssl_ = SSL_new(ctx_->native());
  in_ = BIO_new(BIO_s_mem());
  out_ = BIO_new(BIO_s_mem());
  BIO_set_mem_eof_return(in_, -1);  // empty input: "retry", not EOF
  SSL_set_bio(ssl_, in_, out_);
  if (ctx_->is_server()) {
    SSL_set_accept_state(ssl_);
    return;
  }
  SSL_set_connect_state(ssl_);
  bool ip = is_ip_literal(host_);
  if (!ip && !host_.empty())
    SSL_set_tlsext_host_name(ssl_, host_.c_str());  // RFC 6066: no SNI for addresses
  if (!ctx_->skip_verification()) {
    auto* param = SSL_get0_param(ssl_);
    X509_VERIFY_PARAM_set_hostflags(param, X509_CHECK_FLAG_NO_PARTIAL_WILDCARDS);
    if (ip)
      X509_VERIFY_PARAM_set1_ip_asc(param, host_.c_str());
    else
      X509_VERIFY_PARAM_set1_host(param, host_.c_str(), host_.size());
  }
}

engine::~engine() {
  SSL_free(ssl_);
}  // frees both BIOs

engine::progress engine::handshake() {
  int rv = SSL_do_handshake(ssl_);
  if (rv == 1) {
    if (ctx_->is_server())
      return progress::done;
    const unsigned char* proto = nullptr;
    unsigned int len = 0;
    SSL_get0_alpn_selected(ssl_, &proto, &len);
    if (len != 2 || proto[0] != 'h' || proto[1] != '2') {
      failure_ = len == 0 ? "the server did not negotiate ALPN h2 (it selected no protocol)"
                          : "the server did not negotiate ALPN h2 (it selected '" +
                                std::string(reinterpret_cast<const char*>(proto), len) + "')";
      return progress::failed;
    }
    return progress::done;
  }
  int err = SSL_get_error(ssl_, rv);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
    return progress::more;
  record_failure(rv);
  return progress::failed;
}

void engine::record_failure(int rv) {
  int err = SSL_get_error(ssl_, rv);
  unsigned long e = ERR_peek_error();
  long v = SSL_get_verify_result(ssl_);
  if (!ctx_->is_server() && v != X509_V_OK && !ctx_->skip_verification()) {
    std::string cause = verify_cause(v);
    failure_ = "certificate verification failed";
    if (!cause.empty())
      failure_ += " (" + cause + ")";
    failure_ += ": ";
    failure_ += X509_verify_cert_error_string(v);
    if (cause == "name mismatch")
      failure_ += " (the certificate is not for '" + host_ + "')";
  } else if (e != 0) {
    int reason = ERR_GET_REASON(e);
    const char* text = ERR_reason_error_string(e);
    std::string r = text ? text : "error " + std::to_string(reason);
    failure_ = not_tls(reason) ? "the peer does not speak TLS (" + r + ")" : "TLS error: " + r;
  } else if (err == SSL_ERROR_ZERO_RETURN) {
    closed_ = true;
    failure_ = "the peer closed the TLS session";
  } else {
    failure_ = "TLS error " + std::to_string(err);
  }
  ERR_clear_error();
}

void engine::feed(const std::uint8_t* data, std::size_t n) {
  while (n > 0) {
    int chunk = static_cast<int>(std::min<std::size_t>(n, INT_MAX));
    int w = BIO_write(in_, data, chunk);
    if (w <= 0)
      return;
    data += w;
    n -= static_cast<std::size_t>(w);
  }
}

long engine::read(std::uint8_t* dst, std::size_t n) {
  int rv = SSL_read(ssl_, dst, static_cast<int>(std::min<std::size_t>(n, INT_MAX)));
  if (rv > 0)
    return rv;
  int err = SSL_get_error(ssl_, rv);
  if (err == SSL_ERROR_WANT_READ || err == SSL_ERROR_WANT_WRITE)
    return 0;
  if (err == SSL_ERROR_ZERO_RETURN) {
    closed_ = true;
    failure_ = "the peer closed the TLS session";
    ERR_clear_error();
    return -1;
  }
  record_failure(rv);
  return -1;
}

void engine::write(const char* plain, std::size_t n) {
  while (n > 0) {
    int chunk = static_cast<int>(std::min<std::size_t>(n, 1 << 30));
    int w = SSL_write(ssl_, plain, chunk);  // into a memory BIO: all of it, or an error
    if (w <= 0) {
      record_failure(w);
      return;
    }
    plain += w;
    n -= static_cast<std::size_t>(w);
  }
}

bool engine::has_output() const {
  return BIO_ctrl_pending(out_) > 0;
}

bool engine::has_input() const {
  return BIO_ctrl_pending(in_) > 0 || SSL_pending(ssl_) > 0;
}

void engine::take_output(std::string& out) {
  auto pending = BIO_ctrl_pending(out_);
  if (pending == 0)
    return;
  auto at = out.size();
  out.resize(at + pending);
  int r = BIO_read(out_, out.data() + at, static_cast<int>(pending));
  out.resize(at + static_cast<std::size_t>(r > 0 ? r : 0));
}

tls_peer engine::peer() const {
  tls_peer id;
  id.protocol = SSL_get_version(ssl_);
  if (const SSL_CIPHER* c = SSL_get_current_cipher(ssl_))
    id.cipher = SSL_CIPHER_get_name(c);
  X509* cert = SSL_get0_peer_certificate(ssl_);
  if (cert == nullptr)
    return id;
  id.verified = SSL_get_verify_result(ssl_) == X509_V_OK &&
                (ctx_->is_server() ? (SSL_get_verify_mode(ssl_) & SSL_VERIFY_PEER) != 0
                                   : !ctx_->skip_verification());
  if (BIO* b = BIO_new(BIO_s_mem())) {
    X509_NAME_print_ex(b, X509_get_subject_name(cert), 0, XN_FLAG_RFC2253);
    char* data = nullptr;
    long n = BIO_get_mem_data(b, &data);
    id.subject.assign(data, static_cast<std::size_t>(n > 0 ? n : 0));
    BIO_free(b);
  }
  auto* names =
      static_cast<GENERAL_NAMES*>(X509_get_ext_d2i(cert, NID_subject_alt_name, nullptr, nullptr));
  if (names == nullptr)
    return id;
  for (int i = 0; i < sk_GENERAL_NAME_num(names); ++i) {
    const GENERAL_NAME* g = sk_GENERAL_NAME_value(names, i);
    if (g->type == GEN_DNS)
      id.dns_sans.push_back(asn1_text(g->d.dNSName));
    else if (g->type == GEN_IPADD)
      id.ip_sans.push_back(ip_text(g->d.iPAddress));
    else if (g->type == GEN_URI)
      id.uri_sans.push_back(asn1_text(g->d.uniformResourceIdentifier));
  }
  GENERAL_NAMES_free(names);
  return id;
}

}  // namespace achan::transport::tls
