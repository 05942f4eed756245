#pragma once
/// TLS settings of the HTTP/2 transport, for clients (h2_options::tls, or
/// dial_options::tls) and servers (server_options::tls). OpenSSL 3 does the work
/// (through asio::ssl); achan parses no certificates itself. TLS 1.2 or newer, ALPN "h2"
/// on both sides. docs/tls.md says what each failure looks like.
#include <string>
#include <utility>
#include <vector>

namespace achan {

/// PEM data, from a file or given as text. `text` wins when both are set.
struct pem_source {
  /// Path of a PEM file, read when the transport or server is created (or reloaded).
  std::string file;
  /// PEM text itself ("-----BEGIN CERTIFICATE-----...").
  std::string text;

  /// Neither a file nor text.
  bool empty() const noexcept { return file.empty() && text.empty(); }
  /// A source reading `path`.
  static pem_source from_file(std::string path) { return {std::move(path), {}}; }
  /// A source holding `pem`.
  static pem_source from_text(std::string pem) { return {{}, std::move(pem)}; }
};

/// A client's TLS settings: whom to trust, who we are (mTLS), which name to check.
struct client_tls {
  /// CA certificates that may sign the server's chain. Empty: the system's trust store
  /// (OpenSSL's default paths, /etc/ssl/certs on Debian).
  pem_source ca;
  /// Client certificate chain (leaf first) and its private key, for servers that ask
  /// for one (mutual TLS). Both or neither.
  pem_source cert_chain;
  pem_source key;
  /// The name sent as SNI and checked against the certificate's subject alternative
  /// names (DNS names, or an IP address). Empty: the channel's authority without its
  /// port (dial_options::authority or the target's host), else the host of the address
  /// the connection goes to. An IP address is checked against IP SANs and sent as no
  /// SNI, as RFC 6066 requires.
  std::string server_name;
  /// Accept any server certificate (no chain, expiry or name check). For tests only;
  /// never the default. Encryption and ALPN still apply.
  bool skip_verification = false;
};

/// Whether a server asks connecting clients for a certificate.
enum class client_auth {
  none,     ///< never asks
  request,  ///< asks; a client without one is let in, a bad one is refused
  require,  ///< asks and refuses a client without a valid one (mutual TLS)
};

/// A server's TLS settings.
struct server_tls {
  /// The server's certificate chain (leaf first) and private key. Required.
  pem_source cert_chain;
  pem_source key;
  /// CAs that may sign client certificates; required unless client_auth::none.
  pem_source client_ca;
  client_auth auth = client_auth::none;
};

/// A TLS connection's peer as its server sees it (server_call_info::tls).
struct tls_peer {
  std::string protocol;  ///< "TLSv1.3"
  std::string cipher;    ///< "TLS_AES_256_GCM_SHA384"
  /// The client sent a certificate and it was verified against server_tls::client_ca.
  bool verified = false;
  /// The client certificate's subject, RFC 2253 form ("CN=alice,O=Example"); empty if
  /// the client sent none. The SANs below are from the same certificate.
  std::string subject;
  std::vector<std::string> dns_sans;  ///< DNS names
  std::vector<std::string> ip_sans;   ///< IP addresses, as text
  std::vector<std::string> uri_sans;  ///< URIs (SPIFFE IDs, for example)
};

}  // namespace achan
