#pragma once
/// One TLS session over memory buffers: ciphertext goes in with feed() and comes out of
/// output(); plaintext comes out of read() and goes in with write(). No I/O, no
/// threads: the owning connection moves the bytes (tls::stream). OpenSSL's SSL object
/// with memory BIOs does the protocol.
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include <achan/status.hpp>
#include <achan/tls.hpp>
#include "transport/tls/context.hpp"

typedef struct ssl_st SSL;
typedef struct bio_st BIO;

namespace achan::transport::tls {

class engine {
 public:
  /// A client (connecting to `host`: SNI unless an IP address; the name checked unless
  /// the context skips verification) or a server session (`host` ignored).
  engine(context_ptr ctx, const std::string& host);
  ~engine();
  engine(const engine&) = delete;
  engine& operator=(const engine&) = delete;

  enum class progress { more, done, failed };

  /// Runs the handshake as far as the fed input allows. `failed`: failure() says why.
  progress handshake();
  /// Ciphertext received from the peer.
  void feed(const std::uint8_t* data, std::size_t n);
  /// Decrypts into `dst`; returns the bytes written, 0 when more input is needed, or -1
  /// when the session failed or the peer closed it (closed() then says which).
  long read(std::uint8_t* dst, std::size_t n);
  /// Encrypts `plain` (all of it) into output().
  void write(const char* plain, std::size_t n);
  /// Appends the ciphertext waiting to be sent to `out`.
  void take_output(std::string& out);
  /// Ciphertext is waiting.
  bool has_output() const;
  /// Input fed but not yet decrypted is waiting.
  bool has_input() const;

  /// The peer ended the session (close_notify) rather than failing it.
  bool closed() const noexcept { return closed_; }
  /// Why the handshake or a read failed, for a status message: "certificate
  /// verification failed (unknown CA): unable to get local issuer certificate", "the
  /// peer does not speak TLS (wrong version number)", "the server did not negotiate
  /// ALPN h2", ...
  const std::string& failure() const noexcept { return failure_; }
  /// The negotiated protocol and cipher, and the peer's certificate identity (server
  /// side: the client's, if it sent one). After the handshake.
  tls_peer peer() const;

 private:
  /// Records why the last SSL call (returning `rv`) failed.
  void record_failure(int rv);

  context_ptr ctx_;
  SSL* ssl_ = nullptr;
  BIO* in_ = nullptr;   // ciphertext from the peer (owned by ssl_)
  BIO* out_ = nullptr;  // ciphertext for the peer (owned by ssl_)
  std::string host_;
  bool closed_ = false;
  std::string failure_;
};

}  // namespace achan::transport::tls
