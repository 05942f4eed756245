#pragma once
// Test certificates made in-process with the OpenSSL API (no checked-in keys, nothing
// that expires): a CA, and leaf certificates it signs with the names, validity and
// purpose a test needs. EC P-256 keys, SHA-256 signatures.
//
//   test::cert_authority ca{"test CA"};
//   auto server = ca.issue({.cn = "server", .dns = {"localhost"}, .ips = {"127.0.0.1"}});
//   auto pem = ca.cert_pem();   // (tests/support/temp_dir.hpp writes files)
#include <memory>
#include <string>
#include <vector>

namespace achan::test {

/// A certificate and its private key, PEM.
struct key_pair {
  std::string cert_pem;
  std::string key_pem;
};

/// What to put into a leaf certificate.
struct cert_spec {
  std::string cn;                 ///< subject CN (and O=achan tests)
  std::vector<std::string> dns;   ///< DNS subject alternative names
  std::vector<std::string> ips;   ///< IP address SANs
  std::vector<std::string> uris;  ///< URI SANs
  int valid_from_days = -1;       ///< notBefore, days from now
  int valid_to_days = 30;         ///< notAfter, days from now (negative: expired)
};

/// A self-signed CA that issues leaf certificates.
class cert_authority {
 public:
  explicit cert_authority(const std::string& cn);
  ~cert_authority();
  cert_authority(const cert_authority&) = delete;
  cert_authority& operator=(const cert_authority&) = delete;

  /// The CA's certificate, PEM.
  const std::string& cert_pem() const noexcept { return pem_; }
  /// A new key and a certificate for it signed by this CA (serverAuth and clientAuth).
  key_pair issue(const cert_spec& spec) const;

 private:
  struct impl;
  std::unique_ptr<impl> impl_;
  std::string pem_;
};

}  // namespace achan::test
