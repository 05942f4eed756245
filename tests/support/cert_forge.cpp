#include "tests/support/cert_forge.hpp"

#include <openssl/evp.h>
#include <openssl/pem.h>
#include <openssl/x509v3.h>

#include <atomic>
#include <stdexcept>

#include <unistd.h>  // getpid

namespace achan::test {
namespace {

struct pkey_free {
  void operator()(EVP_PKEY* k) const { EVP_PKEY_free(k); }
};
struct x509_free {
  void operator()(X509* x) const { X509_free(x); }
};
using pkey_ptr = std::unique_ptr<EVP_PKEY, pkey_free>;
using x509_ptr = std::unique_ptr<X509, x509_free>;

void check(bool ok, const char* what) {
  if (!ok)
    throw std::runtime_error(std::string{"cert_forge: "} + what);
}

pkey_ptr new_key() {
  pkey_ptr k{EVP_EC_gen("P-256")};
  check(k != nullptr, "EVP_EC_gen");
  return k;
}

std::string pem_of(X509* x) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_X509(b, x);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

std::string pem_of(EVP_PKEY* k) {
  BIO* b = BIO_new(BIO_s_mem());
  PEM_write_bio_PrivateKey(b, k, nullptr, nullptr, 0, nullptr, nullptr);
  char* data = nullptr;
  long n = BIO_get_mem_data(b, &data);
  std::string out(data, static_cast<std::size_t>(n));
  BIO_free(b);
  return out;
}

void add_ext(X509* x, X509* issuer, int nid, const std::string& value) {
  X509V3_CTX ctx;
  X509V3_set_ctx_nodb(&ctx);
  X509V3_set_ctx(&ctx, issuer, x, nullptr, nullptr, 0);
  X509_EXTENSION* e = X509V3_EXT_conf_nid(nullptr, &ctx, nid, value.c_str());
  check(e != nullptr, "X509V3_EXT_conf_nid");
  X509_add_ext(x, e, -1);
  X509_EXTENSION_free(e);
}

/// A certificate for `key` named `cn`, valid as given; not yet signed.
x509_ptr new_cert(EVP_PKEY* key, const std::string& cn, int from_days, int to_days) {
  static std::atomic<long> serial{1};
  x509_ptr x{X509_new()};
  X509_set_version(x.get(), 2);
  ASN1_INTEGER_set(X509_get_serialNumber(x.get()), serial++ + 1000L * getpid());
  X509_gmtime_adj(X509_getm_notBefore(x.get()), 86400L * from_days);
  X509_gmtime_adj(X509_getm_notAfter(x.get()), 86400L * to_days);
  X509_set_pubkey(x.get(), key);
  X509_NAME* name = X509_get_subject_name(x.get());
  X509_NAME_add_entry_by_txt(name, "O", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>("achan tests"), -1, -1, 0);
  X509_NAME_add_entry_by_txt(name, "CN", MBSTRING_ASC,
                             reinterpret_cast<const unsigned char*>(cn.c_str()), -1, -1, 0);
  return x;
}

}  // namespace

struct cert_authority::impl {
  pkey_ptr key;
  x509_ptr cert;
};

cert_authority::cert_authority(const std::string& cn) : impl_(std::make_unique<impl>()) {
  impl_->key = new_key();
  impl_->cert = new_cert(impl_->key.get(), cn, -1, 3650);
  X509* x = impl_->cert.get();
  X509_set_issuer_name(x, X509_get_subject_name(x));
  add_ext(x, x, NID_basic_constraints, "critical,CA:TRUE");
  add_ext(x, x, NID_key_usage, "critical,keyCertSign,cRLSign");
  add_ext(x, x, NID_subject_key_identifier, "hash");
  check(X509_sign(x, impl_->key.get(), EVP_sha256()) > 0, "X509_sign (CA)");
  pem_ = pem_of(x);
}

cert_authority::~cert_authority() = default;

key_pair cert_authority::issue(const cert_spec& spec) const {
  auto key = new_key();
  auto x = new_cert(key.get(), spec.cn, spec.valid_from_days, spec.valid_to_days);
  X509_set_issuer_name(x.get(), X509_get_subject_name(impl_->cert.get()));
  add_ext(x.get(), impl_->cert.get(), NID_basic_constraints, "critical,CA:FALSE");
  add_ext(x.get(), impl_->cert.get(), NID_key_usage, "critical,digitalSignature");
  add_ext(x.get(), impl_->cert.get(), NID_ext_key_usage, "serverAuth,clientAuth");
  add_ext(x.get(), impl_->cert.get(), NID_authority_key_identifier, "keyid");
  std::string sans;
  for (const auto& d : spec.dns)
    sans += (sans.empty() ? "" : ",") + std::string{"DNS:"} + d;
  for (const auto& ip : spec.ips)
    sans += (sans.empty() ? "" : ",") + std::string{"IP:"} + ip;
  for (const auto& u : spec.uris)
    sans += (sans.empty() ? "" : ",") + std::string{"URI:"} + u;
  if (!sans.empty())
    add_ext(x.get(), impl_->cert.get(), NID_subject_alt_name, sans);
  check(X509_sign(x.get(), impl_->key.get(), EVP_sha256()) > 0, "X509_sign (leaf)");
  return {pem_of(x.get()), pem_of(key.get())};
}

}  // namespace achan::test
